extension Array {
    /// Rearranges the elements in place so that element `k` is the one that was at `from[k]`
    /// (`from` is a permutation of the indices): one cycle of swaps per cycle of the permutation,
    /// and no second copy of the elements.
    mutating func permute<I: BinaryInteger>(taking from: [I]) {
        precondition(from.count == count, "a permutation of every index")
        var done = [Bool](repeating: false, count: count)
        // Swapped through the buffer: its swap moves the two elements, where the array's copies
        // them (retaining and releasing every field of both).
        withUnsafeMutableBufferPointer { elements in
            for start in 0 ..< elements.count where !done[start] {
                var k = start
                while true {
                    done[k] = true
                    let source = Int(from[k])
                    // The buffer's swap is unchecked in release builds: the index is checked here.
                    precondition(source >= 0 && source < elements.count, "a permutation of every index")
                    if source == start { break }
                    elements.swapAt(k, source)
                    k = source
                }
            }
        }
    }
}
