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
}
