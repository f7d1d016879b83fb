/// Plan → JSON exactly as SPEC §4 lays it out: keys in the spec's order, maps in key order,
/// two-space indentation, a final newline. The same plan gives the same bytes.
public enum PlanJSON {
    public static func render(_ plan: Plan) -> String {
        var bytes: [UInt8] = []
        render(plan, chunk: .max) { bytes += $0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same bytes, handed to `write` in pieces of about `chunk` bytes as they are made, so a
    /// large plan is never held whole in memory on its way out.
    public static func render(_ plan: Plan, chunk: Int = 1 << 20, _ write: ([UInt8]) throws -> Void) rethrows {
        var w = JSONWriter(capacity: min(chunk, 1 << 20) + 4096)
        w.beginObject()
        w.key("formatVersion"); w.raw("1")
        w.key("source")
        w.beginObject()
        w.key("commit"); w.optionalString(plan.source.commit)
        w.key("digest"); w.string(plan.source.digest)
        w.key("path"); w.string(plan.source.path)
        w.endObject()
        w.key("observedGenerations")
        w.beginObject()
        for (r, g) in plan.observedGenerations.sorted(by: { $0.key < $1.key }) { w.key(r.rawValue); w.int(g) }
        w.endObject()
        w.key("actions")
        w.beginArray()
        // Read in place: a `for … in` copied (and retained) every field of every action.
        try plan.actions.withUnsafeBufferPointer { actions in
            for i in actions.indices {
                action(actions, i, &w)
                if w.bytes.count >= chunk { try write(w.drainBytes()) }
            }
        }
        w.endArray()
        w.key("unserved")
        w.beginArray()
        for u in plan.unserved {
            w.beginObject()
            w.key("placement"); w.string(u.placement.rawValue)
            w.key("reason"); w.string(u.reason)
            w.endObject()
        }
        w.endArray()
        w.key("summary")
        w.beginObject()
        for kind in Action.Kind.allCases { w.key(kind.rawValue); w.int(plan.count(kind)) }
        w.endObject()
        w.endObject()
        try write(w.finishBytes())
    }

    /// The action at `i`, its fields read in place (each one retained alone, not the whole action).
    private static func action(_ actions: UnsafeBufferPointer<Action>, _ i: Int, _ w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(actions[i].id)
        w.key("type"); w.string(actions[i].kind.rawValue)
        if let r = actions[i].region { w.key("region"); w.string(r.rawValue) }
        if let x = actions[i].artifact { w.key("artifact"); w.string(x.rawValue) }
        if let p = actions[i].placement { w.key("placement"); w.string(p.rawValue) }
        if actions[i].kind == .stageArtifact { w.key("from"); w.optionalString(actions[i].from?.rawValue) }
        if let m = actions[i].model { w.key("model"); w.string(m.rawValue) }
        if let v = actions[i].version { w.key("version"); w.string(v) }
        if let n = actions[i].replicas { w.key("replicas"); w.int(n) }
        if let weights = actions[i].weights {
            w.key("weights")
            w.beginObject()
            for (r, x) in weights.sorted(by: { $0.key < $1.key }) { w.key(r.rawValue); w.int(x) }
            w.endObject()
        }
        w.key("dependsOn")
        w.beginArray()
        for d in actions[i].dependsOn { w.string(d) }
        w.endArray()
        w.key("reason")
        actions[i].reasonText.withUTF8 { w.string(utf8: $0) }
        w.endObject()
    }
}

/// A small pretty-printing JSON writer: deterministic, no Foundation. It writes UTF-8 bytes
/// into one growing buffer (appending to a `String` piece by piece checked and re-measured the
/// string on every append: rendering a large plan's JSON took half a second).
public struct JSONWriter {
    /// The bytes written so far (not yet taken out by `drainBytes`).
    public private(set) var bytes: [UInt8] = []

    /// The bytes written so far, taken out; writing goes on where it left off.
    public mutating func drainBytes() -> [UInt8] {
        var done: [UInt8] = []
        done.reserveCapacity(bytes.capacity)
        swap(&done, &bytes)
        return done
    }

    /// The text with its final newline.
    public mutating func finish() -> String {
        String(decoding: finishBytes(), as: UTF8.self)
    }

    /// The bytes with their final newline.
    public mutating func finishBytes() -> [UInt8] {
        bytes.append(0x0A)
        let done = bytes
        bytes = []
        return done
    }

    private struct Level {
        let array: Bool
        var empty = true
    }
    private var levels: [Level] = []
    private var afterKey = false
    /// False: no newlines, no indentation, ":" between key and value (for the wire).
    private let pretty: Bool

    public init(pretty: Bool = true, capacity: Int = 0) {
        self.pretty = pretty
        bytes.reserveCapacity(capacity)
    }

    private mutating func newline() {
        guard pretty else { return }
        bytes.append(0x0A)
        for _ in 0 ..< levels.count { bytes.append(0x20); bytes.append(0x20) }
    }

    /// Before a value: in an array, the separator and the indentation.
    private mutating func beforeValue() {
        if afterKey { afterKey = false; return }
        guard let top = levels.last, top.array else { return }
        if !top.empty { bytes.append(0x2C) }
        levels[levels.count - 1].empty = false
        newline()
    }

    public mutating func key(_ k: String) {
        if !levels[levels.count - 1].empty { bytes.append(0x2C) }
        levels[levels.count - 1].empty = false
        newline()
        appendString(k)
        bytes.append(0x3A)
        if pretty { bytes.append(0x20) }
        afterKey = true
    }

    public mutating func raw(_ s: String) { beforeValue(); append(s) }
    public mutating func string(_ s: String) { beforeValue(); appendString(s) }
    /// A string given as its UTF-8 bytes.
    public mutating func string(utf8: UnsafeBufferPointer<UInt8>) { beforeValue(); appendString(utf8) }
    public mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    /// An integer, in decimal.
    public mutating func int(_ n: Int) {
        beforeValue()
        guard n != 0 else { bytes.append(0x30); return }
        if n < 0 { bytes.append(0x2D) }
        // Digits from the lowest, then turned around in place (the magnitude as UInt: Int.min has none).
        var m = n.magnitude
        let first = bytes.count
        while m > 0 {
            bytes.append(0x30 + UInt8(m % 10))
            m /= 10
        }
        bytes[first...].reverse()
    }

    /// An object of `map`'s entries in byte-wise key order, each value written by `value`.
    public mutating func object<V>(_ map: [String: V], _ value: (inout JSONWriter, V) -> Void) {
        beginObject()
        for (k, v) in map.sorted(by: { UTF8Bytes.less($0.key, $1.key) }) {
            key(k)
            value(&self, v)
        }
        endObject()
    }

    public mutating func beginObject() { beforeValue(); bytes.append(0x7B); levels.append(Level(array: false)) }
    public mutating func beginArray() { beforeValue(); bytes.append(0x5B); levels.append(Level(array: true)) }
    public mutating func endObject() { end(0x7D) }
    public mutating func endArray() { end(0x5D) }

    private mutating func end(_ close: UInt8) {
        let level = levels.removeLast()
        if !level.empty { newline() }
        bytes.append(close)
    }

    private mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    private mutating func appendString(_ s: String) {
        var s = s
        s.withUTF8 { appendString($0) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendString(_ utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(0x22)
        // Almost every string needs no escape: appended whole. Only bytes below 0x20, '"' and
        // '\\' are escaped (never UTF-8's multi-byte sequences, whose bytes are all 0x80 and
        // up), so the bytes are escaped one by one and everything else is copied as it is.
        if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            bytes.append(contentsOf: utf8)
        } else {
            for b in utf8 {
                switch b {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                case 0x09: bytes.append(0x5C); bytes.append(0x74)
                case ..<0x20:
                    bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, Self.hex[Int(b >> 4)], Self.hex[Int(b & 0xF)]])
                default: bytes.append(b)
                }
            }
        }
        bytes.append(0x22)
    }
}
