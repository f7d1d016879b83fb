internal import Foundation
internal import MeridianCore

/// Parsed files keyed by git blob id and path: within one process an unchanged file is never
/// parsed twice, however many commits are read (the controller re-reads on every commit; a
/// pull-request plan reads two). The cache keeps the files of the last loads, each load's in
/// path order: a load starts by letting go of all but the two loads before it, and adds its own
/// files when it ends. So the cache holds at most three revisions' worth of files, and a file
/// none of the last three loads used is gone.
///
/// Paths and blob ids are compared byte for byte: two spellings of "é" in a path are two files
/// to git, and would be one to a `String`'s `==`.
public final class ParseCache: @unchecked Sendable {
    /// One file of a load, as kept.
    struct File: Sendable {
        let path: String
        /// 40 hex digits.
        let blob: String
        let parsed: ParsedFile
        /// The blob's size in bytes, so that a cached file counts toward the source's limits
        /// without its blob being touched again.
        let size: Int
    }

    private let lock = NSLock()
    /// The files of the loads kept, oldest first, each load's in byte-wise path order.
    private var loads: [[File]] = []
    private var _parses = 0

    /// False for a cache that only counts: a one-shot command that reads one revision has no
    /// second read to serve, and holding every parsed file next to the desired state built from
    /// them would cost a copy of the fleet's objects for nothing.
    public let retains: Bool

    public init(retains: Bool) { self.retains = retains }

    public init() { retains = true }

    /// How many files were actually parsed (cache misses) since this cache was made.
    public var parses: Int { lock.withLock { _parses } }

    /// How many different files (a blob at a path) the cache holds.
    public var count: Int {
        lock.withLock {
            var seen = Set<[UInt8]>()
            for load in loads {
                for f in load { seen.insert(Array(f.path.utf8) + [0xFF] + Array(f.blob.utf8)) }
            }
            return seen.count
        }
    }

    /// Starts a load: of the loads before it, the last two are kept.
    func beginLoad() {
        lock.withLock {
            if loads.count > 2 { loads.removeFirst(loads.count - 2) }
        }
    }

    /// The cached parse and size of each wanted file, which come in byte-wise path order. They
    /// are walked side by side with the last load's files, so a file that load had (the same
    /// blob at the same path: most of them, after a small commit) is found without a search or
    /// a hash; any other is searched for by path in each load kept, the latest first. The caller
    /// holds the results, so a later eviction cannot take them away mid-load.
    func lookup(_ wanted: [(path: String, blob: String)]) -> [(parsed: ParsedFile, size: Int)?] {
        lock.withLock {
            var found = [(parsed: ParsedFile, size: Int)?](repeating: nil, count: wanted.count)
            guard let last = loads.last else { return found }
            var j = 0
            for (i, w) in wanted.enumerated() {
                while j < last.count && UTF8Bytes.less(last[j].path, w.path) { j += 1 }
                if j < last.count && UTF8Bytes.equal(last[j].path, w.path) && UTF8Bytes.equal(last[j].blob, w.blob) {
                    found[i] = (last[j].parsed, last[j].size)
                } else if let f = search(blob: w.blob, path: w.path) {
                    found[i] = (f.parsed, f.size)
                }
            }
            return found
        }
    }

    /// The cached parse of a blob at a path, if a load kept holds it (a load compares a changed
    /// file with its last parse: see `GitSource.load`).
    func peek(blob: String, path: String) -> ParsedFile? {
        lock.withLock { search(blob: blob, path: path)?.parsed }
    }

    /// Counts a parse this load made.
    func parsed() {
        lock.withLock { _parses += 1 }
    }

    /// Ends a load: its files, in byte-wise path order, are kept (by a cache that retains).
    func endLoad(_ files: [File]) {
        guard retains else { return }
        lock.withLock { loads.append(files) }
    }

    /// The file with this blob at this path in the loads kept, the latest first; by binary
    /// search on the path (a tree may, broken, name a path twice: each is tried).
    private func search(blob: String, path: String) -> File? {
        for load in loads.reversed() {
            var low = 0, high = load.count
            while low < high {
                let mid = (low + high) / 2
                if UTF8Bytes.less(load[mid].path, path) { low = mid + 1 } else { high = mid }
            }
            var k = low
            while k < load.count && UTF8Bytes.equal(load[k].path, path) {
                if UTF8Bytes.equal(load[k].blob, blob) { return load[k] }
                k += 1
            }
        }
        return nil
    }
}
