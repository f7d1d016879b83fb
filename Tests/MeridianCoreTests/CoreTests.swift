import Foundation
import MeridianCore
import Testing

@Suite("Names and formats")
struct NameTests {
    @Test("DNS labels", arguments: [
        ("eu-west", true), ("a", true), ("0", true), ("a-0-b", true), (String(repeating: "a", count: 63), true),
        ("", false), ("-a", false), ("a-", false), ("EU", false), ("eu_west", false), ("eu.west", false),
        (String(repeating: "a", count: 64), false), ("\u{435}u", false), ("eu\u{200B}", false),
    ])
    func dnsLabels(name: String, valid: Bool) {
        #expect(DNSLabel.isValid(name) == valid)
    }

    @Test("names compare byte for byte, never by Unicode equivalence")
    func byteEquality() {
        #expect(RegionName("caf\u{E9}") != RegionName("cafe\u{301}"))
        #expect(Set([RegionName("caf\u{E9}"), RegionName("cafe\u{301}")]).count == 2)
        #expect(RegionName("eu-west") == RegionName("eu-west"))
    }

    @Test("name equality at every length and at every differing byte (the eight-byte steps and the tail)")
    func byteEqualityLengths() {
        for n in 0 ... 40 {
            let base = String((0 ..< n).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            // Separate storage, so equality is decided by the bytes, not by a shared pointer.
            #expect(RegionName(base) == RegionName(String(decoding: Array(base.utf8), as: UTF8.self)))
            #expect(RegionName(base) != RegionName(base + "x"))
            for i in 0 ..< n {
                var bytes = Array(base.utf8)
                bytes[i] = UInt8(ascii: "0")
                #expect(RegionName(base) != RegionName(String(decoding: bytes, as: UTF8.self)), "length \(n), byte \(i)")
            }
        }
    }

    @Test("name order is byte-wise lexicographic, as a byte-by-byte compare gives it (20,000 random pairs, shared prefixes, non-ASCII)")
    func byteOrder() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("ab-09".utf8) + [0xC3, 0xA9, 0x7F]
        for _ in 0 ..< 20_000 {
            let prefix = (0 ..< Int.random(in: 0 ... 20, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let x = prefix + (0 ..< Int.random(in: 0 ... 12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let y = prefix + (0 ..< Int.random(in: 0 ... 12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            // Invalid UTF-8 is repaired by String(decoding:); compare what the names hold.
            let a = RegionName(String(decoding: x, as: UTF8.self)), b = RegionName(String(decoding: y, as: UTF8.self))
            let expected = Array(a.rawValue.utf8).lexicographicallyPrecedes(Array(b.rawValue.utf8))
            #expect((a < b) == expected, "\(Array(a.rawValue.utf8)) < \(Array(b.rawValue.utf8))")
            #expect((a == b) == (Array(a.rawValue.utf8) == Array(b.rawValue.utf8)))
            let order = UTF8Bytes.compare(a.rawValue, b.rawValue)
            #expect(order == (expected ? .less : a == b ? .equal : .greater), "compare \(Array(a.rawValue.utf8)), \(Array(b.rawValue.utf8))")
        }
    }

    @Test("an action's id is a and its position from 1, as interpolation writes it, up to Int.max")
    func actionIDs() {
        for n in [1, 9, 10, 11, 99, 100, 78_801, 999_999, 1_000_000, Int(Int32.max), Int.max - 1, Int.max] {
            #expect(Planner.actionID(n) == "a\(n)")
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 10_000 {
            let n = Int.random(in: 1 ... Int.max, using: &rng) >> Int.random(in: 0 ... 62, using: &rng)
            #expect(Planner.actionID(max(n, 1)) == "a\(max(n, 1))")
        }
    }

    @Test("the JSON writer escapes exactly quotes, backslashes and control characters, and round-trips any string")
    func jsonStrings() throws {
        var w = JSONWriter()
        w.beginArray()
        w.string("plain, with é and 🙂")
        w.string("q\"b\\n\nr\rt\tc\u{01}\u{1F}/")
        w.endArray()
        #expect(w.finish() == "[\n  \"plain, with é and 🙂\",\n  \"q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f/\"\n]\n")
        let alphabet: [Character] = ["a", "\"", "\\", "\n", "\u{0}", "\u{7}", "\u{1F}", " ", "é", "🙂", "/", "\u{7F}"]
        for _ in 0 ..< 2_000 {
            let original = String((0 ..< Int.random(in: 0 ... 12)).map { _ in alphabet.randomElement()! })
            var writer = JSONWriter()
            writer.beginArray()
            writer.string(original)
            writer.endArray()
            let decoded = try JSONDecoder().decode([String].self, from: Data(writer.finish().utf8))
            #expect(decoded == [original])
        }
    }

    @Test("the JSON writer writes integers as Swift prints them, at the edges too")
    func jsonIntegers() {
        var values = [0, 1, -1, 9, 10, -10, 99, 100, Int.max, Int.min, Int.min + 1]
        for _ in 0 ..< 1_000 { values.append(Int.random(in: .min ... .max) >> Int.random(in: 0 ... 63)) }
        var w = JSONWriter(pretty: false)
        w.beginArray()
        for v in values { w.int(v) }
        w.endArray()
        #expect(w.finish() == "[" + values.map(String.init).joined(separator: ",") + "]\n")
    }

    @Test("action kinds rank in SPEC order")
    func kindRanks() {
        #expect(Action.Kind.allCases.map(\.rank) == Array(0 ..< Action.Kind.allCases.count))
        #expect(Action.Kind.allCases == [.purge, .stageArtifact, .deploy, .setTraffic, .undeploy, .deleteArtifact])
    }

    @Test("digests and versions")
    func formats() {
        #expect(Digest.isValid("sha256:" + String(repeating: "a", count: 64)))
        #expect(!Digest.isValid("sha256:" + String(repeating: "A", count: 64)))
        #expect(!Digest.isValid("sha256:" + String(repeating: "a", count: 63)))
        #expect(!Digest.isValid("sha512:" + String(repeating: "a", count: 64)))
        #expect(Version.isValid("3.1.0"))
        #expect(Version.isValid("2024.05-rc1+build.7"))
        #expect(!Version.isValid("-1"))
        #expect(!Version.isValid("v 2"))
        #expect(!Version.isValid(""))
    }

    @Test("the ISO 3166-1 list has every assigned code and none of the reserved ones")
    func countries() {
        #expect(CountryCode.assigned.count == 249)
        #expect(CountryCode.isAssigned("GB") && CountryCode.isAssigned("NO") && CountryCode.isAssigned("SA"))
        #expect(!CountryCode.isAssigned("UK") && !CountryCode.isAssigned("EU") && !CountryCode.isAssigned("de"))
    }
}

@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    @Test("a string is made from bytes exactly when String(validating:) makes one, and it is the same string")
    func agreesWithTheStandardLibrary() {
        var rng = SplitMix(seed: 0x0717_F8)
        // Mostly ASCII, with lead and continuation bytes, overlong and surrogate starts mixed in.
        let special: [UInt8] = [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x9F]
        var nonASCII = 0
        for _ in 0 ..< 20_000 {
            let count = Int(rng.next() % 40)
            let bytes: [UInt8] = (0 ..< count).map { _ in
                rng.next() % 8 == 0 ? special[Int(rng.next() % UInt64(special.count))] : UInt8(rng.next() % 0x80)
            }
            let expected = String(validating: bytes, as: UTF8.self)
            let got = bytes.withUnsafeBufferPointer { UTF8Bytes.string(validating: $0) }
            #expect(got.map { Array($0.utf8) } == expected.map { Array($0.utf8) }, "\(bytes)")
            #expect(bytes.withUnsafeBufferPointer { UTF8Bytes.isASCII($0) } == bytes.allSatisfy { $0 < 0x80 })
            if bytes.contains(where: { $0 >= 0x80 }) { nonASCII += 1 }
        }
        // Both paths were taken.
        #expect(nonASCII > 5_000 && nonASCII < 19_000)
    }
}

@Suite("Desired state checks")
struct DesiredStateTests {
    let here = SourceLocation(file: "t.yaml", line: 1, column: 1)

    func meta(_ kind: Kind, _ name: String, line: Int = 1) -> ObjectMeta {
        let at = SourceLocation(file: "t.yaml", line: line, column: 1)
        return ObjectMeta(kind: kind, name: name, nameLocation: at, location: at, labels: [:])
    }

    func artifact(_ name: String, parents: [String], origin: String = "r") -> ManifestObject {
        .artifact(Artifact(meta: meta(.artifact, name), type: .weights,
                           digest: Located("sha256:" + String(repeating: "0", count: 64), at: here), sizeBytes: nil,
                           origin: Located(RegionName(origin), at: here),
                           derivedFrom: parents.map { Located(ArtifactName($0), at: here) }, fences: []))
    }

    var regionAndJurisdiction: [ManifestObject] {
        [.jurisdiction(Jurisdiction(meta: meta(.jurisdiction, "j"), description: nil, countries: [])),
         .region(Region(meta: meta(.region, "r"), provider: nil, countryCode: nil, jurisdiction: Located(JurisdictionName("j"), at: here),
                        state: .active, replicatesTo: [], accelerators: [], adapter: .local(path: nil)))]
    }

    @Test("a cycle behind an undeclared parent: the missing parent is reported, and the loop is spelled out at the edge that closes it")
    func cycleBehindMissingParent() {
        var objects = regionAndJurisdiction
        objects.append(artifact("a", parents: ["missing", "b"]))
        objects.append(artifact("b", parents: ["c", "a"]))
        objects.append(artifact("c", parents: []))
        let diagnostics = DesiredState.build(objects).1.map { "\($0.rule.id): \($0.message)" }.sorted()
        #expect(diagnostics == [
            "artifact.lineage-cycle: Artifact 'b' closes a derivedFrom cycle: a -> b -> a",
            "ref.missing: Artifact 'a' spec.derivedFrom refers to Artifact 'missing', which does not exist",
        ])
    }

    @Test("a 100,000-long lineage chain is checked without recursion, and a cycle at its end is found")
    func deepLineage() {
        var objects = regionAndJurisdiction
        let n = 100_000
        for i in 0 ..< n {
            objects.append(artifact("a\(i)", parents: i + 1 < n ? ["a\(i + 1)"] : []))
        }
        #expect(DesiredState.build(objects).1.isEmpty)
        objects[objects.count - 1] = artifact("a\(n - 1)", parents: ["a\(n - 5)"])
        let diagnostics = DesiredState.build(objects).1
        #expect(diagnostics.map(\.rule) == [.artifactLineageCycle])
    }

    @Test("a name declared twice is reported at both places and the first is kept")
    func duplicates() {
        let objects = regionAndJurisdiction + [.jurisdiction(Jurisdiction(meta: meta(.jurisdiction, "j", line: 9), description: "second", countries: []))]
        let (state, diagnostics) = DesiredState.build(objects)
        #expect(diagnostics.map(\.rule) == [.nameDuplicate, .nameDuplicate])
        #expect(Set(diagnostics.compactMap { $0.location?.line }) == [1, 9])
        #expect(state.jurisdictions[JurisdictionName("j")]?.description == nil)

        // Three declarations among other names: each later one is reported against the first,
        // which is kept; the lists stay in name order.
        let more = objects + ["m", "j", "a"].enumerated().map { i, name in
            ManifestObject.jurisdiction(Jurisdiction(meta: meta(.jurisdiction, name, line: 20 + i), description: "later \(i)", countries: []))
        }
        let (state3, diagnostics3) = DesiredState.build(more)
        #expect(diagnostics3.map(\.rule) == [.nameDuplicate, .nameDuplicate, .nameDuplicate, .nameDuplicate])
        #expect(Set(diagnostics3.compactMap { $0.location?.line }) == [1, 9, 21])
        #expect(state3.jurisdictions[JurisdictionName("j")]?.description == nil)
        #expect(state3.jurisdictionList.map(\.name.rawValue) == ["a", "j", "m"])
        #expect(state3.jurisdictions.keys.map(\.rawValue) == ["a", "j", "m"] && state3.jurisdictions.count == 3)
    }

    @Test("random declarations with repeats: the table keeps each name's first declaration, in name order, and finds it by name", arguments: 0 ..< 20)
    func tablesFromRandomDeclarations(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        let n = Int(rng.next() % 300)
        let names = (0 ..< n).map { _ in "j\(rng.next() % 120)" }
        // Artifacts among them (indexed on the other side of `both`), with repeats of their own.
        let artifactNames = (0 ..< n).map { _ in "a\(rng.next() % 90)" }
        var declared: [ManifestObject] = []
        for i in 0 ..< n {
            declared.append(.jurisdiction(Jurisdiction(meta: meta(.jurisdiction, names[i], line: i + 1), description: "\(i)", countries: [])))
            if rng.next() % 2 == 0 {
                declared.append(.artifact(Artifact(meta: meta(.artifact, artifactNames[i], line: 1_000 + i), type: .weights,
                                                   digest: Located("sha256:" + String(repeating: "0", count: 64), at: here), sizeBytes: Int64(i),
                                                   origin: Located(RegionName("r"), at: here), derivedFrom: [], fences: [])))
            }
        }
        // In files of random sizes, as a loader hands them over.
        var files: [[ManifestObject]] = []
        var rest = declared[...]
        while !rest.isEmpty {
            let k = min(rest.count, Int(rng.next() % 7))
            files.append(Array(rest.prefix(k)))
            rest = rest.dropFirst(k)
        }
        // The two sides on two threads, as the loader runs them.
        let (state, diagnostics) = DesiredState.index(files: files) { a, b in
            DispatchQueue.concurrentPerform(iterations: 2) { $0 == 0 ? a() : b() }
        }
        var first: [String: Int] = [:]
        for (i, name) in names.enumerated() where first[name] == nil { first[name] = i }
        var firstArtifact: [String: Int] = [:]
        var artifactDeclarations = 0
        for case .artifact(let a) in declared {
            artifactDeclarations += 1
            if firstArtifact[a.meta.name] == nil { firstArtifact[a.meta.name] = Int(a.sizeBytes!) }
        }
        let expectedArtifacts = firstArtifact.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(state.artifactList.map(\.name.rawValue) == expectedArtifacts)
        #expect(state.artifactList.map { Int($0.sizeBytes!) } == expectedArtifacts.map { firstArtifact[$0]! })
        let expected = first.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(state.jurisdictionList.map(\.name.rawValue) == expected)
        #expect(state.jurisdictionList.map(\.description) == expected.map { "\(first[$0]!)" })
        for (k, name) in expected.enumerated() {
            #expect(state.jurisdictions.position(of: JurisdictionName(name)) == k)
            #expect(state.jurisdictions[JurisdictionName(name)]?.description == "\(first[name]!)")
        }
        #expect(diagnostics.count == 2 * (n - first.count) + 2 * (artifactDeclarations - firstArtifact.count))
        #expect(diagnostics.filter { $0.message.hasPrefix("Artifact") }.count == 2 * (artifactDeclarations - firstArtifact.count))
        // One thread after the other gives the same tables and diagnostics.
        let serial = DesiredState.index(declared)
        #expect(serial.0.jurisdictionList == state.jurisdictionList && serial.0.artifactList == state.artifactList)
        #expect(serial.1.sorted() == diagnostics.sorted())
    }

    @Test("an earlier index lends the table of an unchanged kind, but not one that dropped a repeated name, whose duplicates are reported again")
    func lentTables() {
        let files: [[ManifestObject]] = [regionAndJurisdiction, [artifact("x", parents: []), artifact("y", parents: [])],
                                         [artifact("x", parents: ["y"])]]
        let (earlier, first) = DesiredState.index(files: files)
        #expect(first.filter { $0.rule == .nameDuplicate }.count == 2)
        let (again, second) = DesiredState.index(files: files, earlier: earlier, unchanged: .all)
        // Jurisdictions and regions are lent (the same storage); artifacts are indexed again,
        // since the earlier table holds fewer than are declared, and their duplicates reported.
        #expect(again.sharedTables(with: earlier) == [KindSet(.jurisdiction), KindSet(.region)])
        #expect(again.artifactList == earlier.artifactList && again.regionList == earlier.regionList)
        #expect(second == first)
        // Nothing vouched for: nothing lent.
        #expect(DesiredState.index(files: files, earlier: earlier).0.sharedTables(with: earlier).isEmpty)
    }

    @Test("the same name in two kinds is no conflict")
    func kindsAreNamespaces() {
        let objects = regionAndJurisdiction + [.jurisdiction(Jurisdiction(meta: meta(.jurisdiction, "r"), description: nil, countries: []))]
        #expect(DesiredState.build(objects).1.isEmpty)
    }

    @Test("dangling references are reported with the kind and name they miss")
    func dangling() {
        let objects = regionAndJurisdiction + [artifact("a", parents: ["ghost"], origin: "nowhere")]
        let messages = DesiredState.build(objects).1.map(\.message)
        #expect(messages.contains { $0.contains("Region 'nowhere'") })
        #expect(messages.contains { $0.contains("Artifact 'ghost'") })
    }
}

@Suite("Traffic weights")
struct TrafficWeightTests {
    @Test("integer weights sum to 100, stay within one of the exact share, and do not depend on order", arguments: 0 ..< 50)
    func weights(seed: Int) {
        var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % n
        }
        let regions = (0 ..< 1 + next(7)).map { RegionName("r\($0)") }
        let pairs = regions.map { ($0, 1 + next(400)) }
        let forward = Dictionary(uniqueKeysWithValues: pairs)
        let backward = Dictionary(uniqueKeysWithValues: pairs.reversed())
        let w = Planner.weights(forward)
        #expect(w == Planner.weights(backward))
        #expect(w.values.reduce(0, +) == 100)
        let total = pairs.reduce(0) { $0 + $1.1 }
        for (r, share) in pairs {
            let exact = Double(share) * 100 / Double(total)
            #expect(abs(Double(w[r]!) - exact) < 1, "\(r): \(w[r]!) vs \(exact)")
        }
    }

    @Test("three equal shares give 34/33/33, the spare point going to the first region by name")
    func ties() {
        #expect(Planner.weights([RegionName("b"): 1, RegionName("a"): 1, RegionName("c"): 1]) ==
                [RegionName("a"): 34, RegionName("b"): 33, RegionName("c"): 33])
        #expect(Planner.weights([:]).isEmpty)
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test("any split of a message into updates (arrays, strings, other sequences) gives the digest of the whole (300 messages up to 300 bytes)")
    func pieces() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0 ..< 300 {
            let message = (0 ..< Int.random(in: 0 ... 300, using: &rng)).map { _ in UInt8.random(in: 0x20 ... 0x7E, using: &rng) }
            var h = SHA256()
            var i = 0
            while i < message.count {
                let piece = Array(message[i ..< min(message.count, i + Int.random(in: 0 ... 130, using: &rng))])
                switch Int.random(in: 0 ..< 3, using: &rng) {
                case 0: h.update(bytes: piece)
                case 1: h.update(String(decoding: piece, as: UTF8.self))
                default: h.update(piece.lazy.map { $0 })  // no contiguous storage: byte by byte
                }
                i += piece.count
            }
            // One byte at a time, the plainest way there is.
            var one = SHA256()
            for b in message { one.update(CollectionOfOne(b).lazy.map { $0 }) }
            #expect(h.finalize() == one.finalize() && SHA256.hex(message) == SHA256.hex(message.lazy.map { $0 }), "\(message.count) bytes")
        }
    }

    @Test("FIPS 180-4 test vectors, whole and in pieces")
    func vectors() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var pieces = SHA256()
        pieces.update(bytes: Array(long[0 ..< 7]))
        pieces.update(bytes: Array(long[7...]))
        #expect(pieces.finalize() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        var big = SHA256()
        big.update(bytes: million)
        #expect(big.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// A small seeded generator, so a failing case can be replayed from its seed.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
