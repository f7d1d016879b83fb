internal import MeridianCore

/// Typed, strict access to the nodes of one composed file. Every accessor reports what is
/// wrong (with the node's line and column) and returns nil, so decoding goes on and the user
/// sees every problem at once.
struct DocumentReader {
    let stream: YAMLStream
    /// The file, shared by every location read from it.
    let source: SourceFile
    var diagnostics: [Diagnostic] = []

    init(stream: YAMLStream, file: String) {
        self.stream = stream
        self.source = SourceFile(file)
    }

    var file: String { source.path }

    func location(_ node: Int32) -> SourceLocation {
        let n = stream[node]
        return SourceLocation(source, line: Int(n.line), column: Int(n.column))
    }

    mutating func error(_ rule: Rule, _ message: String, at node: Int32) {
        diagnostics.append(Diagnostic(rule, message, at: location(node)))
    }

    /// The fields of a mapping. Unknown keys are reported (with a suggestion when one is
    /// close), and so are missing required ones.
    mutating func fields(_ node: Int32, _ what: @autoclosure () -> String, allowed: [SchemaKey], required: [SchemaKey] = []) -> Fields? {
        guard stream[node].kind == .mapping else {
            error(.schemaType, "\(what()) must be a mapping, not \(stream.describe(node))", at: node)
            return nil
        }
        // One slot per allowed key: mappings here have a handful of keys, so a scan beats hashing
        // (keys are unique: the composer refuses duplicates). The slots are inline, not an array
        // allocated for every mapping. A key is matched by its number (the composer's mark):
        // one that is no schema field name is no allowed field.
        precondition(allowed.count <= 8, "a schema mapping with more than 8 fields")
        var values = InlineArray<8, Int32>(repeating: -1)
        for (key, value) in stream.entries(of: node) {
            let number = stream[key].key
            if number != 0, let slot = allowed.firstIndex(where: { $0.rawValue == number }) {
                values[slot] = value
            } else {
                let name = stream.texts[Int(key)]
                let names = allowed.map(\.name)
                var message = "unknown field '\(name)' in \(what())"
                if let near = Suggest.closest(to: name, in: names) { message += "; did you mean '\(near)'?" }
                else { message += " (allowed: \(names.joined(separator: ", ")))" }
                error(.schemaUnknownField, message, at: key)
            }
        }
        let fields = Fields(node: node, allowed: allowed, values: values)
        for field in required where fields[field] == nil {
            error(.schemaRequired, "\(what()) is missing required field '\(field.name)'", at: node)
        }
        return fields
    }

    struct Fields {
        let node: Int32
        let allowed: [SchemaKey]
        /// The value node of each allowed key, -1 where absent.
        let values: InlineArray<8, Int32>
        subscript(_ key: SchemaKey) -> Int32? {
            guard let slot = allowed.firstIndex(of: key) else { return nil }
            return values[slot] < 0 ? nil : values[slot]
        }
    }

    mutating func string(_ node: Int32, _ what: @autoclosure () -> String) -> String? {
        let n = stream[node]
        guard n.kind == .scalar, n.scalarType == .string else {
            var message = "\(what()) must be a string, not \(stream.describe(node))"
            if n.kind == .scalar && n.scalarType != .null { message += "; quote it to make it a string" }
            error(.schemaType, message, at: node)
            return nil
        }
        return stream.text(node)
    }

    mutating func nonEmptyString(_ node: Int32, _ what: @autoclosure () -> String) -> String? {
        guard let s = string(node, what()) else { return nil }
        if s.isEmpty {
            error(.schemaEmpty, "\(what()) must not be empty", at: node)
            return nil
        }
        return s
    }

    mutating func located(_ node: Int32, _ what: @autoclosure () -> String) -> Located<String>? {
        string(node, what()).map { Located($0, at: location(node)) }
    }

    mutating func int(_ node: Int32, _ what: @autoclosure () -> String, min: Int? = nil, max: Int? = nil) -> Int? {
        let n = stream[node]
        // JSON Schema counts a number with no fractional part as an integer (2020-12 §6.1.1);
        // the decoder agrees with the schemas, so `64.0` is 64.
        if n.kind == .scalar, n.scalarType == .float, let d = Double(stream.text(node)), let whole = Int(wholeNumber: d) {
            return checkRange(whole, what(), min: min, max: max, at: node)
        }
        guard n.kind == .scalar, n.scalarType == .int else {
            error(.schemaType, "\(what()) must be an integer, not \(stream.describe(node))", at: node)
            return nil
        }
        guard let value = ScalarResolver.intValue(stream.text(node)) else {
            error(.schemaRange, "\(what()) \(stream.text(node)) does not fit in 64 bits", at: node)
            return nil
        }
        return checkRange(value, what(), min: min, max: max, at: node)
    }

    private mutating func checkRange(_ value: Int, _ what: @autoclosure () -> String, min: Int?, max: Int?, at node: Int32) -> Int? {
        if let min, value < min {
            error(.schemaRange, "\(what()) must be at least \(min), not \(value)", at: node)
            return nil
        }
        if let max, value > max {
            error(.schemaRange, "\(what()) must be at most \(max), not \(value)", at: node)
            return nil
        }
        return value
    }

    /// A list's items, read in place (index them from `startIndex`).
    mutating func list(_ node: Int32, _ what: @autoclosure () -> String, nonEmpty: Bool = false) -> ArraySlice<Int32>? {
        guard stream[node].kind == .sequence else {
            error(.schemaType, "\(what()) must be a list, not \(stream.describe(node))", at: node)
            return nil
        }
        let items = stream.elements(of: node)
        if nonEmpty && items.isEmpty {
            error(.schemaEmpty, "\(what()) must not be empty", at: node)
            return nil
        }
        return items
    }

    mutating func enumValue<E: RawRepresentable & CaseIterable>(_ node: Int32, _ what: @autoclosure () -> String, as _: E.Type) -> E?
    where E.RawValue == String {
        guard let s = string(node, what()) else { return nil }
        if let value = E(rawValue: s) { return value }
        let allowed = E.allCases.map(\.rawValue)
        var message = "\(what()) '\(s)' is not one of \(allowed.joined(separator: " | "))"
        if let near = Suggest.closest(to: s, in: allowed) { message += "; did you mean '\(near)'?" }
        error(.schemaEnum, message, at: node)
        return nil
    }

    /// A name (or a reference to one): a DNS label, compared byte for byte.
    mutating func name<S>(_ node: Int32, _ what: @autoclosure () -> String, as _: Name<S>.Type = Name<S>.self) -> Located<Name<S>>? {
        guard let s = string(node, what()) else { return nil }
        guard DNSLabel.isValid(s) else {
            error(.nameInvalid, "\(what()) '\(Suggest.printable(s))' is not a DNS label (lowercase a-z, 0-9 and '-', 1 to 63 characters, starting and ending with a letter or digit)", at: node)
            return nil
        }
        return Located(Name<S>(s), at: location(node))
    }

    mutating func names<S>(_ node: Int32, _ what: @autoclosure () -> String, as type: Name<S>.Type = Name<S>.self, nonEmpty: Bool = false) -> [Located<Name<S>>]? {
        guard let items = list(node, what(), nonEmpty: nonEmpty) else { return nil }
        // Sized once: grown by appending, a list of three held room for four, and every
        // artifact's lineage and fences are such lists.
        var result: [Located<Name<S>>] = []
        result.reserveCapacity(items.count)
        for item in items {
            if let n = name(item, "\(what()) entry", as: type) { result.append(n) }
        }
        return result
    }

    /// A string → string mapping (labels, annotations, matchLabels).
    mutating func stringMap(_ node: Int32, _ what: @autoclosure () -> String) -> [String: String]? {
        var result: [String: String] = [:]
        guard checkStringMap(node, what(), each: { result[$0] = $1 }) else { return nil }
        return result
    }

    /// A string → string mapping's keys and values in order (key, value, key, value…), when it
    /// is one that `stringMap` reads without a word: a mapping of strings with no empty key.
    /// nil otherwise, and nothing is reported (`stringMap` says what is wrong).
    func writtenStringMap(_ node: Int32) -> [String]? {
        guard stream[node].kind == .mapping else { return nil }
        var texts: [String] = []
        texts.reserveCapacity(Int(stream[node].childCount))
        for (key, value) in stream.entries(of: node) {
            let k = stream[key], v = stream[value]
            guard k.kind == .scalar, k.scalarType == .string, v.kind == .scalar, v.scalarType == .string else { return nil }
            let text = stream.texts[Int(key)]
            if text.isEmpty { return nil }
            texts.append(text)
            texts.append(stream.texts[Int(value)])
        }
        return texts
    }

    /// Checks a string → string mapping that is not kept (annotations), reporting what
    /// `stringMap` would, without building it; false when it is not a mapping.
    mutating func checkStringMap(_ node: Int32, _ what: @autoclosure () -> String, each: (String, String) -> Void = { _, _ in }) -> Bool {
        guard stream[node].kind == .mapping else {
            error(.schemaType, "\(what()) must be a mapping of strings, not \(stream.describe(node))", at: node)
            return false
        }
        for (key, value) in stream.entries(of: node) {
            guard let k = string(key, "\(what()) key") else { continue }
            if k.isEmpty { error(.schemaEmpty, "\(what()) key must not be empty", at: key); continue }
            guard let v = string(value, "\(what()) '\(k)'") else { continue }
            each(k, v)
        }
        return true
    }
}

enum Suggest {
    /// The allowed word closest to `word` by edit distance, when it is a plausible typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased().utf8)
        guard w.count <= 64 else { return nil }
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(w, Array(candidate.lowercased().utf8))
            if d <= max(1, min(w.count, candidate.utf8.count) / 3), best == nil || d < best!.1 {
                best = (candidate, d)
            }
        }
        return best?.0
    }

    private static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0 ... b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1 ... a.count {
            cur[0] = i
            for j in 1 ... b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// Shows invisible and look-alike characters as escapes so a user can see why a name that
    /// looks right is refused.
    static func printable(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars.prefix(80) {
            if scalar.isASCII && scalar.value >= 0x20 && scalar.value < 0x7F {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return out
    }
}
