internal import Foundation

/// Parsed files keyed by git blob id and path: within one process an unchanged file is never
/// parsed twice, however many commits are read (the controller re-reads on every commit; a
/// pull-request plan reads two). Entries not used by the last two loads are evicted, so the
/// cache holds at most two revisions' worth of files.
public final class ParseCache: @unchecked Sendable {
    private struct Key: Hashable {
        let blob: String
        let path: String
    }

    private struct Entry {
        let parsed: ParsedFile
        /// The blob's size in bytes, so that a cached file counts toward the source's limits
        /// without its blob being touched again.
        let size: Int
        var generation: Int
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var generation = 0
    private var _parses = 0

    /// False for a cache that only counts: a one-shot command that reads one revision has no
    /// second read to serve, and holding every parsed file next to the desired state built from
    /// them would cost a copy of the fleet's objects for nothing.
    public let retains: Bool

    public init(retains: Bool) { self.retains = retains }

    public init() { retains = true }

    /// How many files were actually parsed (cache misses) since this cache was made.
    public var parses: Int { lock.withLock { _parses } }

    public var count: Int { lock.withLock { entries.count } }

    /// Starts a revision: entries used by neither this load nor the previous one are dropped.
    func beginLoad() {
        lock.withLock {
            generation += 1
            let keep = generation - 2  // the two loads before this one
            entries = entries.filter { $0.value.generation >= keep }
        }
    }

    /// The cached parse of a blob at a path, and the blob's size, marked as used by this load.
    /// The caller holds the result, so a later eviction cannot take it away mid-load.
    func lookup(blob: String, path: String) -> (parsed: ParsedFile, size: Int)? {
        let key = Key(blob: blob, path: path)
        return lock.withLock {
            guard var entry = entries[key] else { return nil }
            entry.generation = generation
            entries[key] = entry
            return (entry.parsed, entry.size)
        }
    }

    /// The cached parse of a blob at a path, if the cache still holds it, not marked as used
    /// (a load compares a changed file with its last parse: see `GitSource.load`).
    func peek(blob: String, path: String) -> ParsedFile? {
        lock.withLock { entries[Key(blob: blob, path: path)]?.parsed }
    }

    /// Records a parse this load made.
    func store(_ parsed: ParsedFile, blob: String, path: String, size: Int) {
        lock.withLock {
            _parses += 1
            if retains { entries[Key(blob: blob, path: path)] = Entry(parsed: parsed, size: size, generation: generation) }
        }
    }
}
