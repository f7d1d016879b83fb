/// Name → position in one table's list: the lookup the planner, the checks, the fence analysis
/// and the re-check make for every reference they follow.
///
/// An open-addressing table with linear probing, at most half full, over a hash of the name's
/// bytes keyed by a seed drawn once per index. Each slot holds the high half of its name's hash
/// beside the position, so a probe compares names only when those agree. It answers like a
/// `[Name: Int]` in a quarter to a third less time per lookup (measured apart, on a prototype,
/// among 71,000 names): no SipHash rounds, and one slot read before the name itself.
///
/// Names come from commits a pull request's author writes, so the table must not be made
/// slow on purpose: when a build finds a run of occupied slots longer than `maxRun` (colliding
/// names make runs; a half-full table of random hashes has runs of a few dozen at most), the
/// index is built again as a `Dictionary`, whose SipHash is seeded per process and made for
/// this. A lookup then never scans more than `maxRun` slots, nor a build more than `maxRun`
/// per name, either way.
struct NameIndex<Space: NameSpace>: Sendable {
    /// The names by position.
    let names: [Name<Space>]
    /// 0: empty. Otherwise the name's hash, high 32 bits, over its position + 1, low 32 bits.
    private let slots: [UInt64]
    private let seed: UInt64
    /// Set instead of `slots` when the build found a run longer than `maxRun`.
    private let fallback: [Name<Space>: Int]?

    /// Longer runs make the index fall back to a `Dictionary`.
    static var maxRun: Int { 200 }

    /// `names` by position, each name once. `seed` is for tests that collide names on purpose.
    init(names: [Name<Space>], maxRun: Int = Self.maxRun, seed: UInt64? = nil) {
        precondition(names.count < Int(UInt32.max), "a table of more than 4 billion objects")
        self.names = names
        guard !names.isEmpty else {
            (self.slots, self.seed, self.fallback) = ([], 0, nil)
            return
        }
        let seed = seed ?? UInt64.random(in: .min ... .max)
        self.seed = seed
        var capacity = 8
        while capacity < names.count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [UInt64](repeating: 0, count: capacity)
        // A name that must walk past more than `maxRun` taken slots ends the build at once,
        // so that colliding names cannot make the build itself quadratic.
        let walkedTooFar = slots.withUnsafeMutableBufferPointer { s in
            for (i, name) in names.enumerated() {
                let h = Self.hash(name, seed: seed)
                var j = Int(truncatingIfNeeded: h) & mask
                var walked = 0
                while s[j] != 0 {
                    walked += 1
                    if walked > maxRun { return true }
                    j = (j + 1) & mask
                }
                s[j] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(i + 1)
            }
            return false
        }
        if walkedTooFar || Self.longestRun(slots) > maxRun {
            var table: [Name<Space>: Int] = [:]
            table.reserveCapacity(names.count)
            for (i, name) in names.enumerated() { table[name] = i }
            self.slots = []
            fallback = table
        } else {
            self.slots = slots
            fallback = nil
        }
    }

    /// Whether this index fell back to a `Dictionary` (tests).
    var isFallback: Bool { fallback != nil }

    func position(of name: Name<Space>) -> Int? {
        if let fallback { return fallback[name] }
        if slots.isEmpty { return nil }
        let h = Self.hash(name, seed: seed)
        let tag = h & 0xFFFF_FFFF_0000_0000
        return slots.withUnsafeBufferPointer { s in
            names.withUnsafeBufferPointer { n in
                let mask = s.count - 1
                var j = Int(truncatingIfNeeded: h) & mask
                while true {
                    let slot = s[j]
                    if slot == 0 { return nil }
                    if slot & 0xFFFF_FFFF_0000_0000 == tag {
                        let p = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                        if n[p] == name { return p }
                    }
                    j = (j + 1) & mask
                }
            }
        }
    }

    /// The longest run of occupied slots, counting a run that wraps around the end once.
    private static func longestRun(_ slots: [UInt64]) -> Int {
        guard let firstEmpty = slots.firstIndex(of: 0) else { return slots.count }
        var longest = 0, run = 0
        for k in 1 ... slots.count {
            if slots[(firstEmpty + k) % slots.count] == 0 {
                run = 0
            } else {
                run += 1
                longest = max(longest, run)
            }
        }
        return longest
    }

    @inline(__always)
    private static func mix(_ x: UInt64) -> UInt64 {
        let m = x.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return m.high ^ m.low
    }

    /// The name's bytes, eight at a time, folded by a multiply-and-fold step (as wyhash and
    /// folly's hashes do), from the seed and the length.
    static func hash(_ name: Name<Space>, seed: UInt64) -> UInt64 {
        func bytes(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
            var h = seed ^ (UInt64(p.count) &* 0xA076_1D64_78BD_642F)
            guard let base = p.baseAddress else { return mix(h) }
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i + 8 <= p.count {
                h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < p.count {
                tail |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            return mix(h ^ tail ^ 0xE703_7ED1_A0B4_28DB)
        }
        if let h = name.rawValue.utf8.withContiguousStorageIfAvailable(bytes) { return h }
        return Array(name.rawValue.utf8).withUnsafeBufferPointer(bytes)
    }
}
