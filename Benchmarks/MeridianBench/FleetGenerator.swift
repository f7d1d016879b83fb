import MeridianManifests

/// A deterministic synthetic fleet that validates clean: every jurisdiction has its regions,
/// a named fence and a selector fence; artifacts derive from an unfenced base and from earlier
/// artifacts of their own jurisdiction; topologies and placements stay inside it.
struct FleetGenerator {
    struct Parameters: Equatable {
        var jurisdictions = 20
        var regions = 1_000
        var baseArtifacts = 1_000
        var artifacts = 70_000
        var maxParents = 2
        /// The longest `derivedFrom` chain, counted in artifacts from a base (a base is 0, an
        /// artifact derived only from a base 1). Nil: each artifact derives from random earlier
        /// ones of its jurisdiction, so chains grow about logarithmically (the presets).
        var lineageDepth: Int?
        var models = 10_000
        var topologies = 3_000
        var placements = 14_000
        /// 19 puts the large preset's 99,060 objects in 5,214 files: the issue asks for at least
        /// 5,000 (20 made 4,953).
        var objectsPerFile = 19

        static let large = Parameters()
        static let small = Parameters(jurisdictions: 5, regions: 20, baseArtifacts: 10, artifacts: 300, maxParents: 2,
                                      models: 60, topologies: 20, placements: 80, objectsPerFile: 10)

        var objectCount: Int { jurisdictions * 3 + regions + baseArtifacts + artifacts + models + topologies + placements }

        /// What makes a fleet that cannot be generated valid (or would not fit in memory), one
        /// line per problem, naming the option.
        func problems() -> [String] {
            var out: [String] = []
            func within(_ option: String, _ value: Int, _ range: ClosedRange<Int>, _ why: String = "") {
                if !range.contains(value) { out.append("--\(option) \(value): must be from \(range.lowerBound) to \(range.upperBound)\(why)") }
            }
            within("jurisdictions", jurisdictions, 1 ... 1_000)
            // Topologies pick two regions and a third for failover within a jurisdiction.
            within("regions", regions, 3 * jurisdictions ... 100_000, " (at least three per jurisdiction)")
            within("base-artifacts", baseArtifacts, 1 ... 1_000_000)
            within("artifacts", artifacts, jurisdictions ... 5_000_000, " (at least one per jurisdiction)")
            within("max-parents", maxParents, 0 ... 16)
            if let d = lineageDepth {
                within("lineage-depth", d, 1 ... 100_000)
                if d > artifacts / max(jurisdictions, 1) {
                    out.append("--lineage-depth \(d): a chain that deep needs \(d) artifacts in one jurisdiction; there are \(artifacts / max(jurisdictions, 1)) (--artifacts over --jurisdictions)")
                }
                if d > 1 && maxParents == 0 { out.append("--lineage-depth \(d): needs --max-parents of at least 1 (with none, every artifact derives from a base only)") }
            }
            within("models", models, jurisdictions ... 1_000_000, " (at least one per jurisdiction)")
            within("topologies", topologies, jurisdictions ... 1_000_000, " (at least one per jurisdiction)")
            within("placements", placements, 0 ... 5_000_000)
            within("objects-per-file", objectsPerFile, 1 ... 100_000)
            if out.isEmpty && objectCount > 10_000_000 { out.append("the fleet would hold \(objectCount) objects; at most 10,000,000") }
            return out
        }
    }

    let p: Parameters
    private var rng: UInt64 = 0x5EED
    /// The longest `derivedFrom` chain generated (see `Parameters.lineageDepth`), once `files()` ran.
    private(set) var maxLineageDepth = 0

    init(_ p: Parameters) { self.p = p }

    private mutating func next(_ n: Int) -> Int {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(max(n, 1)))
    }

    private func digest(_ i: Int) -> String {
        let hex = String(i, radix: 16)
        return "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
    }

    /// The documents, grouped into files of `objectsPerFile`.
    mutating func files() -> [ManifestFile] {
        var docs: [String] = []
        let J = p.jurisdictions
        /// Jurisdiction j's share of n: the remainder goes one each to the first jurisdictions.
        func share(_ n: Int, _ j: Int) -> Int { n / J + (j < n % J ? 1 : 0) }
        func regionsIn(_ j: Int) -> Int { share(p.regions, j) }
        func region(_ j: Int, _ k: Int) -> String { "r-\(j)-\(k)" }
        for j in 0 ..< J {
            let regionsPer = regionsIn(j)
            docs.append("apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: j\(j)}\nspec: {description: Jurisdiction \(j)}\n")
            docs.append("apiVersion: meridian/v1\nkind: ResidencyFence\nmetadata: {name: only-j\(j)}\nspec: {allow: [j\(j)]}\n")
            docs.append("apiVersion: meridian/v1\nkind: ResidencyFence\nmetadata: {name: origin-j\(j)}\nspec:\n  allow: [j\(j)]\n  selector: {matchLabels: {data-origin: j\(j)}}\n")
            for k in 0 ..< regionsPer {
                // Every fifth region replicates to its neighbour in the same jurisdiction.
                let replica = k % 5 == 0 && k + 1 < regionsPer ? region(j, k + 1) : ""
                docs.append("""
                apiVersion: meridian/v1
                kind: Region
                metadata:
                  name: \(region(j, k))
                  labels: {tier: gpu}
                spec:
                  provider: \(["aws", "gcp", "azure", "oci"][k % 4])
                  jurisdiction: j\(j)
                  state: active
                  replicatesTo: [\(replica)]
                  capacity:
                    accelerators:
                      - {type: h100, count: 64}

                """)
            }
        }
        for b in 0 ..< p.baseArtifacts {
            docs.append("apiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: base-\(b)}\nspec: {type: weights, digest: \"\(digest(b))\", origin: \(region(b % J, 0))}\n")
        }
        // Every artifact's digest is its own: numbered across jurisdictions.
        var serial = 0
        for j in 0 ..< J {
            let perJ = share(p.artifacts, j), regionsPer = regionsIn(j)
            // Each artifact's lineage depth (a base is 0).
            var depth = [Int](repeating: 0, count: perJ)
            for i in 0 ..< perJ {
                var parents = ["base-\(next(p.baseArtifacts))"]
                var from: [Int] = []
                if let d = p.lineageDepth {
                    // Layers: artifact i is at depth i % d + 1 and derives from artifacts one
                    // layer up (positions ≡ its layer - 1 mod d, all earlier than i), so the
                    // chains are exactly d deep once there are d artifacts.
                    let layer = i % d + 1
                    if layer > 1 {
                        for _ in 0 ..< 1 + next(p.maxParents) { from.append(next(i / d + 1) * d + layer - 2) }
                    }
                } else {
                    for _ in 0 ..< next(p.maxParents + 1) where i > 0 { from.append(next(i)) }
                }
                for k in from { parents.append("a-\(j)-\(k)") }
                depth[i] = 1 + (from.map { depth[$0] }.max() ?? 0)
                maxLineageDepth = max(maxLineageDepth, depth[i])
                let byLabel = next(2) == 0
                docs.append("""
                apiVersion: meridian/v1
                kind: Artifact
                metadata:
                  name: a-\(j)-\(i)
                  labels:
                    \(byLabel ? "data-origin: j\(j)" : "team: t\(i % 7)")
                    cost-center: cc-\(i % 97)
                    lifecycle: \(["production", "staging", "research"][i % 3])
                  annotations:
                    meridian.io/owner: "ml-platform-\(i % 13)@example.com"
                    meridian.io/provenance: "pipeline train-\(j)-\(i), run \(next(100_000)), from \(parents.joined(separator: " and "))"
                    meridian.io/description: "Synthetic artifact \(i) of jurisdiction j\(j), generated for the Meridian benchmark fleet"
                spec:
                  type: \(["weights", "adapter", "embeddings", "vector-index", "dataset"][i % 5])
                  digest: "\(digest(1_000_000 + serial))"
                  sizeBytes: \(1_000_000 + i)
                  origin: \(region(j, next(regionsPer)))
                  derivedFrom: [\(Array(Set(parents)).sorted().joined(separator: ", "))]
                  fences: [\(byLabel ? "" : "only-j\(j)")]

                """)
                serial += 1
            }
        }
        for j in 0 ..< J {
            let perJ = share(p.artifacts, j), regionsPer = regionsIn(j)
            let modelsPer = share(p.models, j), topologiesPer = share(p.topologies, j), placementsPer = share(p.placements, j)
            for m in 0 ..< modelsPer {
                let arts = Set((0 ..< 3).map { _ in "a-\(j)-\(next(perJ))" }).sorted()
                docs.append("apiVersion: meridian/v1\nkind: Model\nmetadata: {name: m-\(j)-\(m)}\nspec: {version: \"1.\(m % 10).0\", artifacts: [\(arts.joined(separator: ", "))], accelerator: {type: h100, count: 1}}\n")
            }
            for t in 0 ..< topologiesPer {
                let a = next(regionsPer), b = (a + 1 + next(regionsPer - 1)) % regionsPer
                var failover = (b + 1) % regionsPer
                if failover == a { failover = (failover + 1) % regionsPer }
                let body: String
                switch t % 3 {
                case 0: body = "mode: active-active, regions: [{name: \(region(j, a)), weight: 50}, {name: \(region(j, b)), weight: 50}]"
                case 1: body = "mode: active-passive, standby: warm, regions: [{name: \(region(j, a))}, {name: \(region(j, b))}]"
                default: body = "mode: single-region, regions: [{name: \(region(j, a))}]"
                }
                let fo = failover == a || failover == b ? "" : region(j, failover)
                docs.append("apiVersion: meridian/v1\nkind: Topology\nmetadata: {name: t-\(j)-\(t)}\nspec: {\(body), failover: [\(fo)]}\n")
            }
            for i in 0 ..< placementsPer {
                docs.append("apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p-\(j)-\(i)}\nspec: {model: m-\(j)-\(next(modelsPer)), topology: t-\(j)-\(next(topologiesPer)), replicas: \(1 + i % 3), priority: \(i % 5)}\n")
            }
        }
        var files: [ManifestFile] = []
        var i = 0
        while i < docs.count {
            let group = docs[i ..< min(i + p.objectsPerFile, docs.count)]
            let name = String(files.count)
            let path = "fleet/" + String(repeating: "0", count: max(0, 5 - name.count)) + name + ".yaml"
            files.append(ManifestFile(path: path, bytes: Array(group.joined(separator: "---\n").utf8)))
            i += p.objectsPerFile
        }
        return files
    }
}
