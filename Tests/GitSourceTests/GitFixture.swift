import Foundation
import MeridianManifests

/// A real git repository in a temporary directory, driven by the git command line (the tests
/// make repositories with git; Meridian itself reads them only through libgit2).
final class GitFixture {
    let root: URL
    let home: URL
    var env: [String: String]

    init() throws {
        // Short paths: gpg-agent's socket path must fit in 108 bytes.
        let base = URL(fileURLWithPath: "/tmp/mg-\(UUID().uuidString.prefix(8))")
        root = base.appendingPathComponent("repo")
        home = base.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: home.appendingPathComponent("gnupg"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        env = ProcessInfo.processInfo.environment.merging([
            "HOME": home.path, "GIT_CONFIG_NOSYSTEM": "1", "GNUPGHOME": home.appendingPathComponent("gnupg").path,
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
        ]) { $1 }
        try git("init", "-q", "-b", "main")
    }

    deinit { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }

    @discardableResult
    func run(_ tool: String, _ args: [String], in dir: URL? = nil, stdin: Data? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        p.currentDirectoryURL = dir ?? root
        p.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "GitFixture", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(args.joined(separator: " ")): \(String(decoding: e, as: UTF8.self))"])
        }
        return String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    func git(_ args: String..., stdin: Data? = nil) throws -> String { try run("git", args, stdin: stdin) }

    func write(_ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Commits everything and returns the new commit's sha.
    @discardableResult
    func commit(_ message: String, sign: [String] = []) throws -> String {
        try git("add", "-A")
        try run("git", sign + ["commit", "-q", "--allow-empty", "-m", message])
        return try git("rev-parse", "HEAD")
    }

    static func jurisdiction(_ name: String) -> String {
        "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: \(name)}\n"
    }

    /// A small valid fleet: `count` jurisdiction files.
    func writeFleet(count: Int) throws {
        for i in 0 ..< count { try write("manifests/j\(i).yaml", Self.jurisdiction("j\(i)")) }
    }
}

/// The GitError a call throws; nil when it succeeds (so every expectation on it then fails).
func gitRefusal(_ body: () throws -> Void) -> GitError? {
    do { try body(); return nil } catch let e as GitError { return e } catch { return GitError(.environment, "\(error)") }
}

extension GitFixture {
    /// A commit whose `manifests` tree holds one blob under a raw entry name that git itself
    /// would never write (`..`, bytes that are not UTF-8).
    func commitWithRawEntry(_ name: [UInt8], blob: String) throws -> String {
        var tree = Data("100644 ".utf8)
        tree.append(contentsOf: name)
        tree.append(0)
        tree.append(contentsOf: stride(from: 0, to: 40, by: 2).map { UInt8(blob.dropFirst($0).prefix(2), radix: 16)! })
        let inner = try run("git", ["hash-object", "-t", "tree", "--literally", "-w", "--stdin"], stdin: tree)
        let top = try run("git", ["mktree"], stdin: Data("040000 tree \(inner)\tmanifests\n".utf8))
        return try run("git", ["commit-tree", top, "-m", "raw entry"])
    }
}

/// A `git daemon` on 127.0.0.1 serving `base`, stopped on deinit.
final class GitDaemon {
    let process = Process()
    let port: Int

    init(base: URL) throws {
        port = Int.random(in: 20_000 ..< 60_000)
        // Run git-daemon itself, not the `git` wrapper, so that terminating it stops the server.
        let which = Process()
        which.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        which.arguments = ["git", "--exec-path"]
        let pipe = Pipe()
        which.standardOutput = pipe
        try which.run()
        let execPath = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        which.waitUntilExit()
        process.executableURL = URL(fileURLWithPath: execPath + "/git-daemon")
        process.arguments = ["--reuseaddr", "--export-all", "--listen=127.0.0.1", "--port=\(port)",
                             "--base-path=\(base.path)", base.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until it accepts connections (bounded).
        for _ in 0 ..< 100 {
            if Self.canConnect(port) { return }
            usleep(50_000)
        }
        process.terminate()
        throw NSError(domain: "GitDaemon", code: 1, userInfo: [NSLocalizedDescriptionKey: "git daemon did not start"])
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// A TCP server on 127.0.0.1 that accepts connections and never answers: a remote that hangs.
final class SilentServer {
    let fd: Int32
    let port: Int

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        listen(s, 8)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}
