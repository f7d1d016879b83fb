@testable import MeridianCore
import Testing

@Suite("The name index of a table")
struct NameIndexTests {
    /// Distinct random names: shared prefixes, every length from empty to past 3 words, bytes
    /// that are not ASCII (and invalid UTF-8, which `String(decoding:)` repairs).
    static func names(_ count: Int, using rng: inout some RandomNumberGenerator) -> [RegionName] {
        let alphabet: [UInt8] = Array("ab-09z".utf8) + [0xC3, 0xA9, 0x7F, 0x00, 0xFF]
        let prefixes = (0 ..< 4).map { _ in (0 ..< Int.random(in: 0 ... 20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! } }
        var seen = Set<[UInt8]>()
        var out: [RegionName] = []
        while out.count < count {
            let bytes = prefixes.randomElement(using: &rng)! + (0 ..< Int.random(in: 0 ... 14, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let name = RegionName(String(decoding: bytes, as: UTF8.self))
            if seen.insert(Array(name.rawValue.utf8)).inserted { out.append(name) }
        }
        return out
    }

    @Test("answers as a dictionary does: every name at its position, every other name absent (120 tables of up to 1,000 names, a third of them built as the dictionary fallback)")
    func answersLikeADictionary() {
        var rng = SystemRandomNumberGenerator()
        var fellBack = 0
        for round in 0 ..< 120 {
            let all = Self.names(Int.random(in: 0 ... 1_000, using: &rng) + 100, using: &rng)
            let held = Array(all.dropLast(100)), absent = all.suffix(100)
            // Every third table is built with no run allowed, so it must be the fallback.
            let index = round % 3 == 0 ? NameIndex(names: held, maxRun: 0) : NameIndex(names: held)
            #expect(index.isFallback == (round % 3 == 0 && !held.isEmpty))
            if index.isFallback { fellBack += 1 }
            let expected = Dictionary(uniqueKeysWithValues: zip(held, held.indices))
            // Mismatches are gathered, one expectation per table: an expectation per name made
            // this test take twenty seconds.
            var wrong: [[UInt8]] = []
            for (i, name) in held.enumerated() {
                // A copy made from bytes (other storage) is found too.
                let copy = RegionName(String(decoding: Array(name.rawValue.utf8), as: UTF8.self))
                if index.position(of: name) != i || index.position(of: copy) != expected[name] { wrong.append(Array(name.rawValue.utf8)) }
            }
            for name in absent where index.position(of: name) != nil { wrong.append(Array(name.rawValue.utf8)) }
            #expect(wrong.isEmpty, "\(wrong.prefix(5))")
            #expect(index.names == held)
        }
        #expect(fellBack >= 35)
    }

    @Test("names that all land in one slot (found for a known seed, as an attacker who knew it would) make the index a dictionary, which still answers")
    func collidingNames() {
        // 600 names whose hashes agree in their low 11 bits: the slot of a table of 2,048.
        var colliding: [RegionName] = []
        var k = 0
        while colliding.count < 600 {
            let name = RegionName("r-\(k)")
            if NameIndex<RegionSpace>.hash(name, seed: 42) & 2047 == 0 { colliding.append(name) }
            k += 1
        }
        let index = NameIndex(names: colliding, seed: 42)
        #expect(index.isFallback)
        #expect(colliding.indices.allSatisfy { index.position(of: colliding[$0]) == $0 })
        #expect(index.position(of: RegionName("r-absent")) == nil)
        // The same names under another seed spread out.
        #expect(!NameIndex(names: colliding, seed: 43).isFallback)
    }

    @Test("a large table of the benchmark's names stays an open table, and a hash depends on its seed")
    func largeTable() {
        let held = (0 ..< 71_000).map { RegionName("a-\($0 / 3_550)-\($0 % 3_550)") }
        let index = NameIndex(names: held)
        #expect(!index.isFallback)
        #expect(held.indices.allSatisfy { index.position(of: held[$0]) == $0 })
        #expect(index.position(of: RegionName("a-20-0")) == nil)
        let name = RegionName("eu-west-1")
        #expect(NameIndex.hash(name, seed: 1) != NameIndex.hash(name, seed: 2))
        #expect(NameIndex.hash(name, seed: 7) == NameIndex.hash(RegionName(String(decoding: Array("eu-west-1".utf8), as: UTF8.self)), seed: 7))
    }
}
