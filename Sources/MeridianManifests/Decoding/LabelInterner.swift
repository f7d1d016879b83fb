internal import Foundation
internal import MeridianCore

/// Identical label maps decoded in one load share one copy. Fleets repeat a few label sets
/// (team, environment, tier) across thousands of objects; a dictionary per object was 14 MB of
/// the benchmark fleet's 71,000 artifacts. Maps are the same only if they are byte for byte
/// the same (never merely Unicode-equivalent), so an object's labels are exactly as written.
/// Shared by the parse workers of one load, behind locks held only for a lookup or an insert.
public final class LabelInterner: @unchecked Sendable {
    /// Every distinct map (compared as maps: the same pairs written in another order are the
    /// same map). Touched once per distinct writing of a map, behind its own lock.
    private let seenLock = NSLock()
    private var seen = Set<Labels>()
    /// Shared maps by the hash of their mapping as written (keys and values in order): a map
    /// seen before is found by hashing a few short strings, without building a dictionary. Only
    /// the hash is kept, not the text (the text costs 1.4 MB on the benchmark fleet); a hit is
    /// checked against the map itself, outside any lock (a shared map is a value, never changed).
    /// In stripes by that hash, each behind its own lock: with one lock held through the check,
    /// the parse workers, which look up a map for nearly every object, waited on each other (most
    /// of a load's context switches were waits for it).
    private final class Stripe: @unchecked Sendable {
        let lock = NSLock()
        var written: [Int: [String: String]] = [:]
    }
    private let stripes: [Stripe] = (0 ..< 16).map { _ in Stripe() }

    public init() {}

    func intern(_ labels: [String: String]) -> [String: String] {
        guard !labels.isEmpty else { return labels }
        seenLock.lock()
        defer { seenLock.unlock() }
        return seen.insert(Labels(map: labels)).memberAfterInsert.map
    }

    /// The map of a label mapping written as `texts` (key, value, key, value…, every one a
    /// valid label string), shared with every identical map of the load.
    func intern(written texts: [String]) -> [String: String] {
        guard !texts.isEmpty else { return [:] }
        var hasher = Hasher()
        hasher.combine(texts.count)
        for t in texts { hasher.combine(t) }
        let hash = hasher.finalize()
        let stripe = stripes[Int(UInt(bitPattern: hash) % UInt(stripes.count))]
        stripe.lock.lock()
        let found = stripe.written[hash]
        stripe.lock.unlock()
        if let found, Self.holds(found, exactly: texts) { return found }
        var map: [String: String] = [:]
        map.reserveCapacity(texts.count / 2)
        var i = 0
        while i + 1 < texts.count {
            map[texts[i]] = texts[i + 1]
            i += 2
        }
        let shared = intern(map)
        // On a collision of hashes the first map stays; the other is built each time (rare, and
        // still right).
        stripe.lock.lock()
        if stripe.written[hash] == nil { stripe.written[hash] = shared }
        stripe.lock.unlock()
        return shared
    }

    /// Whether `map` is exactly the map `texts` writes: as many entries as pairs (so no key is
    /// written twice), and each pair's key and value in it byte for byte.
    private static func holds(_ map: [String: String], exactly texts: [String]) -> Bool {
        guard map.count * 2 == texts.count else { return false }
        var i = 0
        while i + 1 < texts.count {
            guard let at = map.index(forKey: texts[i]) else { return false }
            let (key, value) = map[at]
            guard UTF8Bytes.equal(key, texts[i]), UTF8Bytes.equal(value, texts[i + 1]) else { return false }
            i += 2
        }
        return true
    }

    /// Number of distinct maps seen.
    public var count: Int {
        seenLock.lock()
        defer { seenLock.unlock() }
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
