/// The desired-state fence invariants of SPEC §2, checked over a whole fleet. Every violation
/// is reported (never just the first), and each names the artifact, the region, the region's
/// jurisdiction, the effective fence and the chain of fences and lineage that produced it.
public enum FenceCheck {
    /// The checks in three parts, each run on the analysis with only its input tables (see
    /// `FenceChecks`).
    public enum Part: Int, CaseIterable, Sendable {
        /// Artifacts that can live nowhere, and artifacts whose origin is outside their fence.
        case artifacts
        /// Models that can be served nowhere.
        case models
        /// Placements that would put an artifact outside its fence.
        case placements

        /// The tables the part reads: those the analysis is made of, and the placements'
        /// topologies and placements.
        public var inputs: KindSet {
            self == .placements ? FenceAnalysis.inputs.union([KindSet(.placement), KindSet(.topology)]) : FenceAnalysis.inputs
        }
    }

    public static func check(_ analysis: FenceAnalysis) -> [Diagnostic] {
        Part.allCases.flatMap { check($0, analysis.only($0.inputs)) }
    }

    /// One part, on exactly `analysis` and its state.
    public static func check(_ part: Part, _ analysis: FenceAnalysis) -> [Diagnostic] { result(part, analysis).diagnostics }

    /// One part's diagnostics, and for the placements' part the placement (its position) each
    /// is about: that part checks placement by placement, so a later load whose placements
    /// changed at a few positions alone checks those again (`ObjectDiagnostics.spliced`).
    public static func result(_ part: Part, _ analysis: FenceAnalysis) -> ObjectDiagnostics {
        switch part {
        case .artifacts: ObjectDiagnostics(artifactChecks(analysis))
        case .models: ObjectDiagnostics(modelChecks(analysis))
        case .placements: placementChecks(analysis, at: analysis.state.placements.list.indices)
        }
    }

    private static func artifactChecks(_ analysis: FenceAnalysis) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let state = analysis.state

        // An artifact that can live nowhere; then its origin (and the origin's replicas).
        // By index, reading fields in place: a `for in` copied (and retained) every artifact.
        let artifacts = state.artifacts.list
        for i in artifacts.indices {
            Prefetch.ahead(in: artifacts, of: i)
            let name = artifacts[i].name
            // The analysis is by the same positions (it was computed from this state).
            let e = analysis.effective[i]
            if e.isEmpty {
                out.append(Diagnostic(.fenceEmpty,
                    "Artifact '\(name)' can live nowhere: its effective fence is empty (\(contributions(analysis, name)))",
                    at: artifacts[i].meta.nameLocation))
                continue
            }
            let origin = artifacts[i].origin
            guard state.regions.contains(origin.value) else { continue }  // ref.missing says it
            if let path = analysis.offendingReplica(of: origin.value, outside: e) {
                out.append(Diagnostic(.fenceOrigin,
                    "Artifact '\(name)' originates in region '\(origin.value)' (jurisdiction \(analysis.jurisdictionLabel(of: origin.value)))\(replicas(path, analysis)), outside its effective fence \(analysis.describe(e))\(because(analysis, name, path.last!))",
                    at: origin.location))
            }
        }
        return out
    }

    private static func modelChecks(_ analysis: FenceAnalysis) -> [Diagnostic] {
        var out: [Diagnostic] = []
        // A model whose artifacts' fences do not meet: reported unless one of its artifacts is
        // undeclared or can itself live nowhere (reported as such).
        let models = analysis.state.models.list
        for k in models.indices {
            let name = models[k].name
            // The analysis is by the same positions (it was computed from this state).
            let fence = analysis.modelFences[k]
            guard fence.isEmpty else { continue }
            let artifactsEmpty = models[k].artifacts.contains { analysis.effectiveFence(of: $0.value)?.isEmpty ?? true }
            if artifactsEmpty { continue }
            let parts = models[k].artifacts.map { "\($0.value) \(analysis.describe(analysis.effectiveFence(of: $0.value) ?? JurisdictionSet()))" }
            out.append(Diagnostic(.fenceModel,
                "Model '\(name)' can be served nowhere: its artifacts' fences do not meet (\(parts.joined(separator: ", ")))",
                at: models[k].meta.nameLocation))
        }
        return out
    }

    /// The placements' part, for the placements at `positions` (ascending) alone.
    static func placementChecks(_ analysis: FenceAnalysis, at positions: some Collection<Int>) -> ObjectDiagnostics {
        var out: [Diagnostic] = []
        var owners: [Int32] = []
        let state = analysis.state
        let artifacts = state.artifacts.list
        let models = state.models.list
        // Each model's fence, by the model's position (the analysis is by this state's).
        let modelFences = analysis.modelFences
        // The runtime artifacts (cache, logs), with their type and origin: all of them for
        // many placements; for a few, each is looked up.
        var runtimeTable: [ArtifactName: (ArtifactType, RegionName)] = [:]
        let few = positions.count < 64
        if !few {
            for i in artifacts.indices {
                Prefetch.ahead(in: artifacts, of: i)
                if artifacts[i].type.isRuntime { runtimeTable[artifacts[i].name] = (artifacts[i].type, artifacts[i].origin.value) }
            }
        }
        let anyRuntime = few || !runtimeTable.isEmpty
        func runtimeOrigin(_ name: ArtifactName) -> (ArtifactType, RegionName)? {
            guard few else { return runtimeTable[name] }
            guard let i = state.artifacts.position(of: name), artifacts[i].type.isRuntime else { return nil }
            return (artifacts[i].type, artifacts[i].origin.value)
        }
        // Models and topologies are read in place, by position; a role's name is made only for
        // a message (the common case, a region inside the fence, needs none).
        let topologies = state.topologies.list
        let placements = state.placementList
        for p in positions {
            defer { owners.append(contentsOf: repeatElement(Int32(p), count: out.count - owners.count)) }
            // A model that can be served nowhere was reported above; its placements add nothing.
            guard let m = state.models.position(of: placements[p].model.value), let t = state.topologies.position(of: placements[p].topology.value),
                  !modelFences[m].isEmpty else { continue }
            let modelFence = modelFences[m]
            let runtime = anyRuntime ? models[m].artifacts.filter { runtimeOrigin($0.value) != nil } : []
            let regionCount = topologies[t].regions.count
            for slot in 0 ..< regionCount + topologies[t].failover.count {
                let region = slot < regionCount ? topologies[t].regions[slot].name : topologies[t].failover[slot - regionCount]
                guard state.regions.contains(region.value) else { continue }
                // The model's fence is inside every artifact's: one bitset test clears the common
                // case; only a region outside it is walked artifact by artifact for the message.
                if !analysis.isInside(region.value, modelFence) {
                    for artifactRef in models[m].artifacts {
                        guard let e = analysis.effectiveFence(of: artifactRef.value),
                              let path = analysis.offendingReplica(of: region.value, outside: e) else { continue }
                        out.append(Diagnostic(.fencePlacement,
                            "Placement '\(placements[p].name)' would put artifact '\(artifactRef.value)' in region '\(region.value)' (jurisdiction \(analysis.jurisdictionLabel(of: region.value))) as \(role(topologies[t], slot)) of topology '\(topologies[t].name)'\(replicas(path, analysis)), outside the artifact's effective fence \(analysis.describe(e))\(because(analysis, artifactRef.value, path.last!))",
                            at: region.location))
                    }
                }
                // Runtime artifacts (cache, logs) never leave the region that holds them.
                for artifactRef in runtime {
                    guard let (type, origin) = runtimeOrigin(artifactRef.value), region.value != origin else { continue }
                    out.append(Diagnostic(.fenceRuntime,
                        "Placement '\(placements[p].name)' would need runtime artifact '\(artifactRef.value)' (\(type.rawValue)) in region '\(region.value)' as \(role(topologies[t], slot)) of topology '\(topologies[t].name)', but \(type.rawValue) never leaves its region '\(origin)'",
                        at: region.location))
                }
            }
        }
        return ObjectDiagnostics(diagnostics: out, owners: owners)
    }

    /// The role of the topology's `slot`-th region, counting its failover candidates after its
    /// regions.
    static func role(_ topology: Topology, _ slot: Int) -> String {
        guard slot < topology.regions.count else { return "failover candidate" }
        switch topology.mode {
        case .activeActive: return "active region"
        case .singleRegion: return "the region"
        case .activePassive: return slot == 0 ? "primary" : "\(topology.standby.rawValue) standby"
        }
    }

    /// Empty when the region itself is outside; otherwise `, and its storage replicates to 'x'
    /// (jurisdiction us) via a → b → x`.
    static func replicas(_ path: [RegionName], _ analysis: FenceAnalysis) -> String {
        guard path.count > 1, let last = path.last else { return "" }
        return ", and its storage replicates to '\(last)' (jurisdiction \(analysis.jurisdictionLabel(of: last))) via \(path.map(\.rawValue).joined(separator: " → "))"
    }

    /// `: eu-ft is derived from eu-data; eu-data is bound by fence eu-only (by name), which allows only {eu}`.
    static func because(_ analysis: FenceAnalysis, _ artifact: ArtifactName, _ region: RegionName) -> String {
        guard let r = analysis.state.regions[region], analysis.index(of: r.jurisdiction.value) != nil else {
            return ": a region with an undeclared jurisdiction is outside every fence"
        }
        let chain = analysis.exclusionChain(of: artifact, for: r.jurisdiction.value)
        return chain.isEmpty ? "" : ": " + chain.joined(separator: "; ")
    }

    /// What narrowed an artifact's fence: its own fences and its parents, each with its set.
    static func contributions(_ analysis: FenceAnalysis, _ artifact: ArtifactName) -> String {
        var parts = analysis.appliedFences(of: artifact).map {
            "\(analysis.describe(fence: $0)) allows \(analysis.describe(analysis.fenceSet($0.fence) ?? JurisdictionSet()))"
        }
        for p in analysis.state.artifacts[artifact]?.derivedFrom ?? [] {
            if let e = analysis.effectiveFence(of: p.value) { parts.append("parent \(p.value) may live in \(analysis.describe(e))") }
        }
        return parts.joined(separator: "; ")
    }
}

/// The fence checks of one load by part (`FenceCheck.Part`), each run on the analysis with only
/// the tables it reads. A part's diagnostics are therefore a function of those tables (the
/// analysis is a function of some of them), and the next load takes them over when each holds
/// the same objects: after a placement edit, only the placements' part runs again.
public struct FenceChecks: Sendable {
    /// The state the checks were made on.
    public let state: DesiredState
    /// The analysis they were made over: the next checks ask whether theirs decides alike.
    let analysis: FenceAnalysis
    /// Each part's diagnostics, by `Part.rawValue`.
    private let byPart: [ObjectDiagnostics]
    /// The parts taken over from the earlier checks.
    public let reused: [FenceCheck.Part]
    /// The parts patched from the earlier checks: the placements' part, run for the
    /// placements a patched table replaced alone, when every other table it reads holds the
    /// same objects (see `ObjectDiagnostics`).
    public let patched: [FenceCheck.Part]
    /// The parts taken over because they found nothing over the earlier analysis, every table
    /// they read but the jurisdictions and residency fences holds the same objects, and this
    /// analysis decides each of their checks alike (`FenceAnalysis.checksAsBefore`): after a
    /// jurisdiction is added that no region names and that fills no empty fence, every part
    /// that found nothing.
    public let carried: [FenceCheck.Part]

    /// Every part over `analysis`, each taken over from `earlier` when every table it reads
    /// holds the same objects in `analysis.state` as in `earlier.state`; the placements' part
    /// patched when every table it reads but the placements does, and the placements' table
    /// was patched from the earlier one. The parts that must run, and the placements to check
    /// of a patched part, are handed to `run` (called exactly once, with no parts when every
    /// part is taken over), which gives each one's diagnostics, in the order given: parts read
    /// only the analysis, so a caller may run them at once, on any threads. A part that is
    /// not taken over or patched may be carried over (see `carried`).
    public init(_ analysis: FenceAnalysis, earlier: FenceChecks? = nil,
                run: ([FenceCheck.Part], @escaping @Sendable (FenceCheck.Part) -> ObjectDiagnostics) -> [ObjectDiagnostics] = { parts, check in parts.map(check) }) {
        var tables = earlier.map { SameTables(analysis.state, $0.state) }
        var byPart = [ObjectDiagnostics](repeating: ObjectDiagnostics([]), count: FenceCheck.Part.allCases.count)
        var reused: [FenceCheck.Part] = [], patched: [FenceCheck.Part] = [], carried: [FenceCheck.Part] = []
        var toRun: [FenceCheck.Part] = []
        // The placements to check again, when the placements' part is patched.
        var replaced: Set<Int32>?
        // Whether this analysis decides every check as the earlier one did: asked once, for
        // the first part that could be carried over.
        var alike: Bool?
        let setInputs = KindSet(.jurisdiction).union(KindSet(.residencyFence))
        for part in FenceCheck.Part.allCases {
            if let earlier, tables!.hold(part.inputs) {
                byPart[part.rawValue] = earlier.byPart[part.rawValue]
                reused.append(part)
                continue
            }
            if let earlier, earlier.byPart[part.rawValue].diagnostics.isEmpty, tables!.hold(part.inputs.subtracting(setInputs)) {
                if alike == nil { alike = analysis.checksAsBefore(earlier.analysis) }
                if alike! {
                    byPart[part.rawValue] = earlier.byPart[part.rawValue]
                    carried.append(part)
                    continue
                }
            }
            if part == .placements, let earlier, earlier.byPart[part.rawValue].owners != nil,
               tables!.hold(part.inputs.subtracting(KindSet(.placement))) {
                replaced = analysis.state.placements.changedPositions(since: earlier.state.placements)
            }
            toRun.append(part)
        }
        let some = replaced.map { $0.map(Int.init).sorted() }
        let ran = run(toRun) { part in
            let only = analysis.only(part.inputs)
            if part == .placements, let some { return FenceCheck.placementChecks(only, at: some) }
            return FenceCheck.result(part, only)
        }
        precondition(ran.count == toRun.count, "fence checks: one result per part run")
        for (part, result) in zip(toRun, ran) {
            if part == .placements, let replaced, let earlier {
                byPart[part.rawValue] = earlier.byPart[part.rawValue].spliced(replacing: replaced, with: result)!
                patched.append(part)
            } else {
                byPart[part.rawValue] = result
            }
        }
        state = analysis.state
        self.analysis = analysis
        self.byPart = byPart
        self.reused = reused
        self.patched = patched
        self.carried = carried
    }

    /// Every part's diagnostics, in part order.
    public var diagnostics: [Diagnostic] { byPart.flatMap(\.diagnostics) }

    public func diagnostics(of part: FenceCheck.Part) -> [Diagnostic] { byPart[part.rawValue].diagnostics }
}
