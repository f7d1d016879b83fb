public import MeridianCore
internal import Foundation

/// A directory of manifests on disk: every `*.yaml`/`*.yml` below the root, recursively, in
/// byte-wise path order. Reads are bounded per file and in total.
public struct DirectorySource: Sendable {
    public let root: String
    public var maxFileBytes = 64 << 20
    public var maxTotalBytes = 1 << 30
    public var maxFiles = 200_000

    public init(root: String) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case notFound(String)
        case notADirectory(String)
        case unreadable(String, String)

        public var description: String {
            switch self {
            case .notFound(let p): "\(p): no such directory"
            case .notADirectory(let p): "\(p): not a directory"
            case .unreadable(let p, let why): "\(p): cannot be read: \(why)"
            }
        }
    }

    /// Reads the files. Problems with single files (too large, a symlinked directory) come back
    /// as diagnostics; a root that cannot be read at all is an environment error.
    public func read() throws(Error) -> ([ManifestFile], [Diagnostic]) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else { throw .notFound(root) }
        guard isDir.boolValue else { throw .notADirectory(root) }

        var diagnostics: [Diagnostic] = []
        var paths: [String] = []
        let rootRealPath = Self.realPath(root) ?? root
        // Explicit stack, no recursion; symlinked directories are not followed (no loops).
        var pending: [String] = [""]
        while let rel = pending.popLast() {
            let dir = rel.isEmpty ? root : root + "/" + rel
            let entries: [String]
            do { entries = try fm.contentsOfDirectory(atPath: dir) } catch {
                if rel.isEmpty { throw .unreadable(root, "\(error)") }
                diagnostics.append(Diagnostic(.sourceRead, "directory cannot be read", path: dir))
                continue
            }
            for name in entries {
                let childRel = rel.isEmpty ? name : rel + "/" + name
                let full = root + "/" + childRel
                guard let attrs = try? fm.attributesOfItem(atPath: full), let type = attrs[.type] as? FileAttributeType else { continue }
                switch type {
                case .typeDirectory:
                    pending.append(childRel)
                case .typeRegular:
                    if ManifestLoader.isManifestPath(name) { paths.append(childRel) }
                case .typeSymbolicLink:
                    var targetIsDir: ObjCBool = false
                    if fm.fileExists(atPath: full, isDirectory: &targetIsDir), targetIsDir.boolValue {
                        diagnostics.append(Diagnostic(.sourcePath, "symbolic link to a directory is not followed", path: full))
                    } else if ManifestLoader.isManifestPath(name) {
                        if let refused = refusal(ofLink: full, rootRealPath: rootRealPath) {
                            diagnostics.append(Diagnostic(.sourcePath, refused, path: full))
                        } else {
                            paths.append(childRel)
                        }
                    }
                default:
                    // A FIFO, socket or device named like a manifest: reading it could block or never end.
                    if ManifestLoader.isManifestPath(name) {
                        diagnostics.append(Diagnostic(.sourcePath, "not a regular file (\(Self.describe(type))); not read", path: full))
                    }
                }
            }
            if paths.count > maxFiles {
                diagnostics.append(Diagnostic(.sourceSize, "more than \(maxFiles) manifest files", path: root))
                return ([], diagnostics)
            }
        }
        paths.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var files: [ManifestFile] = []
        files.reserveCapacity(paths.count)
        var total = 0
        for rel in paths {
            let full = root + "/" + rel
            let size = (try? fm.attributesOfItem(atPath: full)[.size] as? NSNumber)?.intValue ?? 0
            if size > maxFileBytes {
                diagnostics.append(Diagnostic(.yamlSize, "file is \(size) bytes; a manifest document may be at most \(maxFileBytes) bytes",
                                              at: SourceLocation(file: full, line: 1, column: 1)))
                continue
            }
            total += size
            if total > maxTotalBytes {
                diagnostics.append(Diagnostic(.sourceSize, "manifests exceed \(maxTotalBytes) bytes in total", path: root))
                return ([], diagnostics)
            }
            guard let handle = FileHandle(forReadingAtPath: full) else {
                diagnostics.append(Diagnostic(.sourceRead, "file cannot be read", path: full))
                continue
            }
            defer { try? handle.close() }
            // Read at most one byte past the bound: a file that grew after stat is still bounded.
            let data = (try? handle.read(upToCount: maxFileBytes + 1)) ?? Data()
            if data.count > maxFileBytes {
                diagnostics.append(Diagnostic(.yamlSize, "file is larger than \(maxFileBytes) bytes",
                                              at: SourceLocation(file: full, line: 1, column: 1)))
                continue
            }
            files.append(ManifestFile(path: full, bytes: [UInt8](data)))
        }
        return (files, diagnostics)
    }

    /// Why a symbolic link named like a manifest is not read, or nil when it may be: it must lead
    /// to a regular file inside the root. One that leads out of it is refused (a checkout's link
    /// to `~/.ssh/id_rsa` or `/etc/passwd` must not be read, and its first bytes quoted in a
    /// diagnostic), as is one that leads to a FIFO or a device (reading it could block or never
    /// end) or to nothing. A git source refuses every link (see `GitRepository`).
    private func refusal(ofLink path: String, rootRealPath: String) -> String? {
        guard let target = Self.realPath(path) else { return "symbolic link leads to nothing; not read" }
        guard target.hasPrefix(rootRealPath.hasSuffix("/") ? rootRealPath : rootRealPath + "/") else {
            return "symbolic link leads outside the manifest root (to \(target)); not followed"
        }
        guard let type = (try? FileManager.default.attributesOfItem(atPath: target))?[.type] as? FileAttributeType else {
            return "symbolic link leads to nothing; not read"
        }
        return type == .typeRegular ? nil : "symbolic link leads to something that is not a regular file (\(Self.describe(type))); not read"
    }

    /// The path with every symbolic link resolved (realpath(3)); nil when it leads to nothing.
    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func describe(_ type: FileAttributeType) -> String {
        switch type {
        case .typeCharacterSpecial: "a character device"
        case .typeBlockSpecial: "a block device"
        case .typeSocket: "a socket"
        case .typeSymbolicLink: "a symbolic link"
        case .typeDirectory: "a directory"
        default: "a FIFO or other special file"
        }
    }

    /// Reads and loads the directory; with `digest`, also hashes its content for a plan.
    public func load(digest: Bool = false) throws(Error) -> LoadResult {
        let (files, diagnostics) = try read()
        return ManifestLoader.load(files, sourceDiagnostics: diagnostics, digest: digest)
    }
}
