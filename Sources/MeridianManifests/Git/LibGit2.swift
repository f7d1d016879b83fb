internal import CLibGit2
internal import Foundation

/// libgit2 is initialised once per process, lazily and thread-safely (a global `let`).
let libgit2Initialised: Bool = {
    git_libgit2_init()
    return true
}()

/// Checks a libgit2 return code. libgit2's error message is thread-local, so it is read here,
/// in the same synchronous call that failed, never across an `await`.
func gitCheck(_ rc: Int32, _ what: @autoclosure () -> String) throws(GitError) {
    guard rc < 0 else { return }
    throw GitError(.environment, "\(what()): \(gitLastError(rc))")
}

func gitLastError(_ rc: Int32) -> String {
    if let e = git_error_last(), let m = e.pointee.message {
        let text = String(cString: m).split(separator: "\n").first.map(String.init) ?? ""
        if !text.isEmpty { return text }
    }
    return "libgit2 error \(rc)"
}

/// The 40-hex form of an object id.
func hex(_ oid: UnsafePointer<git_oid>) -> String {
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 41)
    defer { buffer.deallocate() }
    git_oid_tostr(buffer, 41, oid)
    return String(cString: buffer)
}

/// Builds a `git_strarray` of C strings for the duration of `body`.
func withStrArray<T>(_ strings: [String], _ body: (UnsafeMutablePointer<git_strarray>) throws -> T) rethrows -> T {
    let cstrings = strings.map { strdup($0) }
    defer { cstrings.forEach { free($0) } }
    let pointers = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: max(cstrings.count, 1))
    defer { pointers.deallocate() }
    for (i, p) in cstrings.enumerated() { pointers[i] = p }
    let array = UnsafeMutablePointer<git_strarray>.allocate(capacity: 1)
    defer { array.deallocate() }
    array.pointee = git_strarray(strings: pointers, count: cstrings.count)
    return try body(array)
}
