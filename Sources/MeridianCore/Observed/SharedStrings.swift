/// Strings that recur in one JSON text held once: a string written byte for byte as one read
/// before is that string, found by its bytes as written before any string is made. A snapshot's
/// digests are such strings (the copies of one artifact in many regions report one digest: the
/// benchmark snapshot's 60,000 copies carry fewer than 10,000). Never merely Unicode-equivalent
/// (`"é"` written precomposed and decomposed are two strings), so every string is exactly as
/// its text wrote it.
struct SharedStrings {
    /// Per slot, 1 + the position of its entry; 0 is an empty slot. A power of two in size, at
    /// most half full.
    private var slots: [Int32] = []
    private var entries: [Entry] = []
    /// The entries' bytes as written, end to end (one array, not one per string).
    private var text: [UInt8] = []

    private struct Entry {
        let hash: Int
        let start: Int
        let count: Int
        let string: String
    }

    /// The string read before whose text was `raw` (the bytes between the quotes, with no
    /// escape); otherwise `make()`, the string those bytes spell, which is kept for next time.
    mutating func string<E: Error>(_ raw: UnsafeBufferPointer<UInt8>, _ make: () throws(E) -> String) throws(E) -> String {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(raw))
        let hash = hasher.finalize()
        var k = 0
        if !slots.isEmpty {
            let mask = slots.count - 1
            k = hash & mask
            while slots[k] != 0 {
                let e = Int(slots[k]) - 1
                if entries[e].hash == hash, entries[e].count == raw.count, written(e, equals: raw) { return entries[e].string }
                k = (k + 1) & mask
            }
        }
        let made = try make()
        if (entries.count + 1) * 2 > slots.count {
            grow()
            k = hash & (slots.count - 1)
            while slots[k] != 0 { k = (k + 1) & (slots.count - 1) }
        }
        slots[k] = Int32(entries.count + 1)
        entries.append(Entry(hash: hash, start: text.count, count: raw.count, string: made))
        text.append(contentsOf: raw)
        return made
    }

    private func written(_ e: Int, equals raw: UnsafeBufferPointer<UInt8>) -> Bool {
        text.withUnsafeBufferPointer { all in
            UTF8Bytes.equal(UnsafeBufferPointer(rebasing: all[entries[e].start ..< entries[e].start + entries[e].count]), raw)
        }
    }

    /// Twice the slots (at least 64), every entry placed again by its kept hash.
    private mutating func grow() {
        let size = max(64, slots.count * 2)
        slots = [Int32](repeating: 0, count: size)
        for e in entries.indices {
            var k = entries[e].hash & (size - 1)
            while slots[k] != 0 { k = (k + 1) & (size - 1) }
            slots[k] = Int32(e + 1)
        }
    }
}
