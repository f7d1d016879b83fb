internal import MeridianCore
internal import Synchronization

/// Identical label maps decoded in one load share one copy. Fleets repeat a few label sets
/// (team, environment, tier) across thousands of objects; a dictionary per object was 14 MB of
/// the benchmark fleet's 71,000 artifacts. Maps are the same only if they are byte for byte
/// the same (never merely Unicode-equivalent), so an object's labels are exactly as written.
/// Shared by the parse workers of one load, behind locks held only for a lookup or an insert.
public final class LabelInterner: @unchecked Sendable {
    /// Every distinct map (compared as maps: the same pairs written in another order are the
    /// same map). Touched once per distinct writing of a map, behind its own lock.
    private let seen = Mutex<Set<Labels>>([])
    /// Shared maps by their mapping as written: the keys and values in order, each as its length
    /// (four bytes) and its bytes (`Written`). A map seen before is found by hashing and comparing
    /// those bytes, without making a string or a dictionary: the fast decoder hands them over
    /// straight from libyaml's events. The written forms are kept, end to end in one array per
    /// stripe (keeping only their hashes and checking a hit against the map meant a string per
    /// label and a dictionary lookup per key). In stripes by the hash, each behind
    /// its own lock, held only for the lookup or the insert: with one lock, the parse workers,
    /// which look up a map for nearly every object, waited on each other.
    private struct Table {
        /// Each map by its written form's hash, with where that form is in `texts`.
        var written: [UInt64: (start: Int, count: Int, map: [String: String])] = [:]
        /// The written forms of the stripe's maps, end to end (one array, not one per map).
        var texts: [UInt8] = []

        /// The map written as `bytes` with this hash, if the stripe has it.
        func map(_ hash: UInt64, writtenAs bytes: [UInt8]) -> [String: String]? {
            guard let found = written[hash], found.count == bytes.count else { return nil }
            let same = texts.withUnsafeBufferPointer { all in
                bytes.withUnsafeBufferPointer { UTF8Bytes.equal(UnsafeBufferPointer(rebasing: all[found.start ..< found.start + found.count]), $0) }
            }
            return same ? found.map : nil
        }
    }

    /// A stripe's lock and table, side by side with the others in one allocation that is never
    /// retained, each on cache lines of its own. (As objects behind `NSLock`s, each lookup
    /// retained and released the stripe and its lock, and called the lock through its class:
    /// lines both parse workers wrote, so most of the lookup's time was waiting for them to
    /// come over from the other core.)
    private struct Stripe: ~Copyable {
        let table = Mutex<Table>(Table())
        /// To 128 bytes or more: two stripes' locks never share a cache line.
        private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                              UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }
    private static let stripeCount = 16
    private let stripes: UnsafeMutablePointer<Stripe>

    public init() {
        stripes = .allocate(capacity: Self.stripeCount)
        for k in 0 ..< Self.stripeCount { (stripes + k).initialize(to: Stripe()) }
    }

    deinit {
        stripes.deinitialize(count: Self.stripeCount)
        stripes.deallocate()
    }

    func intern(_ labels: [String: String]) -> [String: String] {
        guard !labels.isEmpty else { return labels }
        let labels = Labels(map: labels)
        return seen.withLock { $0.insert(labels).memberAfterInsert.map }
    }

    /// The map of a label mapping written as `texts` (key, value, key, value…, every one a
    /// valid label string), shared with every identical map of the load.
    func intern(written texts: [String]) -> [String: String] {
        guard !texts.isEmpty else { return [:] }
        var written = Written()
        for var t in texts { t.withUTF8 { written.append($0) } }
        return intern(written)
    }

    /// A label mapping as written: each key and value in order, as its length and its bytes, and
    /// a hash of them all (FNV-1a, 64 bits).
    struct Written {
        private(set) var bytes: [UInt8] = []
        private(set) var hash = FNV1a.offset
        private(set) var count = 0

        mutating func removeAll() {
            bytes.removeAll(keepingCapacity: true)
            hash = FNV1a.offset
            count = 0
        }

        mutating func append(_ text: UnsafeBufferPointer<UInt8>) {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: text.count).littleEndian) { length in
                for b in length { mix(b) }
                bytes.append(contentsOf: length)
            }
            for b in text { mix(b) }
            bytes.append(contentsOf: text)
            count += 1
        }

        @inline(__always)
        private mutating func mix(_ b: UInt8) { hash = FNV1a.mix(hash, b) }

        /// The mapping as a map, made afresh (not shared).
        func map() -> [String: String] {
            let texts = texts()
            var map: [String: String] = [:]
            map.reserveCapacity(texts.count / 2)
            var i = 0
            while i + 1 < texts.count {
                map[texts[i]] = texts[i + 1]
                i += 2
            }
            return map
        }

        /// The texts, key, value, key, value…
        func texts() -> [String] {
            var texts: [String] = []
            texts.reserveCapacity(count)
            bytes.withUnsafeBytes { raw in
                var i = 0
                while i + 4 <= raw.count {
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                    texts.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[i + 4 ..< i + 4 + length]), as: UTF8.self))
                    i += 4 + length
                }
            }
            return texts
        }
    }

    /// The shared map of the label mapping `written` (a repeated key is the caller's to refuse).
    func intern(_ written: Written) -> [String: String] {
        guard written.count > 0 else { return [:] }
        let stripe = stripes + Int(written.hash % UInt64(Self.stripeCount))
        if let found = stripe.pointee.table.withLock({ $0.map(written.hash, writtenAs: written.bytes) }) { return found }
        let shared = intern(written.map())
        // On a collision of hashes the first map stays; the other is built each time (rare, and
        // still right).
        stripe.pointee.table.withLock { table in
            if table.written[written.hash] == nil {
                table.written[written.hash] = (table.texts.count, written.bytes.count, shared)
                table.texts.append(contentsOf: written.bytes)
            }
        }
        return shared
    }

    /// Number of distinct maps seen.
    public var count: Int { seen.withLock { $0.count } }

    private struct Labels: Hashable {
        let map: [String: String]
        /// The map's hash, made once, before the lock is taken: the set's growth hashes every
        /// map it holds again, and did so under the lock while the other workers waited.
        let mapHash: Int

        init(map: [String: String]) {
            self.map = map
            var hasher = Hasher()
            hasher.combine(map)
            mapHash = hasher.finalize()
        }

        // String's hash agrees with byte equality (byte-equal strings are String-equal), and so
        // equal maps have equal hashes.
        func hash(into hasher: inout Hasher) { hasher.combine(mapHash) }

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

/// FNV-1a, 64 bits: a cheap hash of a few bytes, for telling label maps and mapping keys apart
/// (a match is always checked, or sends the file to the full decoder).
enum FNV1a {
    static let offset: UInt64 = 0xCBF2_9CE4_8422_2325

    @inline(__always)
    static func mix(_ hash: UInt64, _ byte: UInt8) -> UInt64 { (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h = offset
        for b in bytes { h = mix(h, b) }
        return h
    }
}
