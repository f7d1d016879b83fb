import Foundation
import MeridianCore
@testable import MeridianManifests
import Testing

/// The fast path (`StreamDecoder`) against the full path (`YAMLComposer` + `ManifestDecoder`):
/// wherever the fast path returns objects, they must be the full path's, byte for byte and
/// location for location, and the full path must report nothing.
@Suite("Decoding from events (the fast path)")
struct StreamDecoderTests {
    /// The fast path's objects for `bytes`, checked against the full path's; nil when it declined.
    @discardableResult
    static func agree(_ bytes: [UInt8], file: String = "t.yaml", sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [ManifestObject]? {
        let full = ManifestLoader.parseInFull(ManifestFile(path: file, bytes: bytes), labels: LabelInterner())
        guard let fast = StreamDecoder.decode(bytes, file: file, limits: YAMLLimits(), labels: LabelInterner()) else { return nil }
        #expect(full.diagnostics.isEmpty, "the fast path took a file the full path reports: \(full.diagnostics.prefix(3))", sourceLocation: sourceLocation)
        #expect(fast == full.objects, "the fast path's objects differ from the full path's", sourceLocation: sourceLocation)
        // `==` on strings is Unicode equivalence; the names must be the same bytes.
        #expect(fast.map { Array($0.meta.name.utf8) } == full.objects.map { Array($0.meta.name.utf8) }, sourceLocation: sourceLocation)
        // And with no interner, as a caller without one has it.
        let plain = StreamDecoder.decode(bytes, file: file, limits: YAMLLimits(), labels: nil)
        #expect(plain == ManifestLoader.parseInFull(ManifestFile(path: file, bytes: bytes)).objects, sourceLocation: sourceLocation)
        return fast
    }

    /// Every kind the fast path reads, in block and flow styles, with the forms it must take as
    /// they are (quoted keys, empty maps, `+` integers, an empty and a null document). Also a
    /// seed of the `manifests` fuzz target.
    static let everyKind = (try? String(contentsOf: Paths.root.appendingPathComponent("Fuzz/seeds/manifests-every-kind.yaml"), encoding: .utf8)) ?? ""

    @Test("every kind it reads, in block and flow styles, is read as the full path reads it")
    func everyKindAgrees() throws {
        let objects = try #require(Self.agree(Array(Self.everyKind.utf8)), "the fast path declined a plain file")
        #expect(objects.count == 13)
        #expect(objects.map(\.kind) == [.jurisdiction, .jurisdiction, .region, .region, .residencyFence, .artifact, .artifact,
                                        .model, .model, .topology, .topology, .placement, .placement])
        // A spot check that the agreement is not of two empty readings.
        guard case .region(let region) = objects[2] else { Issue.record("not a region"); return }
        #expect(region.meta.labels == ["tier": "gpu", "quoted key": "single quoted"])
        #expect(region.accelerators.map(\.count) == [64, 0])
        #expect(region.jurisdiction.location == SourceLocation(file: "t.yaml", line: 21, column: 17))
        guard case .artifact(let artifact) = objects[5] else { Issue.record("not an artifact"); return }
        #expect(artifact.sizeBytes == 14_000_000_000)
    }

    @Test("the fast path reads the example fleet and the valid fixtures, and agrees wherever it reads")
    func examplesAgree() throws {
        var read = 0, declined = 0
        for root in [Paths.manifests, Paths.validFixtures, Paths.invalidFixtures] {
            let files = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter(ManifestLoader.isManifestPath).sorted()
            #expect(!files.isEmpty)
            for path in files {
                let bytes = try [UInt8](Data(contentsOf: root.appendingPathComponent(path)))
                if Self.agree(bytes, file: path) != nil { read += 1 } else { declined += 1 }
            }
        }
        // Most example files are plain; a file with an adapter, an alias, a selector or an
        // error is the full path's.
        #expect(read >= 10, "read \(read), declined \(declined)")
        #expect(declined >= 1)
    }

    /// One Placement, with `spec` replaced.
    static func placement(_ spec: String) -> String {
        "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p}\nspec: \(spec)\n"
    }

    @Test("it declines what the full path must report or has rules of its own for", arguments: [
        // Errors.
        placement("{model: m, topology: t, replicas: 0}"),
        placement("{model: m, topology: t, replicas: \"4\"}"),
        placement("{model: m, topology: t, replicas: 4, replicas: 5}"),
        placement("{model: m, topology: t, replicas: 4, extra: 1}"),
        placement("{model: m, topology: t}"),
        placement("{model: M, topology: t, replicas: 4}"),
        placement("{model: m, topology: t, replicas: 99999999999999999999}"),
        "apiVersion: meridian/v2\nkind: Placement\nmetadata: {name: p}\nspec: {model: m, topology: t, replicas: 4}\n",
        "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p, labels: {a: x, a: y}}\nspec: {model: m, topology: t, replicas: 4}\n",
        "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p, labels: {\"\": x}}\nspec: {model: m, topology: t, replicas: 4}\n",
        "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p, annotations: {a: 1}}\nspec: {model: m, topology: t, replicas: 4}\n",
        "apiVersion: meridian/v1\nkind: Topology\nmetadata: {name: t}\nspec: {mode: active-active, regions: [{name: r}], standby: warm}\n",
        "apiVersion: meridian/v1\nkind: Topology\nmetadata: {name: t}\nspec: {mode: active-active, regions: []}\n",
        "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j}\nspec: {countries: [XX]}\n",
        "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j}\nspec:\n",
        "- a list\n",
        "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p}\nspec: {model: m, topology: t, replicas: 4\n",
        // Correct, but in a form it leaves to the full path.
        placement("{model: m, topology: t, replicas: 4.0}"),
        placement("&a {model: m, topology: t, replicas: 4}"),
        placement("!!map {model: m, topology: t, replicas: 4}"),
        placement("{model: !!str m, topology: t, replicas: 4}"),
        placement("{<<: {model: m}, topology: t, replicas: 4}"),
        "apiVersion: meridian/v1\nkind: Placement\nspec: {model: m, topology: t, replicas: 4}\nmetadata: {name: p}\n",
        "apiVersion: meridian/v1\nkind: Region\nmetadata: {name: r}\nspec: {jurisdiction: j, adapter: {type: local}}\n",
        "apiVersion: meridian/v1\nkind: ResidencyFence\nmetadata: {name: f}\nspec: {allow: [j], selector: {matchLabels: {a: b}}}\n",
        "apiVersion: meridian/v1\nkind: Guardrail\nmetadata: {name: g}\nspec: {models: [{name: m, allowedVersions: [\"1\"]}]}\n",
        "x: &a [1]\ny: *a\n",
        "",
    ])
    func declines(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(StreamDecoder.decode(bytes, file: "t.yaml", limits: YAMLLimits(), labels: LabelInterner()) == nil)
        // And the loader's answer is the full path's.
        let file = ManifestFile(path: "t.yaml", bytes: bytes)
        let loaded = ManifestLoader.parse(file), full = ManifestLoader.parseInFull(file)
        #expect(loaded.objects == full.objects)
        #expect(loaded.diagnostics.map(\.description) == full.diagnostics.map(\.description))
    }

    @Test("under a nesting bound lower than its deepest read, it declines and the full path reports the depth")
    func declinesUnderLowDepthBound() throws {
        let region = "apiVersion: meridian/v1\nkind: Region\nmetadata: {name: r}\nspec: {jurisdiction: j, capacity: {accelerators: [{type: h100, count: 1}]}}\n"
        let bytes = Array(region.utf8)
        #expect(Self.agree(bytes)?.count == 1)
        var limits = YAMLLimits()
        limits.maxDepth = StreamDecoder.deepest
        #expect(StreamDecoder.decode(bytes, file: "t.yaml", limits: limits, labels: nil)?.count == 1)
        #expect(ManifestLoader.parseInFull(ManifestFile(path: "t.yaml", bytes: bytes), limits: limits).diagnostics.isEmpty)
        limits.maxDepth = StreamDecoder.deepest - 1
        #expect(StreamDecoder.decode(bytes, file: "t.yaml", limits: limits, labels: nil) == nil)
        let full = ManifestLoader.parse(ManifestFile(path: "t.yaml", bytes: bytes), limits: limits)
        #expect(rules(full.diagnostics) == ["yaml.depth"])
    }

    @Test("a plain placement is read by the fast path (the declines above are not of everything)")
    func readsPlainPlacement() {
        #expect(Self.agree(Array(Self.placement("{model: m, topology: t, replicas: 4}").utf8))?.count == 1)
        // Integers in every core-schema spelling, read as the full path reads them.
        let spellings = Self.placement("{model: m, topology: t, replicas: 0x4, minReplicas: 0o7, priority: -12}")
        guard case .placement(let p)? = Self.agree(Array(spellings.utf8))?.first else { Issue.record("declined"); return }
        #expect((p.replicas, p.minReplicas, p.priority) == (4, 7, -12))
        // apiVersion may come anywhere; only kind and metadata must come before spec.
        let late = "kind: Placement\nmetadata: {name: p}\nspec: {model: m, topology: t, replicas: 4}\napiVersion: meridian/v1\n"
        #expect(Self.agree(Array(late.utf8))?.count == 1)
    }

    /// Bytes changed at random in the every-kind file: wherever the fast path still reads the
    /// result, it must agree with the full path. Deterministic (a fixed seed), so a failure
    /// reproduces; `scripts/fuzz.sh manifests` runs the same check without end.
    @Test("under random edits, the fast path agrees with the full path wherever it reads")
    func randomEditsAgree() throws {
        var rng = SplitMix64(seed: 0x5EED_F00D)
        let base = Array(Self.everyKind.utf8)
        try #require(base.count > 1_000, "the every-kind seed was not read")
        // Bytes that change a YAML file's meaning in interesting ways.
        let alphabet = Array("abz09-_ :,{}[]\"'&*!<#\n\t~.+xX".utf8)
        var read = 0
        for _ in 0 ..< 1_500 {
            var bytes = base
            for _ in 0 ..< 1 + Int(rng.next() % 3) {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: bytes.remove(at: at)
                }
            }
            if Self.agree(bytes) != nil { read += 1 }
        }
        // Many edits fall in values and leave a file the fast path reads: the check was made.
        #expect(read >= 100, "the fast path read only \(read) of 1,500 edited files")
    }
}
