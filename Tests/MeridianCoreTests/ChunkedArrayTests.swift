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
