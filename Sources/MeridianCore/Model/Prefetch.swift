// The one module MeridianCore imports: a header of two inline C functions around
// `__builtin_prefetch`, which Swift has no spelling of. No IO, no state, no code of the other
// modules, so Core stays as pure as ARCHITECTURE.md asks; the letter ("imports nothing of ours")
// is bent for a compiler intrinsic.
internal import CPrefetch

/// Hints that bring an object into the cache ahead of its use. The objects a load decodes are
/// made by the parse workers, scattered among their other allocations, and a pass over 71,000
/// artifacts that reads each one's fields waits on a cache miss per artifact: asked for a few
/// artifacts ahead, the lines are on their way while the ones before are read. A hint never
/// changes a result: it cannot fault, and it is dropped where it does not apply.
enum Prefetch {
    /// How many elements ahead a pass asks for.
    static let distance = 8

    /// The first `lines` cache lines of the object that the element at `k` of `values` refers to,
    /// when an element is a single reference (`Artifact`: its fields' object). The reference is
    /// read as bits, never retained: a retain would write to the very line being asked for.
    /// `retained`: the object is about to be retained (copied), which writes its first line.
    @inline(__always)
    static func object<T>(of values: UnsafeBufferPointer<T>, at k: Int, lines: Int = 4, retained: Bool = false) {
        guard MemoryLayout<T>.size == MemoryLayout<UnsafeRawPointer>.size, k >= 0, k < values.count, let base = values.baseAddress else { return }
        guard let object = UnsafeRawPointer(bitPattern: UnsafeRawPointer(base + k).load(as: UInt.self)) else { return }
        if retained { meridian_prefetch_write(object) } else { meridian_prefetch(object) }
        for l in 1 ..< max(1, lines) { meridian_prefetch(object + 64 * l) }
    }

    /// `object(of:at:lines:)` for the element `distance` after `k` in `values`: called at the
    /// top of a pass's body for element `k`.
    @inline(__always)
    static func ahead<T>(in values: [T], of k: Int, lines: Int = 4) {
        values.withUnsafeBufferPointer { object(of: $0, at: k + distance, lines: lines) }
    }

    /// The object that the first word of the element at `k` of `values` refers to, about to be
    /// retained: for an enum whose cases carry a single reference first (`ManifestObject`'s
    /// artifact case, its fields' object). For another case the word is not a reference, and the
    /// hint, asked for whatever it is, is dropped or wasted.
    @inline(__always)
    static func firstWord<T>(of values: UnsafeBufferPointer<T>, at k: Int) {
        guard MemoryLayout<T>.size >= MemoryLayout<UnsafeRawPointer>.size, k >= 0, k < values.count, let base = values.baseAddress else { return }
        // Read as an integer: the word of another case may be zero, which no pointer may hold.
        guard let word = UnsafeRawPointer(bitPattern: UnsafeRawPointer(base + k).load(as: UInt.self)) else { return }
        meridian_prefetch_write(word)
    }
}
