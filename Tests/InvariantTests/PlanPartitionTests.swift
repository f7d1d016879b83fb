import MeridianCore
import MeridianManifests
import PropertyBased
import Testing

/// Worlds made of several random fleets side by side (each with its names prefixed), so that
/// a plan has parts; one undeclared placement ("orphan") may be reported in regions of several
/// of them, which must then be planned together.
enum UnionWorld {
    static func names(_ w: Int) -> RandomFleet.Names { RandomFleet.Names(prefix: "w\(w)-", reversed: false) }

    /// The observation of fleet `w`, its names prefixed as its manifests' are.
    static func observed(_ fleet: RandomFleet, _ state: DesiredState, tape: [Int], world w: Int) -> ObservedState {
        let plain = RandomObserved.make(fleet, state, tape: tape)
        let prefix = "w\(w)-"
        func named(_ s: String) -> String { s == "orphan" || s == "gone" ? s : prefix + s }
        var out = ObservedState()
        for (r, o) in plain.regions {
            var renamed = o
            renamed.artifacts = Dictionary(uniqueKeysWithValues: o.artifacts.map { (named($0.key), $0.value) })
            renamed.deployments = Dictionary(uniqueKeysWithValues: o.deployments.map { p, d in
                (named(p), ObservedDeployment(model: named(d.model), version: d.version, replicas: d.replicas, ready: d.ready))
            })
            renamed.traffic = Dictionary(uniqueKeysWithValues: o.traffic.map { (named($0.key), $0.value) })
            if let j = o.jurisdiction { renamed.jurisdiction = prefix + j }
            out.regions[prefix + r] = renamed
        }
        return out
    }

    /// Up to three fleets from one tape each, loaded together, with their observations.
    static func make(_ tapes: [[Int]]) -> (LoadResult, ObservedState)? {
        var docs: [String] = []
        var fleets: [RandomFleet] = []
        for (w, tape) in tapes.enumerated() {
            let fleet = RandomFleet(tape: tape)
            fleets.append(fleet)
            docs += fleet.yaml(names(w))
        }
        let loaded = Y.load(docs)
        guard loaded.isValid else { return nil }
        var observed = ObservedState()
        for (w, fleet) in fleets.enumerated() {
            // RandomObserved reads only the fleet (the state argument is unused).
            let o = Self.observed(fleet, loaded.state, tape: tapes[w].reversed(), world: w)
            observed.regions.merge(o.regions) { a, _ in a }
        }
        return (loaded, observed)
    }
}

@Suite("Planning by parts")
struct PlanPartitionTests {
    static let source = PlanSource(commit: nil, digest: "sha256:test", path: "fleet")

    static func whole(_ l: LoadResult, _ o: ObservedState) -> String {
        PlanJSON.render(Planner.plan(l.state, fences: l.fences, observed: o, source: source))
    }

    @Test("the parts' plans, merged, are the whole plan byte for byte, however many parts; and again after each apply")
    func mergedIsWhole() async {
        var worlds = 0, split = 0, mixed = 0, steps = 0
        await propertyCheck(count: 600, input: tapes, tapes, tapes) { a, b, c in
            guard let (loaded, first) = UnionWorld.make([a, b, c]) else { return }
            worlds += 1
            var observed = first
            // The world as observed, then after the plan is applied (the simulator makes
            // every action succeed), twice: other observations, other plans.
            for _ in 0 ..< 3 {
                let expected = Self.whole(loaded, observed)
                for maxParts in [1, 2, 64] {
                    let partition = PlanPartition(loaded.state, fences: loaded.fences, observed: observed, maxParts: maxParts)
                    #expect(partition.parts.count <= maxParts)
                    let merged = PlanPartition.plan(loaded.state, fences: loaded.fences, observed: observed, source: Self.source, maxParts: maxParts)
                    #expect(PlanJSON.render(merged) == expected, "\(maxParts) parts at most")
                    if maxParts == 64 && partition.parts.count > 1 {
                        split += 1
                        // No tautology: actions from more than one part were interleaved.
                        let plans = partition.parts.indices.map { partition.plan(part: $0) }
                        if plans.filter({ $0.actionCount > 0 }).count > 1 { mixed += 1 }
                    }
                }
                let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: observed, source: Self.source)
                observed = TestSimulator.apply(plan, observed, loaded.state)
                steps += 1
            }
        }
        print("partition property: \(worlds) worlds, \(split) split, \(mixed) mixed, \(steps) steps")
        #expect(worlds >= 60, "only \(worlds) valid worlds")
        #expect(split >= 150, "only \(split) observations split into parts")
        #expect(mixed >= 30, "only \(mixed) plans with actions in more than one part")
    }

    @Test("an undeclared placement reported in two otherwise separate fleets puts them in one part")
    func orphanJoins() throws {
        var docs = [Y.jurisdiction("eu"), Y.jurisdiction("us"),
                    Y.region("eu-1", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
                    Y.region("us-1", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n")]
        docs.append(Y.artifact("w-eu", origin: "eu-1"))
        docs.append(Y.artifact("w-us", origin: "us-1"))
        let loaded = Y.load(docs)
        try #require(loaded.isValid, "\(loaded.diagnostics)")
        var observed = ObservedState()
        observed.regions["eu-1"] = RegionObservation(jurisdiction: "eu", artifacts: ["w-eu": ObservedArtifact(digest: "sha256:" + String(repeating: "ab", count: 32))])
        observed.regions["us-1"] = RegionObservation(jurisdiction: "us")
        #expect(PlanPartition(loaded.state, fences: loaded.fences, observed: observed).parts.count == 2)
        let orphan = ObservedDeployment(model: "gone", version: "1", replicas: 1, ready: 1)
        observed.regions["eu-1"]!.deployments["orphan"] = orphan
        observed.regions["eu-1"]!.traffic["orphan"] = 30
        observed.regions["us-1"]!.deployments["orphan"] = orphan
        observed.regions["us-1"]!.traffic["orphan"] = 70
        let partition = PlanPartition(loaded.state, fences: loaded.fences, observed: observed)
        #expect(partition.parts.count == 1)
        let plan = PlanPartition.plan(loaded.state, fences: loaded.fences, observed: observed, source: Self.source)
        #expect(PlanJSON.render(plan) == Self.whole(loaded, observed))
        // One traffic action takes the orphan's traffic off both regions, before either undeploy.
        let traffic = plan.actions.filter { $0.kind == .setTraffic }
        try #require(traffic.count == 1)
        #expect(traffic[0].weights == [RegionName("eu-1"): 0, RegionName("us-1"): 0])
        let undeploys = plan.actions.filter { $0.kind == .undeploy }
        #expect(undeploys.count == 2)
        #expect(undeploys.allSatisfy { $0.dependsOn.contains(traffic[0].id) })
    }
}
