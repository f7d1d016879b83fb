extension Array {
    /// Rearranges the elements in place so that element `k` is the one that was at `from[k]`
    /// (`from` is a permutation of the indices): each cycle of the permutation is followed once,
    /// its first element held aside and every other moved straight into its place (one move per
    /// element; a swap per element was three), and no second copy of the elements is made.
    mutating func permute<I: BinaryInteger>(taking from: [I]) {
        precondition(from.count == count, "a permutation of every index")
        var done = [Bool](repeating: false, count: count)
        // Moved through the buffer: its moves move the bits, where the array's assignments
        // copy them (retaining and releasing every field).
        withUnsafeMutableBufferPointer { elements in
            guard let base = elements.baseAddress else { return }
            let n = elements.count
            for start in 0 ..< n where !done[start] {
                done[start] = true
                // Every index is checked before it is used, and none may be visited twice: a
                // list that is not a permutation stops the process (it would otherwise move an
                // element onto one already moved, or never come back to `start`).
                var k = start, source = Int(from[start])
                precondition(source >= 0 && source < n, "a permutation of every index")
                if source == start { continue }
                let held = (base + start).move()
                while source != start {
                    precondition(source >= 0 && source < n && !done[source], "a permutation of every index")
                    (base + k).moveInitialize(from: base + source, count: 1)
                    done[source] = true
                    k = source
                    source = Int(from[k])
                }
                (base + k).initialize(to: held)
            }
        }
    }
}
