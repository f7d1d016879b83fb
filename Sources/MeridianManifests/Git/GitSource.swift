internal import Foundation
internal import MeridianCore
internal import Synchronization

/// Manifests read from a git repository at a commit, through libgit2: a branch, tag or sha is
/// resolved, the tree at that commit is walked and blobs are read straight from the object
/// database. No working tree, no `git` command. A remote URL is fetched into a bare cache
/// directory first. One `GitSource` keeps its parse cache across reads, so reading a second
/// commit of the same repository (a pull request's base, the controller's next commit) parses
/// only the files that changed.
public final class GitSource: @unchecked Sendable {
    public let repository: String
    public let isRemote: Bool
    /// Where the repository's objects are read from: the repository itself, or its cache.
    public let localPath: String
    public let fetchTimeout: Double
    public let parseCache: ParseCache
    /// A blob larger than this is refused unread.
    public var maxBlobBytes = 64 << 20
    private var fetched = false
    /// What the last load lends the next (a source whose parse cache retains, i.e. one that
    /// reads more than one revision): its result, whose fence analysis a commit that leaves
    /// every jurisdiction, region, artifact, residency fence and model as it was keeps, whose
    /// checks are taken over group by group where their tables did not change, and whose
    /// state's table of a kind no changed file holds is taken over.
    private struct Last {
        let result: LoadResult
        /// Each file of the load, in path order (byte-wise): its path, its blob and the kinds of
        /// objects it declares.
        let paths: [String]
        let blobs: [String]
        let kinds: [KindSet]
    }

    private let last = Mutex<Last?>(nil)

    /// `repository` is a path to a repository (bare or not), or a URL (`file://`, `git://`,
    /// `https://`, `ssh://`, `user@host:path`).
    public init(repository: String, cacheDirectory: String? = nil, fetchTimeout: Double = 60, parseCache: ParseCache = ParseCache()) {
        self.repository = repository
        let remote = repository.contains("://") || repository.range(of: #"^[^/\s]+@[^/\s]+:"#, options: .regularExpression) != nil
        isRemote = remote
        localPath = remote ? (cacheDirectory ?? GitFetch.defaultCacheDirectory) + "/" + GitFetch.cacheName(for: repository) : repository
        self.fetchTimeout = fetchTimeout
        self.parseCache = parseCache
    }

    /// Brings the cache up to date with the remote; nothing for a local repository.
    public func fetch() throws(GitError) {
        guard isRemote else { return }
        try GitFetch.fetch(url: repository, into: localPath, timeout: fetchTimeout)
        fetched = true
    }

    private func open() throws(GitError) -> GitRepository {
        if isRemote && !fetched { try fetch() }
        return try GitRepository(path: localPath)
    }

    /// The commit a branch, tag or sha names.
    public func resolve(_ ref: String) throws(GitError) -> String {
        let repo = try open()
        if isRemote {
            return try repo.resolveCommit(["refs/remotes/origin/\(ref)", "refs/tags/\(ref)", ref], shown: ref)
        }
        return try repo.resolveCommit([ref], shown: ref)
    }

    /// The manifest files below `path` at `commit` (paths relative to the repository root).
    public func files(commit: String, path: String) throws(GitError) -> [ManifestFile] {
        var limits = GitRepository.Limits()
        limits.maxBlobBytes = maxBlobBytes
        return try open().manifestFiles(commit: commit, subdir: path, limits: limits)
    }

    /// Loads the manifests below `path` at `commit`. Diagnostics name files as
    /// `<commit>:<path>`, which `git show` opens as it is.
    ///
    /// A file whose blob the parse cache holds is not read at all: the tree says which blob
    /// it is, and the cache knows its size and its parse (a controller re-reading after a
    /// one-file commit reads one blob). The other blobs are read on the parse workers, each
    /// through its own libgit2 handle, and dropped as soon as they are parsed, so the source's
    /// bytes are never all in memory at once. Sizes are checked against the limits, in path
    /// order, before any blob is read.
    public func load(commit: String, path: String) throws(GitError) -> LoadResult {
        var limits = GitRepository.Limits()
        limits.maxBlobBytes = maxBlobBytes
        let repo = try open()
        let entries = try repo.manifestEntries(commit: commit, subdir: path, limits: limits)
        parseCache.beginLoad()
        let cached = parseCache.lookup(entries.map { ($0.path, $0.blobID) })
        let repositoryPath = localPath
        // `miss` for every entry the cache does not hold, on every core, each chunk through a
        // repository handle of its own (taken from `handles`, opened only if none is free and
        // the chunk has a miss); `hit` for the others. In entry order; the first error in that
        // order is thrown. With a few misses (a small commit), all on this thread, through
        // `repo`: the workers would cost more than they save.
        let handles = HandlePool()
        let misses = cached.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        func each<T: Sendable>(hit: @Sendable ((parsed: ParsedFile, size: Int)) -> T,
                               miss: @Sendable (GitRepository, GitRepository.Entry) throws(GitError) -> T) throws(GitError) -> [T] {
            if misses <= 4 {
                var values: [T] = []
                values.reserveCapacity(entries.count)
                for i in entries.indices {
                    if let c = cached[i] { values.append(hit(c)) } else { values.append(try miss(repo, entries[i])) }
                }
                return values
            }
            let results = ManifestLoader.inParallel(count: entries.count) { range -> [Result<T, GitError>] in
                var worker: GitRepository?
                defer { if let worker { handles.give(worker) } }
                return range.map { i -> Result<T, GitError> in
                    if let c = cached[i] { return .success(hit(c)) }
                    return Result { () throws(GitError) -> T in
                        if worker == nil { worker = handles.take() }
                        if worker == nil { worker = try GitRepository(path: repositoryPath) }
                        return try miss(worker!, entries[i])
                    }
                }
            }
            var values: [T] = []
            values.reserveCapacity(results.count)
            for r in results { values.append(try r.get()) }
            return values
        }
        // Sizes of what must be read, from the blobs' headers (unread), checked before any read.
        let sizes = try each(hit: { $0.size }, miss: { repo, e throws(GitError) in try repo.blobSize(e) })
        try GitRepository.checkSizes(sizes, of: entries, limits: limits)
        // The digest is made beside the parse and the index (the tree says every blob id), and
        // waited for last.
        nonisolated(unsafe) var digest = ""
        let digestDone = DispatchGroup()
        DispatchQueue.global().async(group: digestDone) {
            digest = ManifestLoader.digest(of: entries.map { ManifestFile(path: $0.path, bytes: [], blobID: $0.blobID) })
        }
        defer { digestDone.wait() }  // also when a read below throws
        // Read and parse what the cache does not hold; each blob is dropped once parsed.
        let cache = parseCache
        let labels = LabelInterner()
        let files = try each(hit: { $0.parsed }, miss: { repo, e throws(GitError) in
            let file = ManifestFile(path: e.path, bytes: try repo.blobBytes(e), blobID: e.blobID)
            let result = ManifestLoader.parse(file, labels: labels)
            cache.parsed()
            return result
        })
        guard parseCache.retains else {
            let result = ManifestLoader.assemble(consume files, fileCount: entries.count, pathPrefix: String(commit.prefix(12)) + ":")
            digestDone.wait()
            return result.with(digest: digest)
        }
        // The kinds some file changed for: the kinds whose objects a changed file changed (see
        // below), and those of a file added or removed. Every other kind's objects are the
        // same, in the same order: the same blobs at the same paths, or equal objects. Of the
        // kinds some file changed for, those whose names no file changed (only changed files
        // whose last parse the cache holds, declaring the same names of the kind in the same
        // order as then) have their tables patched.
        let kinds = files.map(\.kinds)
        let earlier = last.withLock { $0 }
        var unchanged: KindSet = [], sameNames: KindSet = []
        var changedFiles: [Int] = []
        if let earlier {
            var changed: KindSet = [], renamed: KindSet = []
            // Both lists in path order, walked side by side: a path only in the last one is a
            // file removed, one only in this one a file added. Paths are compared byte for byte
            // (`==` on strings would take two spellings of "é" for one path).
            var j = 0
            func removed(_ j: Int) {
                changed.formUnion(earlier.kinds[j])
                renamed.formUnion(earlier.kinds[j])
            }
            for (i, e) in entries.enumerated() {
                while j < earlier.paths.count && UTF8Bytes.less(earlier.paths[j], e.path) {
                    removed(j)
                    j += 1
                }
                guard j < earlier.paths.count && UTF8Bytes.equal(earlier.paths[j], e.path) else {
                    changed.formUnion(kinds[i])
                    renamed.formUnion(kinds[i])
                    continue
                }
                let was = (blob: earlier.blobs[j], kinds: earlier.kinds[j])
                j += 1
                guard was.blob != e.blobID else { continue }
                changedFiles.append(i)
                // A changed file changes the kinds whose objects differ from its last parse,
                // when the cache still holds that parse (it keeps the files of the two loads
                // before this one): a jurisdiction appended to a file of artifacts leaves the
                // artifacts' table as it was. Otherwise every kind it declares, now or before.
                if let old = parseCache.peek(blob: was.blob, path: e.path) {
                    let differ = KindSet.changes(old.objects, files[i].objects)
                    changed.formUnion(differ.differing)
                    renamed.formUnion(differ.renamed)
                } else {
                    changed.formUnion(was.kinds.union(kinds[i]))
                    renamed.formUnion(was.kinds.union(kinds[i]))
                }
            }
            while j < earlier.paths.count {
                removed(j)
                j += 1
            }
            unchanged = KindSet.all.subtracting(changed)
            sameNames = changed.subtracting(renamed)
        }
        parseCache.endLoad(entries.indices.map { ParseCache.File(path: entries[$0].path, blob: entries[$0].blobID, parsed: files[$0], size: sizes[$0]) })
        let result = ManifestLoader.assemble(consume files, fileCount: entries.count, pathPrefix: String(commit.prefix(12)) + ":",
                                             earlier: earlier?.result, unchangedKinds: unchanged,
                                             sameNames: sameNames, changedFiles: changedFiles)
        digestDone.wait()
        let finished = result.with(digest: digest)
        let next = Last(result: finished, paths: entries.map(\.path), blobs: entries.map(\.blobID), kinds: kinds)
        last.withLock { $0 = next }
        return finished
    }

    /// The commit's signature and the bytes it signs; nil when unsigned.
    public func signature(of commit: String) throws(GitError) -> (signature: String, signedData: [UInt8])? {
        try open().signature(of: commit)
    }

    /// Refuses a commit that is not signed by one of `trustedKeys` (SPEC §5).
    public func verify(commit: String, trustedKeys: TrustedKeys) throws(GitError) -> SignatureVerifier.Verified {
        guard let (signature, data) = try signature(of: commit) else {
            throw GitError(.untrusted, "commit \(commit.prefix(12)) is not signed; --verify-signatures accepts only signed commits")
        }
        return try SignatureVerifier.verify(signature: signature, data: data, commit: commit, trustedKeys: trustedKeys)
    }
}

/// Repository handles of one load, handed from one parse chunk to the next: chunks are small,
/// and opening a handle (and its object database) for each would cost more than the chunk. A
/// handle is used by one chunk at a time.
private final class HandlePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [GitRepository] = []

    func take() -> GitRepository? { lock.withLock { free.popLast() } }

    func give(_ handle: GitRepository) { lock.withLock { free.append(handle) } }
}
