internal import CLibGit2
internal import Foundation
internal import MeridianCore

/// One libgit2 repository handle, owned here and freed in `deinit`. Not shared between tasks:
/// each reader opens its own. No libgit2 pointer leaves this file; bytes are copied out.
final class GitRepository {
    private let repo: OpaquePointer
    /// The object database, opened on first use and kept for the handle's life.
    private var odb: OpaquePointer?
    let path: String

    init(path: String) throws(GitError) {
        _ = libgit2Initialised
        var handle: OpaquePointer?
        let rc = git_repository_open_ext(&handle, path, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil)
        guard rc >= 0, let handle else {
            throw GitError(.environment, "\(path): not a git repository: \(gitLastError(rc))")
        }
        repo = handle
        self.path = path
    }

    deinit {
        if let odb { git_odb_free(odb) }
        git_repository_free(repo)
    }

    /// Resolves a branch, tag or sha (trying each spec in order) to a commit id.
    func resolveCommit(_ specs: [String], shown ref: String) throws(GitError) -> String {
        for spec in specs {
            var object: OpaquePointer?
            guard git_revparse_single(&object, repo, spec) >= 0, let object else { continue }
            defer { git_object_free(object) }
            var commit: OpaquePointer?
            let rc = git_object_peel(&commit, object, GIT_OBJECT_COMMIT)
            guard rc >= 0, let commit else {
                throw GitError(.environment, "ref '\(ref)' does not name a commit: \(gitLastError(rc))")
            }
            defer { git_object_free(commit) }
            return hex(git_object_id(commit))
        }
        throw GitError(.environment, "ref '\(ref)' not found in \(path)")
    }

    private func lookupCommit(_ sha: String) throws(GitError) -> OpaquePointer {
        var oid = git_oid()
        try gitCheck(git_oid_fromstr(&oid, sha), "bad commit id \(sha)")
        var commit: OpaquePointer?
        try gitCheck(git_commit_lookup(&commit, repo, &oid), "commit \(sha) cannot be read")
        return commit!
    }

    struct Limits {
        var maxBlobBytes = 64 << 20
        var maxTotalBytes = 1 << 30
        var maxFiles = 200_000
    }

    /// A manifest blob in a tree: where it is and which blob it is, not yet read.
    struct Entry: Sendable {
        let path: String
        let oid: git_oid
        /// 40 hex digits.
        let blobID: String
    }

    /// Every `*.yaml`/`*.yml` blob below `subdir` at `commit`, in byte-wise path order, read
    /// straight from the object database: no checkout, no temporary files. Paths are relative
    /// to the repository root. Anything a manifest tree must not hold is refused by name.
    func manifestFiles(commit sha: String, subdir: String, limits: Limits = Limits()) throws(GitError) -> [ManifestFile] {
        let entries = try manifestEntries(commit: sha, subdir: subdir, limits: limits)
        var sizes: [Int] = []
        for e in entries { sizes.append(try blobSize(e)) }
        try Self.checkSizes(sizes, of: entries, limits: limits)
        var files: [ManifestFile] = []
        files.reserveCapacity(entries.count)
        for e in entries { files.append(ManifestFile(path: e.path, bytes: try blobBytes(e), blobID: e.blobID)) }
        return files
    }

    /// The manifest blobs below `subdir` at `commit`, in byte-wise path order, none of them read.
    func manifestEntries(commit sha: String, subdir: String, limits: Limits = Limits()) throws(GitError) -> [Entry] {
        let commit = try lookupCommit(sha)
        defer { git_commit_free(commit) }
        var root: OpaquePointer?
        try gitCheck(git_commit_tree(&root, commit), "tree of commit \(sha) cannot be read")
        defer { git_tree_free(root) }

        var start = root!
        var owned: OpaquePointer?
        let prefix = subdir.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
        if !prefix.isEmpty {
            if prefix.split(separator: "/").contains("..") {
                throw GitError(.invalidTree, "\(prefix): a manifest path may not contain '..'")
            }
            var entry: OpaquePointer?
            guard git_tree_entry_bypath(&entry, root, prefix) >= 0, let entry else {
                throw GitError(.environment, "path '\(prefix)' does not exist at commit \(sha.prefix(12))")
            }
            defer { git_tree_entry_free(entry) }
            guard git_tree_entry_type(entry) == GIT_OBJECT_TREE else {
                throw GitError(.environment, "path '\(prefix)' at commit \(sha.prefix(12)) is not a directory")
            }
            try gitCheck(git_tree_lookup(&owned, repo, git_tree_entry_id(entry)), "tree '\(prefix)' cannot be read")
            start = owned!
        }
        defer { if let owned { git_tree_free(owned) } }

        // An explicit stack of (tree, path); every tree looked up here is freed on the way out,
        // whether the walk finishes or throws.
        var found: [(path: String, oid: git_oid)] = []
        var stack: [(tree: OpaquePointer, path: String)] = [(start, prefix)]
        var lookedUp: [OpaquePointer] = []
        defer { for t in lookedUp { git_tree_free(t) } }
        while let (tree, dir) = stack.popLast() {
            for i in 0 ..< git_tree_entrycount(tree) {
                let entry = git_tree_entry_byindex(tree, i)!
                let rawName = git_tree_entry_name(entry)!
                let nameBytes = UnsafeBufferPointer(start: UnsafeRawPointer(rawName).assumingMemoryBound(to: UInt8.self), count: strlen(rawName))
                guard let name = UTF8Bytes.string(validating: nameBytes) else {
                    throw GitError(.invalidTree, "\(dir.isEmpty ? "" : dir + "/")\(String(decoding: nameBytes, as: UTF8.self)): path is not valid UTF-8")
                }
                let path = dir.isEmpty ? name : dir + "/" + name
                // Byte-wise: Foundation's `contains` on a string was most of the walk.
                if name == "." || name == ".." || name.utf8.contains(UInt8(ascii: "/")) || name.isEmpty {
                    throw GitError(.invalidTree, "\(path): a tree entry named '\(name)' is refused")
                }
                let mode = git_tree_entry_filemode(entry)
                switch mode {
                case GIT_FILEMODE_TREE:
                    var sub: OpaquePointer?
                    try gitCheck(git_tree_lookup(&sub, repo, git_tree_entry_id(entry)), "tree '\(path)' cannot be read")
                    lookedUp.append(sub!)
                    stack.append((sub!, path))
                case GIT_FILEMODE_LINK:
                    throw GitError(.invalidTree, "\(path): symbolic links are refused in a manifest tree (never followed)")
                case GIT_FILEMODE_COMMIT:
                    throw GitError(.invalidTree, "\(path): submodules (gitlinks) are refused in a manifest tree")
                case GIT_FILEMODE_BLOB, GIT_FILEMODE_BLOB_EXECUTABLE:
                    if ManifestLoader.isManifestPath(name) {
                        found.append((path, git_tree_entry_id(entry)!.pointee))
                        if found.count > limits.maxFiles {
                            throw GitError(.invalidTree, "\(prefix.isEmpty ? "." : prefix): more than \(limits.maxFiles) manifest files")
                        }
                    }
                default:
                    throw GitError(.invalidTree, "\(path): unexpected tree entry mode \(String(mode.rawValue, radix: 8))")
                }
            }
        }
        found.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }

        return found.map { item in
            var oid = item.oid
            return Entry(path: item.path, oid: oid, blobID: withUnsafePointer(to: &oid) { hex($0) })
        }
    }

    /// Refuses, in path order, the first blob over the size limit or the blob that takes the
    /// total over its limit: the same refusal whichever order the sizes were read in.
    static func checkSizes(_ sizes: [Int], of entries: [Entry], limits: Limits) throws(GitError) {
        var total = 0
        for (size, e) in zip(sizes, entries) {
            if size > limits.maxBlobBytes {
                throw GitError(.invalidTree, "\(e.path): blob is \(size) bytes; a manifest may be at most \(limits.maxBlobBytes) bytes")
            }
            total += size
            if total > limits.maxTotalBytes {
                throw GitError(.invalidTree, "manifests exceed \(limits.maxTotalBytes) bytes in total")
            }
        }
    }

    /// A blob's size from its header, without inflating the blob: a huge one is refused unread.
    func blobSize(_ entry: Entry) throws(GitError) -> Int {
        if odb == nil { try gitCheck(git_repository_odb(&odb, repo), "object database cannot be opened") }
        var size = 0
        var type = GIT_OBJECT_INVALID
        var oid = entry.oid
        try gitCheck(git_odb_read_header(&size, &type, odb, &oid), "\(entry.path): blob cannot be read")
        return size
    }

    /// A blob's bytes, copied out of libgit2.
    func blobBytes(_ entry: Entry) throws(GitError) -> [UInt8] {
        var blob: OpaquePointer?
        var oid = entry.oid
        try gitCheck(git_blob_lookup(&blob, repo, &oid), "\(entry.path): blob cannot be read")
        defer { git_blob_free(blob) }
        let count = Int(git_blob_rawsize(blob))
        return count == 0 ? [] : Array(UnsafeRawBufferPointer(start: git_blob_rawcontent(blob), count: count))
    }

    /// The signature of a commit and the bytes it signs; nil for an unsigned commit.
    func signature(of sha: String) throws(GitError) -> (signature: String, signedData: [UInt8])? {
        var oid = git_oid()
        try gitCheck(git_oid_fromstr(&oid, sha), "bad commit id \(sha)")
        var sig = git_buf()
        var data = git_buf()
        defer {
            git_buf_dispose(&sig)
            git_buf_dispose(&data)
        }
        let rc = git_commit_extract_signature(&sig, &data, repo, &oid, nil)
        if rc == GIT_ENOTFOUND.rawValue { return nil }
        try gitCheck(rc, "signature of commit \(sha.prefix(12)) cannot be read")
        let signature = String(decoding: UnsafeRawBufferPointer(start: sig.ptr, count: sig.size), as: UTF8.self)
        let signed = Array(UnsafeRawBufferPointer(start: data.ptr, count: data.size))
        return (signature, signed)
    }
}
