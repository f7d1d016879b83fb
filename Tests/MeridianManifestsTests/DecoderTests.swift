import Foundation
import MeridianCore
@testable import MeridianManifests
import Testing

@Suite("Manifest decoding")
struct DecoderTests {
    @Test("a full region decodes every field with its location")
    func regionFields() throws {
        let result = load(validHeader + """
        ---
        apiVersion: meridian/v1
        kind: Region
        metadata:
          name: eu-central
          labels: {tier: gpu}
        spec:
          provider: aws
          location: DE
          jurisdiction: eu
          state: isolated
          replicatesTo: [eu-west]
          capacity:
            accelerators:
              - {type: h100, count: 64}
          adapter: {type: http, url: "https://a.example:8443", tokenEnv: TOKEN}
        """)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let region = try #require(result.validState?.regions[RegionName("eu-central")])
        #expect(region.state == .isolated)
        #expect(region.countryCode?.value == "DE")
        #expect(region.jurisdiction.value == JurisdictionName("eu"))
        #expect(region.jurisdiction.location == SourceLocation(file: "t.yaml", line: 19, column: 17))
        #expect(region.replicatesTo.map(\.value) == [RegionName("eu-west")])
        #expect(region.accelerators.map(\.count) == [64])
        #expect(region.adapter == .http(url: "https://a.example:8443", tokenEnv: "TOKEN"))
        #expect(region.meta.labels == ["tier": "gpu"])
    }

    @Test("defaults: state active, local adapter, warm standby, minReplicas 1, priority 0")
    func defaults() throws {
        let result = load(validHeader + """
        ---
        apiVersion: meridian/v1
        kind: Region
        metadata: {name: eu-central}
        spec: {jurisdiction: eu}
        ---
        apiVersion: meridian/v1
        kind: Artifact
        metadata: {name: w}
        spec: {type: weights, digest: "sha256:\(String(repeating: "0", count: 64))", origin: eu-west}
        ---
        apiVersion: meridian/v1
        kind: Model
        metadata: {name: m}
        spec: {version: "1", artifacts: [w]}
        ---
        apiVersion: meridian/v1
        kind: Topology
        metadata: {name: t}
        spec: {mode: active-passive, regions: [{name: eu-west}, {name: eu-central}]}
        ---
        apiVersion: meridian/v1
        kind: Placement
        metadata: {name: p}
        spec: {model: m, topology: t, replicas: 2}
        """)
        let state = try #require(result.validState, "\(result.diagnostics)")
        let region = try #require(state.regions[RegionName("eu-central")])
        #expect(region.state == .active)
        #expect(region.adapter == .local(path: nil))
        #expect(state.topologies[TopologyName("t")]?.standby == .warm)
        #expect(state.placements[PlacementName("p")]?.minReplicas == 1)
        #expect(state.placements[PlacementName("p")]?.priority == 0)
        #expect(state.models[ModelName("m")]?.accelerator == nil)
    }

    @Test("every problem of a document is reported in one run, not just the first")
    func collectsAll() {
        let result = load("""
        apiVersion: meridian/v1
        kind: Region
        metadata:
          name: Bad_Name
        spec:
          provder: aws
          location: XX
          jurisdiction: eu
          state: on
          capacity: {accelerators: [{type: h100, count: many}]}
        """)
        #expect(Set(rules(result.diagnostics)).isSuperset(of: ["name.invalid", "schema.unknown-field", "schema.format", "schema.enum", "schema.type"]))
        #expect(result.diagnostics.count >= 5)
    }

    @Test("a merge key cannot smuggle an unknown field or a second jurisdiction past the checks")
    func mergeStillStrict() {
        let result = load(validHeader + """
        ---
        apiVersion: meridian/v1
        kind: Region
        metadata: {name: eu-central}
        spec:
          <<: {jurisdiction: us, secret: 1}
          jurisdiction: eu
        """)
        // The explicit jurisdiction wins; the merged unknown field is still refused.
        #expect(rules(result.diagnostics) == ["schema.unknown-field"])
        #expect(result.diagnostics.first?.location?.line == 15)
    }

    @Test("identical label maps of one load are kept once; maps that differ in any byte stay apart, exactly as written")
    func labelsInterned() throws {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        let sets = ["{team: a, tier: gpu}", "{tier: gpu, team: a}", "{team: b, tier: gpu}", "{team: \(nfc)}", "{team: \(nfd)}"]
        let files = (0 ..< 40).map { i in
            ManifestFile(path: String(format: "m/%03d.yaml", i),
                         bytes: Array("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j\(i), labels: \(sets[i % sets.count])}\n".utf8))
        }
        let interner = LabelInterner()
        let parsed = files.map { ManifestLoader.parse($0, labels: interner) }
        // The first two sets are the same map written in another order.
        #expect(interner.count == 4)
        let labels = parsed.flatMap(\.objects).map { object -> [String: String] in
            guard case .jurisdiction(let j) = object else { return [:] }
            return j.meta.labels
        }
        #expect(labels.count == 40)
        for (i, map) in labels.enumerated() {
            switch i % sets.count {
            case 0, 1: #expect(map == ["team": "a", "tier": "gpu"])
            case 2: #expect(map == ["team": "b", "tier": "gpu"])
            case 3: #expect(map["team"].map { Array($0.utf8) } == Array(nfc.utf8))
            default: #expect(map["team"].map { Array($0.utf8) } == Array(nfd.utf8))
            }
        }
        // Label maps that are wrong are still reported when shared: an empty key, a number, a list.
        for (bad, rule) in [("{\"\": x}", "schema.empty"), ("{tier: 1}", "schema.type"), ("{tier: [a]}", "schema.type")] {
            let file = ManifestFile(path: "bad.yaml", bytes: Array("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j, labels: \(bad)}\n".utf8))
            #expect(rules(ManifestLoader.parse(file, labels: interner).diagnostics) == [rule], "\(bad)")
        }
        // A whole load gives the same labels with or without sharing.
        let loaded = ManifestLoader.load(files)
        #expect(loaded.state.jurisdictionList.map { $0.meta.labels["team"].map { Array($0.utf8) } }
            == (0 ..< 40).sorted { "j\($0)".utf8.lexicographicallyPrecedes("j\($1)".utf8) }.map { labels[$0]["team"].map { Array($0.utf8) } })
    }

    @Test("a snapshot's equal digests are held once; digests that differ in any byte stay apart, exactly as written")
    func snapshotDigestsShared() throws {
        let nfc = "sha256:caf\u{E9}", nfd = "sha256:cafe\u{301}"
        let long = "sha256:" + String(repeating: "ab", count: 32)
        let json = """
            {"formatVersion": 1, "regions": {
              "r1": {"artifacts": {"a": {"digest": "\(long)"}, "b": {"digest": "\(nfc)"}}},
              "r2": {"artifacts": {"a": {"digest": "\(long)"}, "b": {"digest": "\(nfd)"}, "c": {"digest": "\(long)"}}}
            }}
            """
        let state = try ObservedSnapshot.decode(Array(json.utf8), source: "s.json")
        func digest(_ r: String, _ a: String) -> String? { state.regions[r]?.artifacts[a]?.digest }
        func storage(_ s: String?) -> UnsafePointer<UInt8>? {
            var s = s
            return s?.withUTF8 { $0.baseAddress }
        }
        #expect([digest("r1", "a"), digest("r2", "a"), digest("r2", "c")] == [long, long, long])
        // One string: the three copies' bytes are at one address.
        #expect(storage(digest("r1", "a")) != nil)
        #expect(storage(digest("r1", "a")) == storage(digest("r2", "a")))
        #expect(storage(digest("r1", "a")) == storage(digest("r2", "c")))
        // Canonically equivalent, but not the same bytes: each as written.
        #expect(digest("r1", "b").map { Array($0.utf8) } == Array(nfc.utf8))
        #expect(digest("r2", "b").map { Array($0.utf8) } == Array(nfd.utf8))
    }

    @Test("digests are shared as they are read, however many, and written with or without escapes")
    func snapshotDigestsSharedWhileRead() throws {
        // 300 distinct digests (the decoder's table grows several times), each reported by three
        // regions: in r0 as written plainly, in r1 with its first letter escaped, in r2 plainly
        // again. A few are not ASCII; neighbours differ only in their last characters.
        let digests = (0 ..< 300).map { k in
            "sha256:" + String(repeating: "0", count: 60) + String(format: "%04x", k) + (k % 50 == 7 ? "\u{E9}" : "")
        }
        func escaped(_ d: String) -> String { "\\u0073" + d.dropFirst() }
        func region(_ k: Int) -> String {
            let entries = digests.indices.map { i in "\"a\(i)\": {\"digest\": \"\(k == 1 ? escaped(digests[i]) : digests[i])\"}" }
            return "\"r\(k)\": {\"artifacts\": {\(entries.joined(separator: ", "))}}"
        }
        let json = "{\"formatVersion\": 1, \"regions\": {\((0 ..< 3).map(region).joined(separator: ", "))}}"
        let state = try ObservedSnapshot.decode(Array(json.utf8), source: "s.json")
        func storage(_ r: Int, _ i: Int) -> UnsafePointer<UInt8>? {
            var s = state.regions["r\(r)"]?.artifacts["a\(i)"]?.digest
            return s?.withUTF8 { $0.baseAddress }
        }
        for (i, d) in digests.enumerated() {
            for r in 0 ..< 3 {
                #expect((state.regions["r\(r)"]?.artifacts["a\(i)"]?.digest).map { Array($0.utf8) } == Array(d.utf8), "r\(r) a\(i)")
            }
            #expect(storage(0, i) != nil)
            #expect(storage(0, i) == storage(1, i), "a\(i): escaped")
            #expect(storage(0, i) == storage(2, i), "a\(i)")
        }
        // Distinct digests are distinct strings.
        #expect(Set(digests.indices.map { storage(0, $0) }).count == digests.count)
    }

    @Test("a name listed twice is reported at each repeat, pointing at its first listing, in short and long lists alike")
    func repeatedNames() throws {
        func parents(_ names: [String]) -> [(line: Int, message: String)] {
            let declared = Set(names).sorted().map {
                "---\napiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: \($0)}\nspec: {type: weights, digest: \"sha256:\(String(repeating: "a", count: 64))\", origin: eu-west}\n"
            }.joined()
            let child = "---\napiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: child}\nspec:\n  type: adapter\n  digest: \"sha256:\(String(repeating: "b", count: 64))\"\n  origin: eu-west\n  derivedFrom:\n" + names.map { "  - \($0)\n" }.joined()
            let result = load(validHeader + declared + child)
            return result.diagnostics.filter { $0.rule.id == "schema.unique" }.map { ($0.location?.line ?? 0, $0.message) }
        }
        // The child's list starts 10 lines after its document's first line.
        let header = validHeader.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        for count in [3, 20] {
            var names = (0 ..< count).map { "p\($0)" }
            names += ["p1", "p0", "p1"]
            let declaredLines = count * 5
            let first = header + declaredLines + 10
            let found = parents(names)
            #expect(found.map(\.line) == [first + count, first + count + 1, first + count + 2], "\(count)")
            #expect(found.map(\.message) == [
                "Artifact 'child' lists 'p1' twice in spec.derivedFrom (first at \(first + 1):5)",
                "Artifact 'child' lists 'p0' twice in spec.derivedFrom (first at \(first):5)",
                "Artifact 'child' lists 'p1' twice in spec.derivedFrom (first at \(first + 1):5)",
            ], "\(count)")
        }
    }

    @Test("snapshots read as JSONDecoder reads them: random snapshots, spacing, nulls and unknown fields at every level")
    func snapshotsAgreeWithFoundation() throws {
        var seed: UInt64 = 11
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        func text() -> String {
            let pieces = ["r", "-1", "\u{E9}", "e\u{301}", "\"", "\\", "\n", "/", "\u{1F600}", " "]
            return (0 ..< Int(next() % 5)).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined()
        }
        func int() -> Int { next() % 5 == 0 ? Int.max - Int(next() % 3) : Int(next() % 100_000) - 50_000 }
        for _ in 0 ..< 200 {
            var state = ObservedState()
            for _ in 0 ..< Int(next() % 5) {
                var o = RegionObservation(reachable: next() % 2 == 0, generation: int(), jurisdiction: next() % 2 == 0 ? text() : nil)
                if next() % 2 == 0 { o.capacity = [text(): AcceleratorCapacity(total: int(), free: int())] }
                for _ in 0 ..< Int(next() % 4) { o.artifacts[text()] = ObservedArtifact(digest: text()) }
                for _ in 0 ..< Int(next() % 3) { o.deployments[text()] = ObservedDeployment(model: text(), version: text(), replicas: int(), ready: int()) }
                for _ in 0 ..< Int(next() % 3) { o.traffic[text()] = int() }
                state.regions[text()] = o
            }
            let written = Array(ObservedSnapshot.encode(state).utf8)
            #expect(try ObservedSnapshot.decode(written, source: "s.json") == state)
            #expect(try JSONDecoder().decode(ObservedState.self, from: Data(written)) == state)
        }
        let texts = [
            #" { "regions" : { } , "formatVersion" : 1 } "#,
            #"{"formatVersion": 1, "comment": {"deep": [1, {"x": null}]}, "regions": {"r": {}}}"#,
            #"{"formatVersion": 1.0, "regions": {"r": {"generation": 17.0, "capacity": {"h100": {"total": 8e0, "free": 2}}}}}"#,
            #"{"formatVersion": 1, "regions": {"r": {"reachable": null, "generation": null, "jurisdiction": null, "capacity": null, "artifacts": null, "deployments": null, "traffic": null, "x": 1}}}"#,
            #"{"formatVersion": 1, "regions": {"r": {"capacity": {"h100": {"total": 8, "free": 2, "unit": "gpu"}}, "artifacts": {"a": {"digest": "sha256:é", "size": 1.5}}, "deployments": {"p": {"model": "m", "version": "1", "replicas": 2, "ready": 1, "since": null}}, "traffic": {"p": 100}}}}"#,
        ]
        for text in texts {
            let foundation = try JSONDecoder().decode(ObservedState.self, from: Data(text.utf8))
            #expect(try ObservedSnapshot.decode(Array(text.utf8), source: "s.json") == foundation, "\(text)")
        }
    }

    @Test("a bad snapshot is refused with a message naming the file and the field, or saying the JSON is not valid")
    func snapshotErrors() {
        let cases: [(String, String)] = [
            (#"{"formatVersion": 1, "regions": {"r": {"generation": "7"}}}"#, "s.json: regions.r.generation must be an integer, not a string"),
            (#"{"formatVersion": 1, "regions": {"r": {"generation": 7.5}}}"#, "s.json: regions.r.generation must be an integer, not a number with a fraction"),
            (#"{"formatVersion": 1, "regions": {"r": {"generation": 1e20}}}"#, "s.json: regions.r.generation must be an integer between -9e15 and 9e15"),
            (#"{"formatVersion": 1, "regions": {"r": {"generation": 99999999999999999999}}}"#, "s.json: regions.r.generation must be an integer between -9e15 and 9e15"),
            (#"{"formatVersion": 1, "regions": {"r": {"reachable": "yes"}}}"#, "s.json: regions.r.reachable must be a boolean, not a string"),
            (#"{"formatVersion": 1, "regions": {"r": {"artifacts": {"a": {}}}}}"#, "s.json: regions.r.artifacts.a.digest: missing"),
            (#"{"formatVersion": 1, "regions": {"r": {"artifacts": []}}}"#, "s.json: regions.r.artifacts must be an object, not an array"),
            (#"{"formatVersion": 1, "regions": {"r": {"deployments": {"p": {"model": "m", "version": "1", "replicas": 1}}}}}"#, "s.json: regions.r.deployments.p.ready: missing"),
            (#"{"formatVersion": 1, "regions": {"r": {"capacity": {"h100": {"total": 1, "free": null}}}}}"#, "s.json: regions.r.capacity.h100.free: missing"),
            (#"{"formatVersion": 1, "regions": {"r": {"traffic": {"p": true}}}}"#, "s.json: regions.r.traffic.p must be an integer, not a boolean"),
            (#"{"formatVersion": 1, "regions": {"r": []}}"#, "s.json: regions.r must be an object, not an array"),
            (#"{"formatVersion": 1, "regions": {"r": {"artifacts": {"a": "x"}}}}"#, "s.json: regions.r.artifacts.a must be an object, not a string"),
            (#"{"formatVersion": 1, "regions": {"r": {"artifacts": {"a": {"digest": 7}}}}}"#, "s.json: regions.r.artifacts.a.digest must be a string, not a number"),
            (#"{"formatVersion": 1, "regions": {"r": {"deployments": {"p": {"model": "m", "version": "1", "replicas": "2", "ready": 1}}}}}"#,
             "s.json: regions.r.deployments.p.replicas must be an integer, not a string"),
            (#"{"formatVersion": 1, "regions": {"r": {"capacity": {"h100": 3}}}}"#, "s.json: regions.r.capacity.h100 must be an object, not a number"),
            (#"{"formatVersion": 1, "regions": {"": {"capacity": {"": {"total": 1}}}}}"#, "s.json: regions..capacity..free: missing"),
            (#"{"formatVersion": 1}"#, "s.json: regions: missing"),
            (#"{"regions": {}}"#, "s.json: formatVersion: missing"),
            (#"{"formatVersion": 2, "regions": {}}"#, "s.json: formatVersion 2 is not supported"),
            (#"[]"#, "s.json: the value must be an object, not an array"),
            (#"{"formatVersion": 1, "regions": {"r": {}, "r": {}}}"#, "s.json: the key 'r' appears twice in one object"),
            (#"{"formatVersion": 1, "formatVersion": 1, "regions": {}}"#, "s.json: the key 'formatVersion' appears twice in one object"),
            (#"{"formatVersion": 1, "regions": {"r": {"x": 1, "x": 2}}}"#, "s.json: the key 'x' appears twice in one object"),
            (#"{"formatVersion": 1, "regions": {"#, "s.json: not valid JSON: unexpected end of JSON"),
            (#"{"formatVersion": 1, "regions": {}} {}"#, "s.json: not valid JSON: unexpected text after the JSON value"),
            (#"{"formatVersion": 1, "regions": {"r": {"jurisdiction": "eu}}}"#, "s.json: not valid JSON: a string that does not end"),
            (#"{"formatVersion": 1, "regions": {}, "x": "#, "s.json: not valid JSON: unexpected end of JSON"),
            (#"{"formatVersion": 1, "regions": {}, "x": "# + String(repeating: "[", count: 100_000), "s.json: not valid JSON: JSON nested deeper than 64"),
        ]
        for (text, expected) in cases {
            do {
                _ = try ObservedSnapshot.decode(Array(text.utf8), source: "s.json")
                Issue.record("accepted: \(text.prefix(80))")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(text.prefix(80)) -> \(error.description)")
            }
        }
    }

    @Test("files are parsed in parallel with the same outcome as one by one, every time")
    func parallelParsing() {
        let files = (0 ..< 300).map { i in
            ManifestFile(path: String(format: "m/%03d.yaml", i),
                         bytes: Array((i % 7 == 0 ? "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: J\(i)}\n"
                                                  : "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j\(i)}\n").utf8))
        }
        let sequential = files.flatMap { ManifestLoader.parse($0).diagnostics }
        let first = ManifestLoader.load(files)
        #expect(first.diagnostics == sequential)
        #expect(first.state.jurisdictions.count == 300 - 43)
        for _ in 0 ..< 3 { #expect(ManifestLoader.load(files).diagnostics == first.diagnostics) }
    }

    @Test("a parse error in one file invalidates the whole revision")
    func partialReadIsNothing() {
        let good = ManifestFile(path: "a.yaml", bytes: Array(validHeader.utf8))
        let bad = ManifestFile(path: "b.yaml", bytes: Array("a: [".utf8))
        let result = ManifestLoader.load([good, bad])
        #expect(result.validState == nil)
        #expect(result.state.regions.count == 1)
    }

    @Test("diagnostics print as path:line:col: error: [rule] message, sorted by place")
    func format() {
        let result = load("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: EU}\nspec: {countries: [XX]}\n", file: "m/j.yaml")
        #expect(result.diagnostics.map(\.description) == [
            "m/j.yaml:3:18: error: [name.invalid] metadata.name 'EU' is not a DNS label (lowercase a-z, 0-9 and '-', 1 to 63 characters, starting and ending with a letter or digit)",
            "m/j.yaml:4:20: error: [schema.format] countries entry 'XX' is not an ISO 3166-1 alpha-2 country code",
        ])
    }

    @Test("integers: bounds, 64-bit overflow, and an integral float counts as an integer (as in JSON Schema)")
    func integers() {
        func placement(_ replicas: String) -> [String] {
            rules(load("""
            apiVersion: meridian/v1
            kind: Placement
            metadata: {name: p}
            spec: {model: m, topology: t, replicas: \(replicas)}
            """).diagnostics.filter { $0.rule != .refMissing })
        }
        #expect(placement("3") == [])
        #expect(placement("3.0") == [])
        #expect(placement("3.5") == ["schema.type"])
        #expect(placement("0") == ["schema.range"])
        #expect(placement("18446744073709551616") == ["schema.range"])
        #expect(placement("'3'") == ["schema.type"])
    }
}

@Suite("Directory source")
struct DirectorySourceTests {
    @Test("a source's digest is the SHA-256 of each file's path, a zero byte, then `blob <id>` for a file read from git or its length (4 bytes, big-endian) and bytes for a file read from a directory, and a zero byte: the same however many files, of either kind (saved plans compare it)")
    func digestFormat() {
        var rng = SplitMix64(seed: 7)
        for count in [0, 1, 2, 60, 700] {
            var files: [ManifestFile] = []
            var stream: [UInt8] = []
            for i in 0 ..< count {
                let path = "fleet/\(i)-" + String(repeating: "p", count: Int(rng.next() % 40)) + ".yaml"
                stream += Array(path.utf8) + [0]
                if rng.next() % 3 == 0 {
                    let bytes = (0 ..< Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    files.append(ManifestFile(path: path, bytes: bytes))
                    let n = bytes.count
                    stream += [UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
                } else {
                    let blob = String(repeating: String(rng.next() % 16, radix: 16), count: 40)
                    files.append(ManifestFile(path: path, bytes: [], blobID: blob))
                    stream += Array("blob \(blob)".utf8)
                }
                stream.append(0)
            }
            #expect(ManifestLoader.digest(of: files) == "sha256:" + SHA256.hex(stream), "\(count) files")
        }
        #expect(ManifestLoader.digest(of: []) == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("reads *.yaml and *.yml recursively in byte-wise path order and ignores other files")
    func walk() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("b/c"), withIntermediateDirectories: true)
        try Data("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j1}\n".utf8).write(to: dir.appendingPathComponent("b/c/z.yml"))
        try Data("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j2}\n".utf8).write(to: dir.appendingPathComponent("B.yaml"))
        try Data("not: [yaml".utf8).write(to: dir.appendingPathComponent("README.md"))
        try Data("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j1}\n".utf8).write(to: dir.appendingPathComponent("a.yaml"))
        let (files, diagnostics) = try DirectorySource(root: dir.path).read()
        #expect(diagnostics.isEmpty)
        #expect(files.map { String($0.path.dropFirst(dir.path.count + 1)) } == ["B.yaml", "a.yaml", "b/c/z.yml"])
        // The duplicate is reported at both places, each naming the other file.
        let result = ManifestLoader.load(files)
        #expect(rules(result.diagnostics) == ["name.duplicate", "name.duplicate"])
        #expect(Set(result.diagnostics.compactMap(\.path)) == [dir.path + "/a.yaml", dir.path + "/b/c/z.yml"])
    }

    @Test("a file over the size bound is refused without being read")
    func sizeBound() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(repeating: 0x20, count: 4096).write(to: dir.appendingPathComponent("big.yaml"))
        var source = DirectorySource(root: dir.path)
        source.maxFileBytes = 1024
        let result = try source.load()
        #expect(rules(result.diagnostics) == ["yaml.size"])
        #expect(!result.isValid)
    }

    @Test("the content digest a plan records: only on request, stable, and sensitive to every byte and name")
    func digest() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(validHeader.utf8).write(to: dir.appendingPathComponent("a.yaml"))
        let source = DirectorySource(root: dir.path)
        #expect(try source.load().digest == "")
        let first = try source.load(digest: true).digest
        #expect(first.hasPrefix("sha256:") && first.count == 71)
        #expect(try source.load(digest: true).digest == first)
        try Data((validHeader + " ").utf8).write(to: dir.appendingPathComponent("a.yaml"))
        let changed = try source.load(digest: true).digest
        #expect(changed != first)
        try FileManager.default.moveItem(at: dir.appendingPathComponent("a.yaml"), to: dir.appendingPathComponent("b.yaml"))
        #expect(try source.load(digest: true).digest != changed)
    }

    @Test("a missing root is an environment error, not an empty fleet")
    func missingRoot() {
        #expect(throws: DirectorySource.Error.self) { try DirectorySource(root: "/nonexistent/meridian").load() }
    }

    @Test("a symlinked directory is not followed (no loops)")
    func symlinkLoop() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("loop").path, withDestinationPath: dir.path)
        let (files, diagnostics) = try DirectorySource(root: dir.path).read()
        #expect(files.isEmpty)
        #expect(rules(diagnostics) == ["source.path"])
    }

    @Test("a symbolic link is read only when it leads to a regular file inside the root; one that leads out of it, to a FIFO or device, or to nothing is refused unread, as is a FIFO named like a manifest")
    func symlinkContainment() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let outside = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: outside) }
        let secret = "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: secret}\nspec: {}\n"
        try Data(secret.utf8).write(to: outside.appendingPathComponent("secret.yaml"))
        try Data(validHeader.utf8).write(to: dir.appendingPathComponent("a.yaml"))
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        func link(_ name: String, _ target: String) throws {
            try fm.createSymbolicLink(atPath: dir.appendingPathComponent(name).path, withDestinationPath: target)
        }
        try link("sub/inside.yml", "../a.yaml")
        try link("out.yaml", outside.appendingPathComponent("secret.yaml").path)
        try link("sub/dotdot.yaml", "../../" + outside.lastPathComponent + "/secret.yaml")
        try link("zero.yaml", "/dev/zero")
        try link("gone.yaml", dir.appendingPathComponent("nothing.yaml").path)
        #expect(mkfifo(dir.appendingPathComponent("pipe.yaml").path, 0o600) == 0)
        try link("topipe.yaml", "pipe.yaml")
        // A link with another name is not a manifest, wherever it leads.
        try link("notes.txt", "/etc/passwd")

        let (files, diagnostics) = try DirectorySource(root: dir.path).read()
        #expect(files.map { String($0.path.dropFirst(dir.path.count + 1)) } == ["a.yaml", "sub/inside.yml"])
        let said = Dictionary(uniqueKeysWithValues: diagnostics.map { (String(($0.path ?? $0.location?.file ?? "").dropFirst(dir.path.count + 1)), $0.message) })
        #expect(diagnostics.allSatisfy { $0.rule == .sourcePath }, "\(diagnostics)")
        #expect(said["out.yaml"]?.hasPrefix("symbolic link leads outside the manifest root (to ") == true, "\(said)")
        #expect(said["sub/dotdot.yaml"]?.hasPrefix("symbolic link leads outside the manifest root") == true, "\(said)")
        #expect(said["zero.yaml"] == "symbolic link leads outside the manifest root (to /dev/zero); not followed")
        #expect(said["gone.yaml"] == "symbolic link leads to nothing; not read")
        #expect(said["topipe.yaml"]?.hasPrefix("symbolic link leads to something that is not a regular file") == true, "\(said)")
        #expect(said["pipe.yaml"]?.hasPrefix("not a regular file") == true, "\(said)")
        #expect(said.count == 6, "\(said)")
        // Nothing of the file outside was read, so nothing of it can be quoted.
        let loaded = try DirectorySource(root: dir.path).load()
        #expect(!loaded.diagnostics.contains { $0.message.contains("name: secret") || $0.message.contains("'secret'") }, "\(loaded.diagnostics)")
        #expect(loaded.diagnostics.filter { $0.rule == .sourcePath }.count == 6, "\(loaded.diagnostics)")
        #expect(loaded.state.jurisdictions[JurisdictionName("secret")] == nil)
        // A root that is itself a link: links inside it that stay inside are still read.
        let viaLink = outside.appendingPathComponent("root-link")
        try fm.createSymbolicLink(atPath: viaLink.path, withDestinationPath: dir.path)
        #expect(try DirectorySource(root: viaLink.path).read().0.count == 2)
    }
}
