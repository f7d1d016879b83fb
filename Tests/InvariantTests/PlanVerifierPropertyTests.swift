import MeridianCore
import MeridianManifests
import Testing

/// The re-check (`PlanVerifier`) against a reading of SPEC §2 written here, apart from it:
/// random fleets, random observations (some regions attesting another jurisdiction) and
/// random actions, fence-breaking ones among them. The verifier looks each region's facts up
/// once per pass and reads artifact and model fences by position; a verdict must never depend
/// on which actions came before it in the pass, nor on whether the analysis shares the state's
/// storage.
@Suite("Plan re-check against an independent reading of the fence invariant")
struct PlanVerifierPropertyTests {
    /// Whether `a` would put something outside its fence (or names what does not exist), by
    /// SPEC §2 read directly: a region is inside a set when it is declared, attests no other
    /// jurisdiction, and it and every region its storage replicates to, transitively, have a
    /// declared jurisdiction in the set.
    static func breaks(_ a: Action, _ l: LoadResult, _ o: ObservedState) -> Bool {
        let state = l.state
        func outside(_ r: RegionName, _ set: JurisdictionSet) -> Bool {
            guard let region = state.regions[r] else { return true }
            if let attested = o.regions[r.rawValue]?.jurisdiction, attested != region.jurisdiction.value.rawValue { return true }
            var seen: Set<RegionName> = [r]
            var queue = [r]
            while let x = queue.popLast() {
                guard let reg = state.regions[x], let j = l.fences.index(of: reg.jurisdiction.value), set.contains(j) else { return true }
                for n in reg.replicatesTo where seen.insert(n.value).inserted { queue.append(n.value) }
            }
            return false
        }
        func modelFence(_ m: ModelName) -> JurisdictionSet? {
            guard let model = state.models[m] else { return nil }
            var set = l.fences.universe
            for x in model.artifacts {
                guard let e = l.fences.effectiveFence(of: x.value) else { return JurisdictionSet() }
                set = set.intersection(e)
            }
            return set
        }
        switch a.kind {
        case .purge, .undeploy, .deleteArtifact:
            return false
        case .stageArtifact:
            guard let name = a.artifact, let r = a.region, let artifact = state.artifacts[name],
                  let e = l.fences.effectiveFence(of: name) else { return true }
            if outside(r, e) { return true }
            if artifact.type.isRuntime && r != artifact.origin.value { return true }
            if let from = a.from { return outside(from, e) }
            return r != artifact.origin.value
        case .deploy:
            guard let r = a.region, let m = a.model, let fence = modelFence(m) else { return true }
            return outside(r, fence)
        case .setTraffic:
            guard let p = a.placement else { return true }
            let routed = (a.weights ?? [:]).filter { $0.value > 0 }
            if routed.isEmpty { return false }
            guard let model = state.placements[p]?.model.value, let fence = modelFence(model) else { return true }
            return routed.keys.contains { outside($0, fence) }
        }
    }

    /// Random actions over the fleet's names and a few undeclared ones, after the planner's own.
    static func actions(_ fleet: RandomFleet, _ plan: Plan, tape: [Int]) -> [Action] {
        var i = 0
        func pick(_ n: Int) -> Int {
            defer { i += 1 }
            return n <= 1 ? 0 : (i < tape.count ? tape[i] % n : (i * 7919) % n)
        }
        func region() -> RegionName { RegionName(pick(9) == 0 ? "nowhere" : "r\(pick(fleet.regions.count))") }
        var out = plan.actions
        for k in 0 ..< 40 {
            let id = "x\(k)"
            switch pick(5) {
            case 0, 1:
                let artifact = ArtifactName(pick(12) == 0 ? "a-undeclared" : "a\(pick(fleet.artifacts.count))")
                out.append(Action(id: id, kind: .stageArtifact, region: region(), artifact: artifact,
                                  from: pick(3) == 0 ? nil : region(), reason: "test"))
            case 2:
                let model = ModelName(pick(12) == 0 ? "m-undeclared" : "m\(pick(max(fleet.models.count, 1)))")
                out.append(Action(id: id, kind: .deploy, region: region(), placement: PlacementName("p0"), model: model,
                                  version: "1.0.0", replicas: 1, reason: "test"))
            case 3:
                var weights: [RegionName: Int] = [:]
                for _ in 0 ... pick(3) { weights[region()] = pick(3) == 0 ? 0 : 1 + pick(100) }
                let placement = PlacementName(pick(12) == 0 ? "p-undeclared" : "p\(pick(max(fleet.placements.count, 1)))")
                out.append(Action(id: id, kind: .setTraffic, placement: placement, weights: weights, reason: "test"))
            default:
                out.append(Action(id: id, kind: .purge, region: region(), artifact: ArtifactName("a\(pick(fleet.artifacts.count))"), reason: "test"))
            }
        }
        return out
    }

    @Test("one pass, each action alone, and an analysis of an equal state in storage of its own all give the independent verdicts (400 worlds)")
    func verdicts() {
        var tapes = FixedTapes(state: 11)
        func tape(_ n: Int) -> [Int] { tapes.tape(n) }
        var worlds = 0
        var verdicts: [Action.Kind: (safe: Int, broken: Int)] = [:]
        var attestedBreaks = 0, fromBreaks = 0
        for _ in 0 ..< 400 {
            guard let (fleet, loaded, observed) = PlannerPropertyTests.world(tape(120), tape(120)) else { continue }
            worlds += 1
            let planned = PlannerPropertyTests.plan(loaded, observed)
            var plan = planned
            plan.actions = Self.actions(fleet, planned, tape: tape(400))
            let expected = Set(plan.actions.filter { Self.breaks($0, loaded, observed) }.map(\.id))
            let pass = PlanVerifier.verify(plan, state: loaded.state, fences: loaded.fences, observed: observed)
            #expect(Set(pass.map(\.actionID)) == expected)
            #expect(pass.count == expected.count, "each violation once")
            // The planner's own actions never break a fence.
            #expect(planned.actions.allSatisfy { !expected.contains($0.id) })
            for a in plan.actions {
                let alone = PlanVerifier.verify(a, state: loaded.state, fences: loaded.fences, observed: observed)
                #expect((alone != nil) == expected.contains(a.id), "\(a.id) \(a.kind)")
                let broken = expected.contains(a.id)
                verdicts[a.kind, default: (0, 0)].safe += broken ? 0 : 1
                verdicts[a.kind, default: (0, 0)].broken += broken ? 1 : 0
                // Broken only by where it is copied from: the same copy from its own destination is safe.
                if broken, a.kind == .stageArtifact, a.from != nil, let r = a.region,
                   !Self.breaks(Action(kind: .stageArtifact, region: r, artifact: a.artifact, from: r, reason: ""), loaded, observed) {
                    fromBreaks += 1
                }
                if broken, let r = a.region, let declared = loaded.state.regions[r],
                   let attested = observed.regions[r.rawValue]?.jurisdiction, attested != declared.jurisdiction.value.rawValue {
                    attestedBreaks += 1
                }
            }
            // The same fleet loaded again, with one more artifact that sorts first and that no
            // other artifact's fence depends on: its analysis holds the fleet's artifacts in
            // storage of its own and one position further on, so the verifier must look them
            // up by name, not read the analysis by the state's positions.
            let again = Y.load(fleet.yaml(.plain) + [Y.artifact("a-extra", origin: "r0")])
            #expect(again.state.artifacts.position(of: ArtifactName("a0")) == 1)
            let other = PlanVerifier.verify(plan, state: loaded.state, fences: again.fences, observed: observed)
            #expect(other == pass)
        }
        // No tautology: many worlds, and every kind of action both safe and broken, for each reason.
        #expect(worlds >= 100, "only \(worlds) valid worlds")
        for kind in [Action.Kind.stageArtifact, .deploy, .setTraffic] {
            #expect((verdicts[kind]?.safe ?? 0) >= 50 && (verdicts[kind]?.broken ?? 0) >= 50, "\(kind): \(verdicts[kind] ?? (0, 0))")
        }
        #expect((verdicts[.purge]?.safe ?? 0) >= 50 && verdicts[.purge]?.broken == 0)
        #expect(fromBreaks >= 20, "\(fromBreaks) stages broken only by their source")
        #expect(attestedBreaks >= 20, "\(attestedBreaks) actions broken by an attestation")
    }
}
