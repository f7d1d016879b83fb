/// A set of declared jurisdictions as a bitset over their sorted index. The first 64 live
/// inline, so fleets of ordinary size never allocate for a set.
public struct JurisdictionSet: Hashable, Sendable {
    private var low: UInt64 = 0
    private var high: [UInt64] = []

    public init() {}

    public init(_ indices: some Sequence<Int>) {
        for i in indices { insert(i) }
    }

    /// The set whose members are the bits of `word`.
    init(word: UInt64) { low = word }

    /// Every index below `count`.
    public static func all(_ count: Int) -> JurisdictionSet {
        var s = JurisdictionSet()
        if count >= 64 { s.low = ~0 } else { s.low = (UInt64(1) << UInt64(count)) &- 1 }
        var rest = count - 64
        while rest > 0 {
            s.high.append(rest >= 64 ? ~0 : (UInt64(1) << UInt64(rest)) &- 1)
            rest -= 64
        }
        return s
    }

    public mutating func insert(_ i: Int) {
        if i < 64 { low |= UInt64(1) << UInt64(i); return }
        let w = i / 64 - 1
        while high.count <= w { high.append(0) }
        high[w] |= UInt64(1) << UInt64(i % 64)
    }

    public func contains(_ i: Int) -> Bool {
        if i < 64 { return low & (UInt64(1) << UInt64(i)) != 0 }
        let w = i / 64 - 1
        return w < high.count && high[w] & (UInt64(1) << UInt64(i % 64)) != 0
    }

    public var isEmpty: Bool { low == 0 && high.allSatisfy { $0 == 0 } }

    /// The members as one word, when every member is below 64; nil otherwise.
    var word: UInt64? { high.allSatisfy { $0 == 0 } ? low : nil }

    public var count: Int { low.nonzeroBitCount + high.reduce(0) { $0 + $1.nonzeroBitCount } }

    public func intersection(_ other: JurisdictionSet) -> JurisdictionSet {
        var s = JurisdictionSet()
        s.low = low & other.low
        if !high.isEmpty && !other.high.isEmpty {
            s.high = zip(high, other.high).map { $0 & $1 }
        }
        return s
    }

    public mutating func formIntersection(_ other: JurisdictionSet) {
        low &= other.low
        if high.isEmpty { return }
        for w in high.indices { high[w] &= w < other.high.count ? other.high[w] : 0 }
    }

    public func subtracting(_ other: JurisdictionSet) -> JurisdictionSet {
        var s = self
        s.low &= ~other.low
        for w in s.high.indices where w < other.high.count { s.high[w] &= ~other.high[w] }
        return s
    }

    public func union(_ other: JurisdictionSet) -> JurisdictionSet {
        var s = self
        s.low |= other.low
        for w in other.high.indices {
            if w < s.high.count { s.high[w] |= other.high[w] } else { s.high.append(other.high[w]) }
        }
        return s
    }

    public func isSubset(of other: JurisdictionSet) -> Bool {
        if low & ~other.low != 0 { return false }
        for w in high.indices {
            let o = w < other.high.count ? other.high[w] : 0
            if high[w] & ~o != 0 { return false }
        }
        return true
    }

    /// The member indices, ascending.
    public var indices: [Int] {
        var out: [Int] = []
        var word = low
        while word != 0 {
            out.append(word.trailingZeroBitCount)
            word &= word - 1
        }
        for (w, bits) in high.enumerated() {
            var b = bits
            while b != 0 {
                out.append((w + 1) * 64 + b.trailingZeroBitCount)
                b &= b - 1
            }
        }
        return out
    }

    // Hashable on the members, not on trailing zero words.
    public static func == (a: JurisdictionSet, b: JurisdictionSet) -> Bool { a.isSubset(of: b) && b.isSubset(of: a) }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(low)
        var trimmed = high
        while trimmed.last == 0 { trimmed.removeLast() }
        hasher.combine(trimmed)
    }
}
