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
        var generation: Int
    }

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var generation = 0
    private var _parses = 0

    public init() {}

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

    func parsed(_ file: ManifestFile, parse: (ManifestFile) -> ParsedFile) -> ParsedFile {
        guard let blob = file.blobID else { return parse(file) }
        let key = Key(blob: blob, path: file.path)
        if let hit = lock.withLock({ () -> ParsedFile? in
            guard var entry = entries[key] else { return nil }
            entry.generation = generation
            entries[key] = entry
            return entry.parsed
        }) {
            return hit
        }
        let result = parse(file)
        lock.withLock {
            _parses += 1
            entries[key] = Entry(parsed: result, generation: generation)
        }
        return result
    }
}
