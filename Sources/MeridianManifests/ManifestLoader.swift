public import MeridianCore
internal import Foundation
internal import CMalloc

/// One manifest file's bytes, as a source hands them over.
public struct ManifestFile: Sendable {
    /// The path shown in diagnostics: as given for a directory, relative to the repository
    /// root for git (the loader prefixes the commit).
    public let path: String
    public let bytes: [UInt8]
    /// The git blob id, when the file came from git: the parse cache's key.
    public let blobID: String?

    public init(path: String, bytes: [UInt8], blobID: String? = nil) {
        self.path = path
        self.bytes = bytes
        self.blobID = blobID
    }
}

/// What loading a revision produced. The state is usable only when `isValid`: a parse error
/// anywhere invalidates the whole revision, because a missing document reads exactly like
/// "delete this".
public struct LoadResult: Sendable {
    public let state: DesiredState
    /// Effective fences of `state`, computed once and shared by every later step.
    public let fences: FenceAnalysis
    public let diagnostics: [Diagnostic]
    public let fileCount: Int
    /// What a saved plan records of the source's content, `sha256:…`; empty unless the loader
    /// was asked for it (hashing every byte is not work a plain `validate` should pay for).
    public let digest: String
    /// Whether `fences` was taken over from the load before (see `assemble`'s `earlier`).
    public let fencesReused: Bool
    /// The kinds whose table was taken over from the load before (see `assemble`'s
    /// `unchangedKinds`).
    public let tablesReused: KindSet
    /// The kinds whose table was patched from the load before's: its names and their index
    /// taken over, the changed files' objects put in place (see `assemble`'s `sameNames`).
    public let tablesPatched: KindSet
    /// The structural checks by group and the fence checks by part, for the next load to take
    /// over what did not change (see `assemble`'s `earlier`).
    public let structuralChecks: StructuralChecks
    public let fenceChecks: FenceChecks

    /// This result with `digest` (a git source makes its digest beside the load).
    func with(digest: String) -> LoadResult {
        LoadResult(state: state, fences: fences, diagnostics: diagnostics, fileCount: fileCount, digest: digest, fencesReused: fencesReused,
                   tablesReused: tablesReused, tablesPatched: tablesPatched, structuralChecks: structuralChecks, fenceChecks: fenceChecks)
    }

    public var isValid: Bool { !diagnostics.hasErrors }
    /// The desired state, or nil when anything in the revision is invalid.
    public var validState: DesiredState? { isValid ? state : nil }
}

public enum ManifestLoader {
    /// Whether a path is a manifest file by its name (SPEC §1: `*.yaml` and `*.yml`).
    public static func isManifestPath(_ path: String) -> Bool {
        path.hasSuffix(".yaml") || path.hasSuffix(".yml")
    }

    /// Composes and decodes one file. Pure: the unit a parse cache keys by blob id and the
    /// unit a parallel loader spreads over cores.
    /// `labels`, shared by the files of one load, lets identical label maps share storage.
    public static func parse(_ file: ManifestFile, limits: YAMLLimits = YAMLLimits(), labels: LabelInterner? = nil) -> ParsedFile {
        // Most files are read straight from libyaml's events; any file that path does not take
        // as it is (an error, an alias, a rare field) is composed and decoded in full below,
        // which is what says what is wrong.
        if let objects = StreamDecoder.decode(file.bytes, file: file.path, limits: limits, labels: labels) {
            return ParsedFile(objects: objects, diagnostics: [])
        }
        return parseInFull(file, limits: limits, labels: labels)
    }

    /// `parse` without the fast path: every file composed and decoded in full.
    static func parseInFull(_ file: ManifestFile, limits: YAMLLimits = YAMLLimits(), labels: LabelInterner? = nil) -> ParsedFile {
        let (stream, yamlDiagnostics) = YAMLComposer.compose(file.bytes, file: file.path, limits: limits)
        // A fatal YAML problem leaves a partial stream; decoding it would only add noise.
        if yamlDiagnostics.contains(where: { $0.rule == .yamlSyntax || $0.rule == .yamlEncoding || $0.rule == .yamlDepth
            || $0.rule == .yamlAliasLimit || $0.rule == .yamlAlias || $0.rule == .yamlSize }) {
            return ParsedFile(objects: [], diagnostics: yamlDiagnostics)
        }
        var decoder = ManifestDecoder(stream: stream, file: file.path, labels: labels)
        let objects = decoder.decodeAll()
        return ParsedFile(objects: objects, diagnostics: yamlDiagnostics + decoder.diagnostics)
    }

    /// Loads a revision from its files (already in path order) and runs every check.
    /// `pathPrefix` is put before every file name in diagnostics. (A git source reads and
    /// parses through its parse cache instead: `GitSource.load`.)
    public static func load(_ files: [ManifestFile], sourceDiagnostics: [Diagnostic] = [],
                            pathPrefix: String = "", digest: Bool = false) -> LoadResult {
        let parsed = parseAll(files)
        return assemble(consume parsed, fileCount: files.count, sourceDiagnostics: sourceDiagnostics, pathPrefix: pathPrefix,
                        digest: digest ? Self.digest(of: files) : "")
    }

    /// Parses files on every core. Each file is independent (its own libyaml parser), results
    /// land at their file's index, so the outcome is the same as parsing in order.
    static func parseAll(_ files: [ManifestFile]) -> [ParsedFile] {
        let labels = LabelInterner()
        return inParallel(count: files.count) { range in range.map { parse(files[$0], labels: labels) } }
    }

    /// `body` over `0 ..< count` on every core, in chunks (so that small files do not pay for
    /// scheduling one by one); each chunk's results land at their indices, so the outcome is
    /// the same as one pass in order. `body` gets a whole chunk, so it can hold per-thread
    /// state across the chunk.
    ///
    /// Chunks are small (64 per core): the last chunk runs alone while the other cores have
    /// nothing left, and with 8 per core that tail was a twentieth of a large fleet's parse.
    static func inParallel<T>(count: Int, _ body: @Sendable (Range<Int>) -> [T]) -> [T] {
        guard count > 1 else { return body(0 ..< count) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        nonisolated(unsafe) let slots = results
        let chunk = max(1, count / (ProcessInfo.processInfo.activeProcessorCount * 64))
        let chunks = (count + chunk - 1) / chunk
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let range = c * chunk ..< min(count, (c + 1) * chunk)
            for (i, r) in zip(range, body(range)) { slots[i] = r }
        }
        // Moved out, not copied: the buffer is freed without a reference left behind in it.
        return (0 ..< count).map { (results.baseAddress! + $0).move()! }
    }

    /// Hands memory the parse freed back to the system. Files are parsed on worker threads,
    /// whose malloc arenas later single-threaded work (indexing is done, planning) never
    /// allocates from: without this, what the parse freed stays resident under everything
    /// allocated next, about 40 MB of a 100,000-object plan's peak. Costs a few milliseconds.
    public static func returnFreedMemory() {
        _ = malloc_trim(0)
    }

    /// Large blocks (128 KiB and up: the tables and lists of a big load or plan) come from
    /// their own mappings and go back to the system when freed. glibc otherwise raises that
    /// threshold after the first such block is freed, after which big tables are carved from
    /// the heap and their pages stay resident once freed: 14 MB of a 100,000-object plan's
    /// peak, at no measurable cost in time. Call once, at process start.
    public static func keepLargeBlocksMapped() {
        _ = mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    }

    /// `sha256:` over every file's path and content, in order. A file read from git is
    /// represented by its blob id (itself a hash of its content), so a commit's digest costs
    /// nothing; a directory's files are hashed byte for byte.
    public static func digest(of files: [ManifestFile]) -> String {
        var h = SHA256()
        // A file read from git adds a few dozen bytes: gathered in one buffer, hashed once it
        // holds a few blocks (an update for each piece, and an array for each separator, were
        // as much as the hashing).
        var pending: [UInt8] = []
        pending.reserveCapacity(8192)
        for f in files {
            pending.append(contentsOf: f.path.utf8)
            pending.append(0)
            if let blob = f.blobID {
                pending.append(contentsOf: "blob ".utf8)
                pending.append(contentsOf: blob.utf8)
            } else {
                let n = f.bytes.count
                pending.append(contentsOf: [UInt8(truncatingIfNeeded: n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)])
                h.update(bytes: pending)
                pending.removeAll(keepingCapacity: true)
                h.update(bytes: f.bytes)
            }
            pending.append(0)
            if pending.count >= 4096 {
                h.update(bytes: pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        h.update(bytes: pending)
        return "sha256:" + h.finalize()
    }

    /// Indexes the parsed files and runs every check, taking over from `earlier`, the load
    /// before, what did not change:
    /// - its fence analysis, when this state holds exactly the objects it read (see
    ///   `FenceAnalysis.reused(for:)`);
    /// - each group of structural checks and part of the fence checks whose tables all hold
    ///   the same objects (`StructuralChecks`, `FenceChecks`); the rest run again;
    /// - the tables of `unchangedKinds`, kinds the caller vouches no file changed for since that
    ///   load (see `DesiredState.index`), instead of building them again;
    /// - the names of `sameNames` kinds, whose tables are patched: the caller vouches that only
    ///   the files at `changedFiles` (positions in `parsed`) changed for such a kind since that
    ///   load, and that each declares the kind's same names in the same order as it did then.
    public static func assemble(_ parsed: consuming [ParsedFile], fileCount: Int, sourceDiagnostics: [Diagnostic] = [],
                                pathPrefix: String = "", digest: String = "", earlier: LoadResult? = nil,
                                unchangedKinds: KindSet = [], sameNames: KindSet = [], changedFiles: [Int] = []) -> LoadResult {
        var diagnostics = sourceDiagnostics
        var files: [[ManifestObject]] = []
        files.reserveCapacity(parsed.count)
        var kinds: [KindSet] = []
        kinds.reserveCapacity(parsed.count)
        for file in parsed {
            diagnostics += file.diagnostics
            files.append(file.objects)
            kinds.append(file.kinds)
        }
        // The parsed files are let go, so each file's objects are released as the index takes
        // them (unless the parse cache keeps them).
        parsed = []
        let (state, duplicates) = DesiredState.index(files: consume files, both: { first, second in
            DispatchQueue.concurrentPerform(iterations: 2) { $0 == 0 ? first() : second() }
        }, earlier: earlier?.state, unchanged: unchangedKinds, sameNames: sameNames, changedFiles: changedFiles, kinds: kinds)
        diagnostics += duplicates
        // The structural checks (in two halves) and the fence analysis with its checks only read
        // the state: three pieces of work, the longest first, each core taking the next as it is
        // free. On two cores the fences run beside the first half, and the second half goes to
        // whichever finishes first (the fences, when they were taken over from the last load).
        // The fence checks' parts that must run are then shared out (`FencePartBoard`): a core
        // done with its structural work takes parts too, instead of leaving the fences' core
        // to run all three. Fence checks run even when other rules failed, so one run shows
        // every problem. Each takes over from `earlier` the groups and parts whose tables did
        // not change.
        nonisolated(unsafe) var kindsAndLineage: StructuralChecks.Half?
        nonisolated(unsafe) var references: StructuralChecks.Half?
        nonisolated(unsafe) var analysis: FenceAnalysis?
        nonisolated(unsafe) var fenceChecks: FenceChecks?
        nonisolated(unsafe) var reused = false
        let board = FencePartBoard()
        DispatchQueue.concurrentPerform(iterations: 3) { part in
            switch part {
            case 0:
                let taken = earlier?.fences.reused(for: state)
                let f = taken ?? FenceAnalysis(state, earlier: earlier?.fences)
                fenceChecks = FenceChecks(f, earlier: earlier?.fenceChecks, run: board.run)
                analysis = f
                reused = taken != nil
            case 1:
                kindsAndLineage = StructuralChecks.half(.kindsAndLineage, of: state, earlier: earlier?.structuralChecks)
                board.help(waiting: false)
            default:
                references = StructuralChecks.half(.references, of: state, earlier: earlier?.structuralChecks)
                board.help(waiting: true)
            }
        }
        let fences = analysis!
        let checks = StructuralChecks(state, kindsAndLineage!, references!)
        diagnostics += checks.diagnostics + fenceChecks!.diagnostics
        if !pathPrefix.isEmpty { diagnostics = diagnostics.map { $0.relocated { pathPrefix + $0 } } }
        return LoadResult(state: state, fences: fences, diagnostics: Array(Set(diagnostics)).sorted(), fileCount: fileCount,
                          digest: digest, fencesReused: reused,
                          tablesReused: earlier.map { state.sharedTables(with: $0.state) } ?? [],
                          tablesPatched: earlier.map { state.sharedNames(with: $0.state).subtracting(state.sharedTables(with: $0.state)) } ?? [],
                          structuralChecks: checks, fenceChecks: fenceChecks!)
    }
}

/// The fence checks' parts that must run in one `assemble`, shared between its workers. The
/// fences' worker (iteration 0 of the `concurrentPerform`) publishes them once its analysis
/// is made (`run`), then takes parts itself until none is left and waits for any still running
/// elsewhere. The others `help`: each takes parts until none is left. The first structural
/// worker does not wait for the parts to be published (the second half may still be waiting
/// for a core); the last does, since it has nothing else to do.
///
/// Waiting cannot deadlock: `concurrentPerform` hands out iterations in increasing order, so
/// iteration 0 has begun on some thread before any other iteration, and it never waits for
/// anything but parts that threads are already running. On one thread the iterations run one
/// after another: 0 publishes and runs every part, and the others find none left.
final class FencePartBoard: @unchecked Sendable {
    private let condition = NSCondition()
    private var parts: [FenceCheck.Part]?
    private var check: (@Sendable (FenceCheck.Part) -> ObjectDiagnostics)?
    private var next = 0
    private var finished = 0
    private var results: [ObjectDiagnostics?] = []

    /// For `FenceChecks.init`: publishes `parts`, runs them with the other workers, and gives
    /// each one's diagnostics in order.
    func run(_ parts: [FenceCheck.Part], _ check: @escaping @Sendable (FenceCheck.Part) -> ObjectDiagnostics) -> [ObjectDiagnostics] {
        condition.withLock {
            self.parts = parts
            self.check = check
            results = Array(repeating: nil, count: parts.count)
            condition.broadcast()
        }
        while takeOne() {}
        return condition.withLock {
            while finished < parts.count { condition.wait() }
            return results.map { $0! }
        }
    }

    /// Runs parts until none is left; with `waiting`, first waits for them to be published
    /// (else returns at once if they are not yet).
    func help(waiting: Bool) {
        let published = condition.withLock {
            while waiting && parts == nil { condition.wait() }
            return parts != nil
        }
        guard published else { return }
        while takeOne() {}
    }

    /// Takes the next part and runs it; false when none is left.
    private func takeOne() -> Bool {
        let taken: (Int, FenceCheck.Part, @Sendable (FenceCheck.Part) -> ObjectDiagnostics)? = condition.withLock {
            guard let parts, let check, next < parts.count else { return nil }
            defer { next += 1 }
            return (next, parts[next], check)
        }
        guard let (k, part, check) = taken else { return false }
        let diagnostics = check(part)
        condition.withLock {
            results[k] = diagnostics
            finished += 1
            condition.broadcast()
        }
        return true
    }
}

public struct ParsedFile: Sendable {
    public let objects: [ManifestObject]
    public let diagnostics: [Diagnostic]
    /// The kinds of `objects`, found once at the parse (a load reads them for every file).
    public let kinds: KindSet

    init(objects: [ManifestObject], diagnostics: [Diagnostic]) {
        self.objects = objects
        self.diagnostics = diagnostics
        kinds = KindSet(of: objects)
    }
}
