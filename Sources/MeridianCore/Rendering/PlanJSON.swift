/// Plan → JSON exactly as SPEC §4 lays it out: keys in the spec's order, maps in key order,
/// two-space indentation, a final newline. The same plan gives the same bytes.
public enum PlanJSON {
    public static func render(_ plan: Plan) -> String {
        var text = ""
        render(plan) { text += $0 }
        return text
    }

    /// The same bytes, handed to `write` in pieces of about `chunk` bytes as they are made, so a
    /// large plan is never held whole in memory on its way out.
    public static func render(_ plan: Plan, chunk: Int = 1 << 20, _ write: (String) throws -> Void) rethrows {
        var w = JSONWriter()
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
        for (r, g) in plan.observedGenerations.sorted(by: { $0.key < $1.key }) { w.key(r.rawValue); w.raw(String(g)) }
        w.endObject()
        w.key("actions")
        w.beginArray()
        for a in plan.actions {
            action(a, &w)
            if w.text.utf8.count >= chunk { try write(w.drain()) }
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
        for kind in Action.Kind.allCases { w.key(kind.rawValue); w.raw(String(plan.count(kind))) }
        w.endObject()
        w.endObject()
        try write(w.finish())
    }

    private static func action(_ a: Action, _ w: inout JSONWriter) {
        w.beginObject()
        w.key("id"); w.string(a.id)
        w.key("type"); w.string(a.kind.rawValue)
        if let r = a.region { w.key("region"); w.string(r.rawValue) }
        if let x = a.artifact { w.key("artifact"); w.string(x.rawValue) }
        if let p = a.placement { w.key("placement"); w.string(p.rawValue) }
        if a.kind == .stageArtifact { w.key("from"); w.optionalString(a.from?.rawValue) }
        if let m = a.model { w.key("model"); w.string(m.rawValue) }
        if let v = a.version { w.key("version"); w.string(v) }
        if let n = a.replicas { w.key("replicas"); w.raw(String(n)) }
        if let weights = a.weights {
            w.key("weights")
            w.beginObject()
            for (r, x) in weights.sorted(by: { $0.key < $1.key }) { w.key(r.rawValue); w.raw(String(x)) }
            w.endObject()
        }
        w.key("dependsOn")
        w.beginArray()
        for d in a.dependsOn { w.string(d) }
        w.endArray()
        w.key("reason"); w.string(a.reason)
        w.endObject()
    }
}

/// A small pretty-printing JSON writer: deterministic, no Foundation.
public struct JSONWriter {
    public private(set) var text = ""

    /// The text with its final newline, handed over without a copy (a large plan's JSON is
    /// tens of megabytes: `text + "\n"` held it twice).
    /// The text written so far, taken out; writing goes on where it left off.
    public mutating func drain() -> String {
        let done = text
        text = ""
        return done
    }

    public mutating func finish() -> String {
        text.append("\n")
        let done = text
        text = ""
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

    public init(pretty: Bool = true) { self.pretty = pretty }

    /// "\n" and the indentation of each depth, made once (a plan's JSON has a newline per field).
    private var indents: [String] = ["\n"]

    private mutating func newline() {
        guard pretty else { return }
        while indents.count <= levels.count { indents.append(indents[indents.count - 1] + "  ") }
        text += indents[levels.count]
    }

    /// Before a value: in an array, the separator and the indentation.
    private mutating func beforeValue() {
        if afterKey { afterKey = false; return }
        guard var top = levels.last, top.array else { return }
        if !top.empty { text += "," }
        top.empty = false
        levels[levels.count - 1] = top
        newline()
    }

    public mutating func key(_ k: String) {
        if !levels[levels.count - 1].empty { text += "," }
        levels[levels.count - 1].empty = false
        newline()
        appendString(k)
        text += pretty ? ": " : ":"
        afterKey = true
    }

    public mutating func raw(_ s: String) { beforeValue(); text += s }
    public mutating func string(_ s: String) { beforeValue(); appendString(s) }
    public mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
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

    public mutating func beginObject() { beforeValue(); text += "{"; levels.append(Level(array: false)) }
    public mutating func beginArray() { beforeValue(); text += "["; levels.append(Level(array: true)) }
    public mutating func endObject() { end("}") }
    public mutating func endArray() { end("]") }

    private mutating func end(_ close: String) {
        let level = levels.removeLast()
        if !level.empty { newline() }
        text += close
    }

    private mutating func appendString(_ s: String) {
        text += "\""
        // Almost every string needs no escape: appended whole. Only bytes below 0x20, '"' and
        // '\\' are escaped (never UTF-8's multi-byte sequences), so one pass over the bytes decides.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            text += s
            text += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    text.unicodeScalars.append(u)
                }
            }
        }
        text += "\""
    }
}
