internal import Foundation
internal import MeridianCore

/// Identical label maps decoded in one load share one copy. Fleets repeat a few label sets
/// (team, environment, tier) across thousands of objects; a dictionary per object was 14 MB of
/// the benchmark fleet's 71,000 artifacts. Maps are the same only if they are byte for byte
/// the same (never merely Unicode-equivalent), so an object's labels are exactly as written.
/// Shared by the parse workers of one load, behind a lock.
public final class LabelInterner: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = Set<Labels>()

    public init() {}

    func intern(_ labels: [String: String]) -> [String: String] {
        guard !labels.isEmpty else { return labels }
        lock.lock()
        defer { lock.unlock() }
        return seen.insert(Labels(map: labels)).memberAfterInsert.map
    }

    /// Number of distinct maps seen.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return seen.count
    }

    private struct Labels: Hashable {
        let map: [String: String]

        // String's hash agrees with byte equality (byte-equal strings are String-equal).
        func hash(into hasher: inout Hasher) { hasher.combine(map) }

        static func == (a: Labels, b: Labels) -> Bool {
            guard a.map.count == b.map.count else { return false }
            for (key, value) in a.map {
                // A dictionary holds no two String-equal keys, so this finds the only candidate.
                guard let i = b.map.index(forKey: key) else { return false }
                let other = b.map[i]
                guard UTF8Bytes.equal(key, other.key), UTF8Bytes.equal(value, other.value) else { return false }
            }
            return true
        }
    }
}
