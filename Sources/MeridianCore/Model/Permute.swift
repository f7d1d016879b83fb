extension Array {
    /// Rearranges the elements in place so that element `k` is the one that was at `from[k]`
    /// (`from` is a permutation of the indices): one cycle of swaps per cycle of the permutation,
    /// and no second copy of the elements.
    mutating func permute<I: BinaryInteger>(taking from: [I]) {
        precondition(from.count == count, "a permutation of every index")
        var done = [Bool](repeating: false, count: count)
        for start in 0 ..< count where !done[start] {
            var k = start
            while true {
                done[k] = true
                let source = Int(from[k])
                if source == start { break }
                swapAt(k, source)
                k = source
            }
        }
    }
}
