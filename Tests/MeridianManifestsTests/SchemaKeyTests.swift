import Foundation
import MeridianCore
@testable import MeridianManifests
import Testing

/// The composer marks scalars that spell a schema field name with the name's number, and keys
/// are then matched and checked for repeats by number. These tests hold the marks and the
/// repeat checks to a model that compares text only.
@Suite("Schema keys")
struct SchemaKeyTests {
    /// Every name, and texts that are one byte or one code point away from one.
    static let nearMisses: [String] = SchemaKey.allCases.flatMap { key -> [String] in
        let n = key.name
        return [n, String(n.dropLast()), n + "s", " " + n, n + " ", n.uppercased(), n.capitalized,
                n + "\u{0}", String(n.dropFirst()), n.replacingOccurrences(of: "e", with: "\u{E9}"),
                n.replacingOccurrences(of: "e", with: "e\u{301}"), "x" + n.dropFirst()]
    }

    @Test("a text is marked with a name's number exactly when it is that name, byte for byte")
    func numbers() {
        let reference = Dictionary(uniqueKeysWithValues: SchemaKey.allCases.map { ($0.name, $0.rawValue) })
        #expect(reference.count == SchemaKey.allCases.count)
        for key in SchemaKey.allCases {
            #expect(SchemaKey.number(of: key.name) == key.rawValue, "\(key.name)")
            #expect(SchemaKey.names[Int(key.rawValue)] == key.name)
        }
        func check(_ text: String) {
            // Looked up by bytes: a Swift dictionary alone would take é and e + U+0301 as one.
            let expected = reference.first { Array($0.key.utf8) == Array(text.utf8) }?.value ?? 0
            #expect(SchemaKey.number(of: text) == expected, "\(Array(text.utf8))")
        }
        for text in Self.nearMisses { check(text) }
        check("")
        check(String(repeating: "a", count: 16))
        // Random texts from the names' own letters, of every length around the names'.
        var rng = SplitMix64(seed: 0x5EED)
        let letters = Array(Set(SchemaKey.allCases.flatMap { Array($0.name) }))
        for _ in 0 ..< 50_000 {
            let length = Int(rng.next() % 18)
            check(String((0 ..< length).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }))
        }
    }

    @Test("repeated keys are found as a text comparison finds them, among names, near misses and other keys, in small and large mappings and through merges", arguments: 0 ..< 4)
    func repeats(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15)
        // Half the keys from a dozen names, so that names repeat often; half from every near
        // miss and a few keys that are no name at all.
        let names = SchemaKey.allCases.prefix(12).map(\.name)
        let vocabulary = Self.nearMisses + (0 ..< 24).map { "k\($0)" }
        func pick() -> String {
            rng.next() % 2 == 0 ? names[Int(rng.next() % UInt64(names.count))] : vocabulary[Int(rng.next() % UInt64(vocabulary.count))]
        }
        func quoted(_ s: String) -> String {
            "\"" + s.unicodeScalars.map { $0.value == 0 ? "\\0" : String($0) }.joined() + "\""
        }
        for _ in 0 ..< 150 {
            // A mapping of up to 50 explicit keys, about half of them no field name (often past
            // the 16 such keys where the composer hashes them), sometimes after a merge of
            // another mapping with keys of its own.
            let explicit = (0 ..< Int(rng.next() % 51)).map { _ in pick() }
            let merged = rng.next() % 3 == 0 ? (0 ..< Int(rng.next() % 20)).map { _ in pick() } : []
            var text = ""
            if !merged.isEmpty {
                // The merged mapping's own keys are kept unique, so that it composes cleanly.
                var seen = Set<[UInt8]>()
                let unique = merged.filter { seen.insert(Array($0.utf8)).inserted }
                text += "base: &b {" + unique.map { "\(quoted($0)): merged" }.joined(separator: ", ") + "}\n"
            }
            text += "m:\n"
            if !merged.isEmpty { text += "  <<: *b\n" }
            for (i, key) in explicit.enumerated() { text += "  \(quoted(key)): v\(i)\n" }
            let (stream, diagnostics) = compose(text)

            // The model: an explicit key is a repeat if an earlier explicit key has its bytes;
            // merged keys come after, each unless a key with its bytes is already there.
            var have: [[UInt8]: Int] = [:]
            var entries: [(String, String)] = []
            var repeatLines: [Int] = []
            var firstLines: [Int] = []
            // Explicit key i is on this line: after `m:`, and after `base:` and `<<:` if merged.
            let explicitStart = merged.isEmpty ? 2 : 4
            for (i, key) in explicit.enumerated() {
                if let first = have[Array(key.utf8)] {
                    repeatLines.append(explicitStart + i)
                    firstLines.append(explicitStart + first)
                } else {
                    have[Array(key.utf8)] = i
                    entries.append((key, "v\(i)"))
                }
            }
            var seenMerged = Set<[UInt8]>()
            for key in merged where seenMerged.insert(Array(key.utf8)).inserted && have[Array(key.utf8)] == nil {
                have[Array(key.utf8)] = -1
                entries.append((key, "merged"))
            }

            #expect(diagnostics.map(\.rule.id) == repeatLines.map { _ in "yaml.duplicate-key" }, "\(text)")
            #expect(diagnostics.compactMap { $0.location?.line } == repeatLines, "\(text)")
            // Each repeat names the first key with its bytes.
            #expect(diagnostics.map(\.message) == zip(repeatLines, firstLines).map { line, first in
                let k = explicit[line - explicitStart]
                return "duplicate key '\(k)' (first at line \(first))"
            }, "\(text)")
            let root = try #require(stream.documents.first)
            let m = try #require(stream.entries(of: root).first { stream.text($0.key) == "m" }?.value)
            let got = stream.entries(of: m).map { (stream.text($0.key), stream.text($0.value)) }
            #expect(got.map { Array($0.0.utf8) } == entries.map { Array($0.0.utf8) }, "\(text)")
            #expect(got.map(\.1) == entries.map(\.1), "\(text)")
            // Each key's mark is its text's.
            for (key, _) in stream.entries(of: m) {
                #expect(stream[key].key == SchemaKey.number(of: stream.text(key)))
            }
        }
    }

    @Test("fields match by name however the key is written, and a near miss is an unknown field with a suggestion")
    func fieldsByName() {
        // Quoted and plain keys are the same field; `"kind"` is matched as `kind` is.
        let quoted = load("""
        "apiVersion": meridian/v1
        'kind': Jurisdiction
        metadata: {"name": eu}
        """)
        #expect(quoted.diagnostics.isEmpty, "\(quoted.diagnostics)")
        #expect(quoted.state.jurisdictionList.map(\.name.rawValue) == ["eu"])

        // A field name of another kind's mapping is unknown here; a near miss gets a suggestion.
        let wrong = load("""
        apiVersion: meridian/v1
        kind: Jurisdiction
        metadata: {name: eu, replicas: 3, "labels ": {}}
        """)
        let messages = wrong.diagnostics.filter { $0.rule.id == "schema.unknown-field" }.map(\.message)
        #expect(messages.count == 2, "\(wrong.diagnostics)")
        #expect(messages.contains { $0.contains("unknown field 'replicas' in metadata") })
        #expect(messages.contains { $0.contains("unknown field 'labels ' in metadata; did you mean 'labels'?") })

        // A repeated field is one error at the repeat, naming the first.
        let twice = load("""
        apiVersion: meridian/v1
        kind: Jurisdiction
        metadata:
          name: eu
          "name": ch
        """)
        #expect(twice.diagnostics.map(\.rule.id) == ["yaml.duplicate-key"])
        #expect(twice.diagnostics.first?.location?.line == 5)
        #expect(twice.diagnostics.first?.message.contains("duplicate key 'name' (first at line 4)") == true)
    }
}
