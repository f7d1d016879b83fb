import Foundation
import MeridianCore
@testable import MeridianManifests
import Testing

@Suite("YAML composer")
struct YAMLComposerTests {
    private func mapping(_ s: YAMLStream, _ node: Int32) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in s.entries(of: node) { out[s.text(k)] = s.text(v) }
        return out
    }

    @Test("explicit keys win over merged ones, and the earlier merged mapping wins over the later")
    func mergePrecedence() throws {
        let (s, d) = compose("""
        base: &base {a: base, b: base, c: base}
        other: &other {b: other, d: other}
        m:
          <<: [*other, *base]
          c: explicit
        """)
        #expect(d.isEmpty)
        let root = try #require(s.documents.first)
        let m = try #require(s.entries(of: root).first { s.text($0.key) == "m" }?.value)
        #expect(mapping(s, m) == ["a": "base", "b": "other", "c": "explicit", "d": "other"])
    }

    @Test("a merged key does not count as a duplicate, but two explicit keys do, even past the hash threshold")
    func duplicates() {
        #expect(compose("base: &b {x: 1}\nm: {<<: *b, x: 2}").1.isEmpty)
        let keys = (0 ..< 40).map { "k\($0): 1" }.joined(separator: "\n")
        let (_, d) = compose(keys + "\nk33: 2\n")
        #expect(rules(d) == ["yaml.duplicate-key"])
        #expect(d.first?.location?.line == 41)
    }

    @Test("keys are compared byte for byte: composed and decomposed é are different keys, in small and large mappings alike")
    func byteKeys() throws {
        #expect(compose("caf\u{E9}: 1\ncafe\u{301}: 2").1.isEmpty)
        // Past the 16 keys where the composer switches from a scan to a hash table.
        let many = (0 ..< 20).map { "k\($0): 1" }.joined(separator: "\n")
        let (s, d) = compose(many + "\ncaf\u{E9}: 1\ncafe\u{301}: 2\n")
        #expect(d.isEmpty)
        // Counted as entries: a Swift dictionary would itself fold the two é keys into one.
        #expect(Array(s.entries(of: s.documents[0])).count == 22)
        // Merged keys past the threshold: explicit ones still win, new ones are added once.
        let merged = "base: &b {k3: merged, extra: merged}\nm:\n  <<: *b\n" + (0 ..< 20).map { "  k\($0): own" }.joined(separator: "\n")
        let (ms, md) = compose(merged)
        #expect(md.isEmpty)
        let m = try #require(ms.entries(of: ms.documents[0]).first { ms.text($0.key) == "m" }?.value)
        let entries = mapping(ms, m)
        #expect(entries.count == 21)
        #expect(entries["k3"] == "own")
        #expect(entries["extra"] == "merged")
    }

    @Test("a 200,000-deep flow nesting is an error, not a stack overflow")
    func deepNesting() {
        let text = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let (_, d) = compose(text)
        #expect(rules(d) == ["yaml.depth"])
        let block = (0 ..< 100).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " x"
        #expect(rules(compose(block).1) == ["yaml.depth"])
    }

    @Test("nesting up to the limit is fine")
    func depthLimitExact() {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(compose(text).1.isEmpty)
        let over = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(rules(compose(over).1) == ["yaml.depth"])
    }

    @Test("billion laughs stops at the alias budget, quickly and without expanding")
    func billionLaughs() {
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1 ..< 30 {
            lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]")
        }
        let (_, d) = compose(lines.joined(separator: "\n"))
        #expect(rules(d) == ["yaml.alias-limit"])
    }

    @Test("an alias counts its node's expanded size exactly: 1 per scalar, 1 plus the children for a collection, aliases inside counted in full; a budget met is fine, one node more is refused")
    func aliasBudgetExact() {
        func used(_ text: String, budget: Int) -> [String] {
            var limits = YAMLLimits()
            limits.maxAliasExpansion = budget
            return YAMLComposer.compose(Array(text.utf8), file: "t.yaml", limits: limits).1.map(\.rule.id)
        }
        // s: 1. m: 1 + 4 scalars = 5. l: 1 + [1 + 2 scalars + s] + m's 5 = 1 + 4 + 5 = 10.
        // The aliases below add 1 + 5 + 10 = 16, plus the alias of l's own *s and *m (1 + 5): 22.
        let text = """
        s: &s one
        m: &m {a: 1, b: 2}
        l: &l [[x, y, *s], *m]
        u: [*s, *m, *l]
        """
        #expect(used(text, budget: 22).isEmpty)
        #expect(used(text, budget: 21) == ["yaml.alias-limit"])
        // Sizes are per document: the same anchors in a second document count again, from nothing.
        #expect(used(text + "\n---\n" + text, budget: 22).isEmpty)
        #expect(used(text + "\n---\n" + text, budget: 21) == ["yaml.alias-limit"])
        // An anchor named again names the later node.
        #expect(used("a: &x [1, 2, 3]\nb: &x 1\nc: *x", budget: 1).isEmpty)
        #expect(used("a: &x 1\nb: &x [1, 2, 3]\nc: *x", budget: 3) == ["yaml.alias-limit"])
    }

    @Test("aliases share nodes and stay under the budget when used sensibly")
    func aliasesShare() throws {
        let (s, d) = compose("x: &x {a: 1}\ny: *x\nz: *x")
        #expect(d.isEmpty)
        let root = try #require(s.documents.first)
        let values = s.entries(of: root).map(\.value)
        #expect(values[0] == values[1] && values[1] == values[2])
    }

    @Test("an alias inside the node it names is refused")
    func recursiveAlias() {
        #expect(rules(compose("a: &a [1, *a]").1) == ["yaml.alias"])
    }

    @Test("anchors do not reach across documents")
    func anchorsPerDocument() {
        #expect(rules(compose("a: &a 1\n---\nb: *a").1) == ["yaml.alias"])
    }

    @Test("invalid UTF-8 is an encoding error at its line")
    func invalidUTF8() {
        let (_, d) = YAMLComposer.compose(Array("a: 1\nb: ".utf8) + [0xC3, 0x28] + Array("\n".utf8), file: "t.yaml")
        #expect(rules(d) == ["yaml.encoding"])
        #expect(d.first?.location?.line == 2)
    }

    @Test("tags outside the core schema are refused; core tags are honoured")
    func tags() throws {
        #expect(rules(compose("a: !!python/name:os.system x").1) == ["yaml.tag"])
        #expect(rules(compose("a: !!set {x}").1) == ["yaml.tag"])
        #expect(rules(compose("a: !!timestamp 2001-12-14").1) == ["yaml.tag"])
        #expect(rules(compose("a: !local x").1) == ["yaml.tag"])
        let (s, d) = compose("a: !!str 42\nb: !!int 0x10\nc: !!float 1\nd: ! 7")
        #expect(d.isEmpty)
        let root = try #require(s.documents.first)
        let types = s.entries(of: root).map { s[$0.value].scalarType }
        #expect(types == [.string, .int, .float, .string])
    }

    @Test("plain scalars resolve by the YAML 1.2 core schema")
    func coreSchema() throws {
        let (s, _) = compose("[NO, yes, on, ~, null, true, False, 12, -3, 0o17, 0x1F, 1.5, 1e3, .inf, '12', 1.2.3, '']")
        let root = try #require(s.documents.first)
        let types = s.elements(of: root).map { s[$0].scalarType }
        #expect(types == [.string, .string, .string, .null, .null, .bool, .bool, .int, .int, .int, .int,
                          .float, .float, .float, .string, .string, .string])
    }

    @Test("empty and null documents are skipped; others keep their order")
    func emptyDocuments() {
        let (s, d) = compose("---\n---\n# only a comment\n---\na: 1\n---\n~\n---\nb: 2\n")
        #expect(d.isEmpty)
        #expect(s.documents.count == 2)
    }

    @Test("syntax errors point at the line libyaml found them on")
    func syntaxLine() {
        let (_, d) = compose("a: 1\nb: [1, 2\nc: 3\n")
        #expect(rules(d) == ["yaml.syntax"])
        #expect((d.first?.location?.line ?? 0) >= 2)
    }

    @Test("a document over the size bound is refused before parsing")
    func sizeBound() {
        var limits = YAMLLimits()
        limits.maxDocumentBytes = 16
        let (_, d) = YAMLComposer.compose(Array("a: 0123456789abcdef".utf8), file: "t.yaml", limits: limits)
        #expect(rules(d) == ["yaml.size"])
    }

    @Test("no byte sequence crashes or hangs the loader", arguments: 0 ..< 4)
    func randomBytes(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &* 0x9E37_79B9)
        let alphabet = Array("{}[]:,-&*!|>'\"#%@`?\n \t<aZ0.~\\".utf8) + [0x00, 0xFF, 0xC3, 0xE2]
        for _ in 0 ..< 300 {
            let length = Int(rng.next() % 400)
            let bytes = (0 ..< length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let result = ManifestLoader.load([ManifestFile(path: "fuzz.yaml", bytes: bytes)])
            // Whatever it is, every diagnostic points into the file.
            for d in result.diagnostics {
                #expect(d.location.map { $0.line >= 1 && $0.column >= 1 } ?? true)
            }
        }
    }
}

/// A small deterministic generator, so a failing fuzz case reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The byte-level scalar resolver against the string-level one it replaced, kept here as the
/// oracle: the YAML 1.2 core schema, written the plain way.
@Suite("scalar resolution")
struct ScalarResolutionTests {
    static func oracle(_ s: String) -> YAMLStream.ScalarType {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE", "false", "False", "FALSE": return .bool
        case "<<": return .merge
        default: break
        }
        let b = Array(s.utf8)
        func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func hex(_ c: UInt8) -> Bool { digit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46) }
        if s.hasPrefix("0o") { if b.count > 2 && b[2...].allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) { return .int } }
        else if s.hasPrefix("0x") { if b.count > 2 && b[2...].allSatisfy(hex) { return .int } }
        else {
            let body = (b.first == 0x2B || b.first == 0x2D) ? b.dropFirst() : b[...]
            if !body.isEmpty && body.allSatisfy(digit) { return .int }
        }
        if [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"].contains(s) { return .float }
        var i = 0
        if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
        var mantissa = 0
        while i < b.count, digit(b[i]) { i += 1; mantissa += 1 }
        if i < b.count, b[i] == 0x2E { i += 1; while i < b.count, digit(b[i]) { i += 1; mantissa += 1 } }
        if mantissa > 0 {
            var ok = true
            if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
                i += 1
                if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
                var e = 0
                while i < b.count, digit(b[i]) { i += 1; e += 1 }
                ok = e > 0
            }
            if ok && i == b.count { return .float }
        }
        return .string
    }

    @Test("the byte-level resolver agrees with the core schema on edge cases and 50,000 random scalars")
    func agreesWithOracle() {
        let edges = ["", "~", "~~", "null", "Null", "NULL", "nULL", "nul", "nulls", "true", "True", "TRUE", "tRUE", "false", "False",
                     "FALSE", "f", "t", "<<", "<", "<<<", "0", "-0", "+0", "+", "-", "0o", "0o7", "0o8", "0x", "0xfF", "0xg", "12",
                     "1.", ".5", ".", "1e5", "1e", "1E+5", "-1.5e-3", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "nan", "inf",
                     "1_000", "1:2", "a-3-12", "meridian/v1", "NO", "yes", "on", "~x", "é", "🙂", "12🙂"]
        for e in edges {
            #expect(ScalarResolver.resolvePlain(e) == Self.oracle(e), "'\(e)'")
        }
        let alphabet = Array("0123456789+-.eExXoO~<nNuUlLtTrRfFaAsSiI_:/ é")
        var rng: UInt64 = 0x5EED_5CA1A
        func next(_ n: Int) -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int((rng >> 33) % UInt64(n))
        }
        var mismatches: [String] = []
        for _ in 0 ..< 50_000 {
            let s = String((0 ..< next(7)).map { _ in alphabet[next(alphabet.count)] })
            if ScalarResolver.resolvePlain(s) != Self.oracle(s) { mismatches.append(s) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }
}
