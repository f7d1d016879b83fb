@testable import MeridianCore
import Testing

@Suite("The planner's chunked draft storage")
struct ChunkedArrayTests {
    @Test("appends across chunk boundaries read back in order, and element changes happen in place")
    func appendAndModify() {
        var a = ChunkedArray<[Int]>()
        let n = 3 * 4096 + 17
        for i in 0 ..< n { a.append([i]) }
        #expect(a.count == n)
        #expect(a.indices == 0 ..< n)
        #expect(a.indices.allSatisfy { a[$0] == [$0] })
        for i in stride(from: 0, to: n, by: 5) { a[i].append(-i) }
        #expect(a.indices.allSatisfy { a[$0] == ($0 % 5 == 0 ? [$0, -$0] : [$0]) })
        // A copy is a value: changing it leaves the original as it was.
        var b = a
        b[4096] = []
        #expect(a[4096] == [4096] && b[4096] == [])
    }
}

@Suite("The planner's draft table")
struct DraftTableTests {
    @Test("finds every draft by its key through growth and colliding hashes, and nothing that was not added")
    func findThroughCollisions() {
        var table = DraftTable()
        // Keys are strings here; hashes are made to collide in groups of eight.
        let keys = (0 ..< 5000).map { "key-\($0)" }
        func hash(_ k: Int) -> Int { (k / 8) &* 0x9E37_79B9 }
        for (i, _) in keys.enumerated() {
            #expect(table.find(hash: hash(i)) { keys[Int($0)] == keys[i] } == nil)
            table.insert(Int32(i), hash: hash(i))
        }
        for (i, key) in keys.enumerated() {
            #expect(table.find(hash: hash(i)) { keys[Int($0)] == key } == Int32(i))
        }
        // A key never added, with a hash shared by eight that were.
        #expect(table.find(hash: hash(16)) { keys[Int($0)] == "absent" } == nil)
        // Negative hashes (Hasher gives any Int) land in the table like any other.
        table.insert(5000, hash: -12345)
        #expect(table.find(hash: -12345) { $0 == 5000 } == 5000)
    }
}

@Suite("In-place permutation")
struct PermuteTests {
    @Test("every element lands where the permutation says, for random permutations of every small size", arguments: 0 ..< 40)
    func randomPermutations(n: Int) {
        var rng = SplitMix(seed: UInt64(n))
        for _ in 0 ..< 20 {
            let from = Array(0 ..< n).shuffled(using: &rng)
            var values = (0 ..< n).map { "v\($0)" }
            let before = values
            values.permute(taking: from.map { Int32($0) })
            #expect(values == from.map { before[$0] })
        }
    }

    /// An object that counts its own deinits, to tell a move from a copy gone wrong.
    final class Tracked {
        final class Count: @unchecked Sendable { var freed = 0 }
        let count: Count
        init(_ count: Count) { self.count = count }
        deinit { count.freed += 1 }
    }

    @Test("elements are moved, not copied: each object ends in its place, none is freed while the array holds it, and each is freed once after", arguments: [1, 2, 3, 17, 64, 301])
    func movesReferences(n: Int) {
        var rng = SplitMix(seed: UInt64(n) &* 7919)
        let count = Tracked.Count()
        do {
            let from = Array(0 ..< n).shuffled(using: &rng)
            // Several elements each (an object, and a string too long to be stored inline).
            var values = (0 ..< n).map { (Tracked(count), "element number \($0) of the permutation") }
            let before = values
            values.permute(taking: from)
            for k in 0 ..< n {
                #expect(values[k].0 === before[from[k]].0 && values[k].1 == before[from[k]].1)
            }
            #expect(count.freed == 0)
        }
        #expect(count.freed == n)
    }
}
