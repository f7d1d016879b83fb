import MeridianCore
import MeridianManifests
import Testing

/// Scenarios from SPEC §3–§5, each on a small fleet written out in full.
@Suite("Planner scenarios")
struct PlannerTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let source = PlanSource(commit: nil, digest: "sha256:x", path: "fleet")

    /// EU (three regions, one a failover), US, an EU-only dataset under an open base model.
    static func fleet(mode: String = "active-passive", standby: String = "warm", euWestGPUs: Int = 16, replicas: Int = 2,
                      euWestState: String = "active", failover: [String] = ["eu-north"]) -> LoadResult {
        let topology = mode == "active-passive"
            ? Y.topology("eu-serving", mode: mode, [("eu-west", nil), ("eu-central", nil)], failover: failover, standby: standby)
            : Y.topology("eu-serving", mode: mode, [("eu-west", 50), ("eu-central", 50)], failover: failover)
        let result = Y.load([
            Y.jurisdiction("eu"), Y.jurisdiction("us"),
            Y.region("eu-west", "eu", extra: "  state: \(euWestState)\n  capacity: {accelerators: [{type: gpu, count: \(euWestGPUs)}]}\n"),
            Y.region("eu-central", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.region("eu-north", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.region("us-east", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 64}]}\n"),
            Y.fence("eu-only", allow: ["eu"]),
            Y.artifact("base", origin: "us-east"),
            Y.artifact("eu-data", origin: "eu-west", fences: ["eu-only"]),
            Y.artifact("eu-ft", origin: "eu-west", parents: ["base", "eu-data"]),
            Y.model("assistant", ["base", "eu-ft"], version: "2.0.0", gpus: 4),
            topology,
            Y.placement("assistant-eu", model: "assistant", topology: "eu-serving", replicas: replicas, minReplicas: 1),
        ])
        #expect(result.isValid, "\(result.diagnostics)")
        return result
    }

    static func plan(_ l: LoadResult, _ o: ObservedState = ObservedState(), failed: Set<RegionName> = []) -> Plan {
        Planner.plan(l.state, fences: l.fences, observed: o, source: source, options: .init(failedRegions: failed))
    }

    static func converged(_ l: LoadResult, _ o: ObservedState = ObservedState()) -> ObservedState {
        TestSimulator.apply(plan(l, o), o, l.state)
    }

    func actions(_ p: Plan, _ kind: Action.Kind, in region: String? = nil) -> [Action] {
        p.actions.filter { $0.kind == kind && (region == nil || $0.region == RegionName(region!)) }
    }

    @Test("stage and deploy reasons: a copy's users joined, a stale copy's digest, one replica and several")
    func reasonTexts() {
        let l = Y.load([
            Y.jurisdiction("eu"),
            Y.region("eu-west", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.region("eu-central", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.artifact("base", origin: "eu-west"),
            Y.model("m-one", ["base"], version: "1.0.0", gpus: 1),
            Y.model("m-two", ["base"], version: "2.0.0", gpus: 1),
            Y.topology("central", mode: "single-region", [("eu-central", nil)]),
            Y.placement("p-a", model: "m-one", topology: "central", replicas: 1),
            Y.placement("p-b", model: "m-two", topology: "central", replicas: 3),
        ])
        #expect(l.isValid, "\(l.diagnostics)")
        var o = ObservedState()
        o.regions["eu-west", default: RegionObservation()].artifacts["base"] = ObservedArtifact(digest: Self.digest)
        let stale = "sha256:" + String(repeating: "cd", count: 32)
        o.regions["eu-central", default: RegionObservation()].artifacts["base"] = ObservedArtifact(digest: stale)
        let p = Self.plan(l, o)
        let reasons = p.actions.filter { $0.kind == .stageArtifact || $0.kind == .deploy }.map(\.reason).sorted()
        #expect(reasons == [
            "deploy m-one 1.0.0 for p-a in eu-central: 1 replica as the region",
            "deploy m-two 2.0.0 for p-b in eu-central: 3 replicas as the region",
            "stage base into eu-central from eu-west (the copy there has digest \(stale)): the region of p-a, the region of p-b needs it",
        ], "\(reasons)")
        // Nothing at the origin yet: registered there, for the region that needs it.
        o.regions["eu-west"] = RegionObservation()
        let fresh = Self.plan(l, o).actions.filter { $0.kind == .stageArtifact }.map(\.reason).sorted()
        #expect(fresh.contains("register base at its origin eu-west: the source for eu-central"), "\(fresh)")
    }

    @Test("an artifact two regions need is registered at its origin once, for the first of them, and both copies wait for it")
    func registeredOnce() throws {
        let l = Y.load([
            Y.jurisdiction("eu"),
            Y.region("eu-west", "eu"),
            Y.region("eu-central", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.region("eu-north", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.artifact("base", origin: "eu-west"),
            Y.model("m", ["base"], version: "1.0.0", gpus: 1),
            Y.topology("both", mode: "active-active", [("eu-central", 50), ("eu-north", 50)]),
            Y.placement("p", model: "m", topology: "both", replicas: 1),
        ])
        #expect(l.isValid, "\(l.diagnostics)")
        let p = Self.plan(l)
        let registers = actions(p, .stageArtifact, in: "eu-west")
        try #require(registers.count == 1)
        #expect(registers[0].reason == "register base at its origin eu-west: the source for eu-central")
        let copies = p.actions.filter { $0.kind == .stageArtifact && $0.region != RegionName("eu-west") }
        #expect(copies.map { $0.region!.rawValue }.sorted() == ["eu-central", "eu-north"])
        #expect(copies.allSatisfy { $0.from == RegionName("eu-west") && $0.dependsOn.contains(registers[0].id) })
    }

    @Test("from nothing: register at the origin, copy from it, deploy, then steer traffic; re-planning gives nothing")
    func fromScratch() {
        let l = Self.fleet()
        let p = Self.plan(l)
        let stages = actions(p, .stageArtifact)
        #expect(stages.contains { $0.region == RegionName("eu-west") && $0.artifact == ArtifactName("eu-ft") && $0.from == nil })
        let copy = stages.first { $0.region == RegionName("eu-central") && $0.artifact == ArtifactName("eu-ft") }
        #expect(copy?.from == RegionName("eu-west"))
        #expect(copy?.reason == "stage eu-ft into eu-central from eu-west: warm standby of assistant-eu needs it")
        // The base is copied from its origin in the US into the EU (it is unfenced), never the reverse.
        #expect(stages.contains { $0.region == RegionName("eu-west") && $0.artifact == ArtifactName("base") && $0.from == RegionName("us-east") })
        let deploys = actions(p, .deploy)
        #expect(deploys.map { "\($0.region!):\($0.replicas!)" }.sorted() == ["eu-central:1", "eu-west:2"])
        let traffic = actions(p, .setTraffic)
        #expect(traffic.count == 1 && traffic[0].weights == [RegionName("eu-west"): 100])
        let primary = deploys.first { $0.region == RegionName("eu-west") }!
        #expect(traffic[0].dependsOn.contains(primary.id))
        #expect(Self.plan(l, Self.converged(l)).actions.isEmpty)
    }

    @Test("an observed artifact outside its fence is purged first, with what was found where")
    func purgeFirst() {
        let l = Self.fleet()
        var o = Self.converged(l)
        o.regions["us-east", default: RegionObservation()].artifacts["eu-ft"] = ObservedArtifact(digest: Self.digest)
        o.regions["us-east"]!.deployments["rogue"] = ObservedDeployment(model: "assistant", version: "2.0.0", replicas: 1, ready: 1)
        let p = Self.plan(l, o)
        let inUS = p.actions.filter { $0.regions.contains(RegionName("us-east")) }
        #expect(inUS.first?.kind == .purge)
        #expect(inUS.first?.placement == PlacementName("rogue"))
        let purgeArtifact = try? #require(inUS.first { $0.kind == .purge && $0.artifact != nil })
        #expect(purgeArtifact?.reason == "purge artifact eu-ft (\(Self.digest)) from us-east: its effective fence {eu} excludes us-east (jurisdiction us)")
        #expect(purgeArtifact?.dependsOn.contains(inUS.first!.id) == true)
        #expect(p.actions.first?.kind == .purge)
        #expect(Self.plan(l, TestSimulator.apply(p, o, l.state)).actions.isEmpty)
    }

    @Test("a region attesting another jurisdiction is outside every fence: everything there is purged, the standby is promoted")
    func attestation() {
        let l = Self.fleet()
        var o = Self.converged(l)
        o.regions["eu-west"]!.jurisdiction = "us"
        let p = Self.plan(l, o)
        let west = p.actions.filter { $0.regions.contains(RegionName("eu-west")) && $0.kind != .setTraffic }
        #expect(!west.isEmpty && west.allSatisfy { $0.kind == .purge })
        #expect(west.contains { $0.artifact == ArtifactName("base") }, "even unfenced artifacts: fail closed")
        #expect(actions(p, .deploy, in: "eu-central").first?.replicas == 2)
        #expect(actions(p, .deploy, in: "eu-central").first?.reason.contains("standby promoted because primary eu-west attests jurisdiction us, not eu") == true)
        #expect(p.unserved.isEmpty)
    }

    @Test("an isolated region loses its traffic at once and gets no new work; nothing there is undeployed")
    func isolated() {
        let running = Self.converged(Self.fleet())
        let l = Self.fleet(euWestState: "isolated")
        let p = Self.plan(l, running)
        let first = actions(p, .setTraffic).first!
        #expect(first.weights?[RegionName("eu-west")] == 0)
        #expect(first.dependsOn.isEmpty)
        #expect(p.actions.filter { $0.region == RegionName("eu-west") }.isEmpty)
        let final = actions(p, .setTraffic).last!
        #expect(final.weights?[RegionName("eu-central")] == 100)
    }

    @Test("an isolated region loses the traffic of a placement no manifest declares too, at once; nothing there is undeployed")
    func isolatedOrphanTraffic() throws {
        var running = Self.converged(Self.fleet())
        running.regions["eu-west"]!.deployments["legacy"] = ObservedDeployment(model: "gone", version: "1", replicas: 1, ready: 1)
        running.regions["eu-west"]!.traffic["legacy"] = 10
        let l = Self.fleet(euWestState: "isolated")
        let p = Self.plan(l, running)
        let off = try #require(actions(p, .setTraffic).first { $0.placement == PlacementName("legacy") })
        #expect(off.weights == [RegionName("eu-west"): 0] && off.dependsOn.isEmpty, "\(off)")
        #expect(off.reason == "take legacy's traffic off isolated eu-west at once: no manifest declares it")
        #expect(p.actions.filter { $0.region == RegionName("eu-west") }.isEmpty)
        let after = TestSimulator.apply(p, running, l.state)
        #expect(after.regions["eu-west"]!.traffic["legacy"] == nil && after.regions["eu-west"]!.deployments["legacy"] != nil)
        #expect(Self.plan(l, after).actions.isEmpty)
    }

    @Test("a kill switch during a roll: the isolated region's traffic goes at once; the other region's share grows only after its deploy")
    func isolatedDuringRoll() throws {
        // Both regions serve; eu-central still runs the old version, so the plan rolls it.
        var running = Self.converged(Self.fleet(mode: "active-active"))
        running.regions["eu-central"]!.deployments["assistant-eu"]!.version = "1.9.0"
        let p = Self.plan(Self.fleet(mode: "active-active", euWestState: "isolated"), running)
        let west = RegionName("eu-west"), central = RegionName("eu-central")
        let traffic = actions(p, .setTraffic)
        let first = try #require(traffic.first)
        // Named alone: a set-traffic sets only the weights it names, so eu-central keeps its 50 for now.
        #expect(first.weights == [west: 0] && first.dependsOn.isEmpty, "\(first)")
        let roll = try #require(actions(p, .deploy, in: "eu-central").first)
        #expect(roll.version == "2.0.0")
        let final = try #require(traffic.last)
        #expect(final.weights?[west] == 0 && (final.weights?[central] ?? 0) > 0)
        let waitsFor = OrderRules.waits(in: p)
        #expect(waitsFor(final, roll.id) && waitsFor(final, first.id))
        for t in traffic where (t.weights?[central] ?? 0) > 0 { #expect(waitsFor(t, roll.id), "\(t.id) steers onto eu-central before its roll \(roll.id)") }
        #expect(p.actions.filter { $0.region == west }.isEmpty)
    }

    @Test("purges come first in their region: even an orphan's traffic is taken away after them")
    func purgesBeforeOrphanTraffic() throws {
        let l = Self.fleet()
        var o = Self.converged(l)
        // A copy of EU data in us-east (purged) beside a deployment no manifest declares, taking traffic.
        o.regions["us-east", default: RegionObservation()].artifacts["eu-data"] = ObservedArtifact(digest: l.state.artifacts[ArtifactName("eu-data")]!.digest.value)
        o.regions["us-east"]!.deployments["legacy"] = ObservedDeployment(model: "gone", version: "1", replicas: 1, ready: 1)
        o.regions["us-east"]!.traffic["legacy"] = 10
        let p = Self.plan(l, o)
        let purge = try #require(actions(p, .purge, in: "us-east").first { $0.artifact == ArtifactName("eu-data") })
        let away = try #require(actions(p, .setTraffic).first { $0.placement == PlacementName("legacy") })
        #expect(away.weights == [RegionName("us-east"): 0])
        #expect(away.dependsOn.contains(purge.id), "\(away)")
        let undeploy = try #require(actions(p, .undeploy, in: "us-east").first)
        #expect(undeploy.dependsOn.contains(purge.id) && undeploy.dependsOn.contains(away.id))
        #expect(OrderRules.violations(p, l.state, o).isEmpty)
    }

    @Test("an unreachable region gets no action; its share fails over inside the fence")
    func unreachable() {
        // From nothing, with the only copy of eu-ft at its unreachable origin, nothing can serve.
        var nothing = ObservedState()
        nothing.regions["eu-west"] = RegionObservation(reachable: false)
        let none = Self.plan(Self.fleet(mode: "active-active"), nothing)
        #expect(actions(none, .deploy).isEmpty)
        #expect(none.unserved.contains { $0.reason.contains("cannot be placed") })
        // The reason is the missing artifact, not room: eu-central has 16 accelerators free.
        #expect(none.unserved.contains { $0.reason.hasPrefix("2 of 2 replicas for eu-central cannot be placed: eu-central cannot get eu-ft: no usable in-fence region holds it, and its origin eu-west is unreachable, and") },
                "\(none.unserved)")
        #expect(!none.unserved.contains { $0.reason.contains("has no room,") })

        // eu-ft exists only where it was staged: once its origin is down, eu-central's copy is the source.
        let l = Self.fleet(mode: "active-active")
        var o = Self.converged(l)
        o.regions["eu-west"]!.reachable = false
        let p = Self.plan(l, o)
        #expect(p.actions.allSatisfy { !$0.regions.contains(RegionName("eu-west")) })
        #expect(actions(p, .deploy).map { "\($0.region!):\($0.replicas!)" }.sorted() == ["eu-north:2"])
        #expect(actions(p, .setTraffic).first?.weights == [RegionName("eu-central"): 50, RegionName("eu-north"): 50])
        // The failover candidate already holds the artifacts: nothing is copied during the outage.
        #expect(actions(p, .stageArtifact).isEmpty)
        #expect(actions(Self.plan(l), .stageArtifact, in: "eu-north").contains { $0.reason.hasSuffix("failover candidate of assistant-eu needs it") })
        #expect(actions(p, .deploy, in: "eu-north").first?.reason.hasSuffix("as failover for eu-west (eu-west is unreachable)") == true)
        #expect(p.unserved.isEmpty, "failing over inside the fence is not unserved")
    }

    @Test("a shortfall moves to the failover regions in order, carrying its traffic share; what still does not fit stays unserved, never in the US")
    func capacity() {
        // eu-west has room for 1 of 3 replicas (4 GPUs each), eu-north for 4, no other EU room.
        let l = Self.fleet(mode: "active-active", euWestGPUs: 4, replicas: 3)
        let p = Self.plan(l)
        let deploys = Dictionary(uniqueKeysWithValues: actions(p, .deploy).map { ($0.region!.rawValue, $0.replicas!) })
        #expect(deploys == ["eu-west": 1, "eu-central": 3, "eu-north": 2])
        let w = actions(p, .setTraffic).first!.weights!
        #expect(w == [RegionName("eu-west"): 17, RegionName("eu-central"): 50, RegionName("eu-north"): 33])

        let tight = Self.fleet(mode: "active-active", euWestGPUs: 0, replicas: 4, failover: [])
        let q = Self.plan(tight)
        #expect(actions(q, .deploy).allSatisfy { $0.region != RegionName("us-east") })
        #expect(q.unserved.contains { $0.reason.hasPrefix("4 of 4 replicas for eu-west cannot be placed") && $0.reason.contains("rather than cross the fence") })
    }

    @Test("what a placement may use is free plus what its own deployment already holds")
    func ownHoldings() {
        let l = Self.fleet(euWestGPUs: 8)
        var o = Self.converged(l)
        o.regions["eu-west"]!.capacity = ["gpu": AcceleratorCapacity(total: 8, free: 0)]
        #expect(Self.plan(l, o).actions.isEmpty)
    }

    @Test("warm standbys run minReplicas; cold standbys are staged only")
    func standbys() {
        let warm = Self.plan(Self.fleet(standby: "warm"))
        #expect(actions(warm, .deploy, in: "eu-central").first?.replicas == 1)
        let cold = Self.plan(Self.fleet(standby: "cold"))
        #expect(actions(cold, .deploy, in: "eu-central").isEmpty)
        #expect(actions(cold, .stageArtifact, in: "eu-central").count == 2)
    }

    @Test("a version change rolls out region by region and leaves no skew")
    func rollout() {
        let l = Self.fleet(mode: "active-active")
        var o = Self.converged(l)
        for r in ["eu-west", "eu-central"] { o.regions[r]!.deployments["assistant-eu"]!.version = "1.9.0" }
        let p = Self.plan(l, o)
        let d = actions(p, .deploy)
        #expect(d.count == 2 && d.allSatisfy { $0.version == "2.0.0" })
        #expect(d[1].dependsOn.contains(d[0].id))
        #expect(d[0].reason.hasPrefix("roll assistant-eu in"))
        let after = TestSimulator.apply(p, o, l.state)
        #expect(Set(after.regions.values.compactMap { $0.deployments["assistant-eu"]?.version }) == ["2.0.0"])
    }

    @Test("prune removes copies nobody needs after their users are gone, never the origin copy")
    func prune() {
        let l = Self.fleet(failover: [])
        var o = Self.converged(l)
        o.regions["eu-north", default: RegionObservation()].artifacts["eu-ft"] = ObservedArtifact(digest: Self.digest)
        o.regions["eu-north"]!.deployments["old"] = ObservedDeployment(model: "assistant", version: "2.0.0", replicas: 1, ready: 1)
        o.regions["us-east", default: RegionObservation()].artifacts["base"] = ObservedArtifact(digest: Self.digest)
        let p = Self.plan(l, o)
        let delete = actions(p, .deleteArtifact)
        #expect(delete.map { "\($0.region!)/\($0.artifact!)" } == ["eu-north/eu-ft"])
        let undeploy = actions(p, .undeploy, in: "eu-north").first!
        #expect(delete[0].dependsOn.contains(undeploy.id))
        #expect(undeploy.reason == "undeploy old from eu-north: no manifest declares placement old")
    }

    @Test("a copy nobody needs is deleted only after the copies staged out of it")
    func deleteAfterCopiesOut() throws {
        let l = Y.load([
            Y.jurisdiction("eu"),
            Y.region("eu-west", "eu"),
            Y.region("eu-north", "eu"),
            Y.region("eu-central", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 16}]}\n"),
            Y.artifact("base", origin: "eu-west"),
            Y.artifact("other", origin: "eu-west"),
            Y.model("m", ["base"], version: "1.0.0", gpus: 1),
            Y.topology("central", mode: "single-region", [("eu-central", nil)]),
            Y.placement("p", model: "m", topology: "central", replicas: 1),
        ])
        #expect(l.isValid, "\(l.diagnostics)")
        var o = ObservedState()
        // The origin cannot be a source: the copies in eu-north are the only ones.
        o.regions["eu-west"] = RegionObservation(reachable: false, generation: 5)
        o.regions["eu-north"] = RegionObservation(generation: 7)
        o.regions["eu-central"] = RegionObservation(generation: 3)
        o.regions["eu-north", default: RegionObservation()].artifacts["base"] = ObservedArtifact(digest: Self.digest)
        o.regions["eu-north", default: RegionObservation()].artifacts["other"] = ObservedArtifact(digest: Self.digest)
        let p = Self.plan(l, o)
        let stage = try #require(actions(p, .stageArtifact).first)
        #expect(stage.region == RegionName("eu-central") && stage.from == RegionName("eu-north"))
        let deletes = actions(p, .deleteArtifact, in: "eu-north")
        #expect(deletes.map { $0.artifact!.rawValue } == ["base", "other"])
        // The copy of base waits for the stage that reads it; the copy of other waits for nothing.
        #expect(deletes[0].dependsOn == [stage.id])
        #expect(deletes[1].dependsOn.isEmpty)
        // The regions acted on and the source read, each at the generation observed; not the origin.
        #expect(p.observedGenerations == [RegionName("eu-central"): 3, RegionName("eu-north"): 7])
    }

    /// Two full regions; `a` is declared in r2 (and runs in r1), `b`, if declared, in r1 (and runs in r2).
    static func capacityCase(declareB: Bool) -> (LoadResult, ObservedState) {
        var docs = [
            Y.jurisdiction("us"),
            Y.region("r1", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
            Y.region("r2", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
            Y.artifact("base", origin: "r1"),
            Y.model("m", ["base"], gpus: 4),
            Y.topology("t1", mode: "single-region", [("r1", nil)]),
            Y.topology("t2", mode: "single-region", [("r2", nil)]),
            Y.placement("a", model: "m", topology: "t2", replicas: 2),
        ]
        if declareB { docs.append(Y.placement("b", model: "m", topology: "t1", replicas: 2)) }
        let l = Y.load(docs)
        #expect(l.isValid, "\(l.diagnostics)")
        var o = ObservedState()
        for (r, p) in [("r1", "a"), ("r2", "b")] {
            o.regions[r] = RegionObservation(capacity: ["gpu": AcceleratorCapacity(total: 8, free: 0)],
                                             artifacts: ["base": ObservedArtifact(digest: digest)],
                                             deployments: [p: ObservedDeployment(model: "m", version: "1.0.0", replicas: 2, ready: 2)],
                                             traffic: [p: 100])
        }
        return (l, o)
    }

    @Test("a deploy that needs room another placement frees in its region waits for that; a swap that would wait in a circle is ordered without the waits")
    func capacityWaits() {
        func find(_ p: Plan, _ kind: Action.Kind, _ placement: String, _ region: String? = nil) -> Action? {
            p.actions.first { $0.kind == kind && $0.placement == PlacementName(placement) && (region == nil || $0.region == RegionName(region!)) }
        }
        // b is gone: a's deploy in r2 waits for b's undeploy there, which waits for b's traffic to go.
        let (l1, o1) = Self.capacityCase(declareB: false)
        let p1 = Self.plan(l1, o1)
        let deployA = find(p1, .deploy, "a", "r2"), undeployB = find(p1, .undeploy, "b", "r2"), trafficB = find(p1, .setTraffic, "b")
        #expect(deployA != nil && undeployB != nil && trafficB != nil, "\(p1.actions)")
        #expect(deployA.map { d in undeployB.map { d.dependsOn.contains($0.id) } == true } == true, "\(p1.actions)")
        #expect(undeployB.map { u in trafficB.map { u.dependsOn.contains($0.id) } == true } == true)
        // a and b swap regions: each deploy would wait for the other's undeploy, which waits (through
        // its traffic) for the other deploy. The plan drops the waits, keeps every hard dependency,
        // and is still a valid order.
        let (l2, o2) = Self.capacityCase(declareB: true)
        let p2 = Self.plan(l2, o2)
        let swapped = [("a", "r2", "r1"), ("b", "r1", "r2")].map { p, to, from in
            (find(p2, .deploy, p, to), find(p2, .undeploy, p, from), find(p2, .setTraffic, p))
        }
        #expect(p2.actions.count == 6, "\(p2.actions)")
        for (deploy, undeploy, traffic) in swapped {
            guard let deploy, let undeploy, let traffic else {
                Issue.record("missing an action: \(p2.actions)")
                continue
            }
            #expect(traffic.dependsOn.contains(deploy.id))
            #expect(undeploy.dependsOn.contains(traffic.id))
            #expect(!deploy.dependsOn.contains { id in p2.actions.contains { $0.id == id && $0.kind == .undeploy } })
        }
        let position = Dictionary(uniqueKeysWithValues: p2.actions.enumerated().map { ($1.id, $0) })
        for a in p2.actions {
            #expect(a.dependsOn.allSatisfy { (position[$0] ?? .max) < position[a.id]! }, "\(a.id) comes after what it depends on")
        }
    }

    @Test("an orphan taking traffic in a later region still has its traffic moved before it is undeployed in an earlier one")
    func orphanTrafficFirst() {
        let l = Self.fleet(failover: [])
        var o = Self.converged(l)
        // Regions are visited in name order: eu-central's undeploy is drafted before eu-west's
        // traffic action, which it must still wait for.
        for r in ["eu-central", "eu-west"] {
            o.regions[r, default: RegionObservation()].deployments["ghost"] = ObservedDeployment(model: "assistant", version: "2.0.0", replicas: 1, ready: 1)
        }
        o.regions["eu-west"]!.traffic["ghost"] = 100
        let p = Self.plan(l, o)
        let traffic = p.actions.first { $0.kind == .setTraffic && $0.placement == PlacementName("ghost") }
        #expect(traffic?.weights == [RegionName("eu-west"): 0])
        let undeploys = p.actions.filter { $0.kind == .undeploy && $0.placement == PlacementName("ghost") }
        #expect(undeploys.compactMap(\.region?.rawValue).sorted() == ["eu-central", "eu-west"])
        for u in undeploys {
            #expect(traffic.map { u.dependsOn.contains($0.id) } == true, "\(u.region!) undeploys before the traffic moves")
        }
    }

    @Test("a drill of the primary's failure promotes the standby; failing every EU region leaves the placement unserved")
    func drill() {
        let l = Self.fleet()
        let running = Self.converged(l)
        let p = Self.plan(l, running, failed: [RegionName("eu-west")])
        #expect(actions(p, .deploy, in: "eu-central").first?.replicas == 2)
        let all = Self.plan(l, running, failed: [RegionName("eu-west"), RegionName("eu-central"), RegionName("eu-north")])
        #expect(all.unserved.contains { $0.reason.contains("cannot be placed") })
        #expect(all.actions.allSatisfy { $0.kind == .setTraffic || $0.region == RegionName("us-east") })
    }

    @Test("drillEach follows a failure through the pools: a failover that fills a region leaves its lower-priority placement unserved")
    func drillEachCascade() {
        // hi (priority 10) runs in a and fails over to b; lo runs only in b. Each fills its
        // region. Their artifacts differ, so lo reads nothing of a: only b's pool tells it.
        let l = Y.load([
            Y.jurisdiction("eu"),
            Y.region("a", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
            Y.region("b", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
            Y.region("c", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
            Y.artifact("w", origin: "c"),
            Y.artifact("v", origin: "c"),
            Y.model("m", ["w"], gpus: 4),
            Y.model("n", ["v"], gpus: 4),
            Y.topology("ta", mode: "single-region", [("a", nil)], failover: ["b"]),
            Y.topology("tb", mode: "single-region", [("b", nil)]),
            Y.placement("hi", model: "m", topology: "ta", replicas: 2, priority: 10),
            Y.placement("lo", model: "n", topology: "tb", replicas: 2, priority: 1),
        ])
        #expect(l.isValid, "\(l.diagnostics)")
        let running = Self.converged(l)
        #expect(Self.plan(l, running).unserved.isEmpty)
        let regions = ["a", "b", "c", "elsewhere"].map(RegionName.init)
        let drills = Planner.drillEach(l.state, fences: l.fences, observed: running, regions: regions)
        for (r, unserved) in zip(regions, drills) {
            #expect(unserved == Self.plan(l, running, failed: [r]).unserved, "\(r)")
        }
        // a down: hi moves to b and takes all of it, so lo, which claims after it, has no room.
        #expect(drills[0].map(\.placement) == [PlacementName("lo")])
        #expect(drills[0].first?.reason.contains("b has no room") == true)
        // b down: lo has nowhere to go; hi is untouched.
        #expect(drills[1].map(\.placement) == [PlacementName("lo")])
        #expect(drills[2].isEmpty && drills[3].isEmpty)
    }

    @Test("plan JSON has the spec's shape, and the same plan renders the same bytes")
    func json() {
        let l = Self.fleet()
        let p = Self.plan(l)
        let text = PlanJSON.render(p)
        #expect(text == PlanJSON.render(Self.plan(Self.fleet())))
        #expect(text.hasPrefix("{\n  \"formatVersion\": 1,\n  \"source\": {\n    \"commit\": null,\n    \"digest\": \"sha256:x\",\n    \"path\": \"fleet\"\n  },\n  \"observedGenerations\": {"))
        #expect(text.contains("\"summary\": {\n    \"purge\": 0,\n    \"stage-artifact\": \(p.count(.stageArtifact)),\n    \"deploy\": 2,\n    \"set-traffic\": 1,\n    \"undeploy\": 0,\n    \"delete-artifact\": 0\n  }\n}\n"))
        #expect(text.contains("\"type\": \"stage-artifact\",\n      \"region\": \"eu-west\",\n      \"artifact\": \"eu-ft\",\n      \"from\": null,\n      \"dependsOn\": [],\n      \"reason\": \"register eu-ft at its origin eu-west: active region of assistant-eu needs it\""))
        #expect(Self.plan(l, Self.converged(l)).actions.isEmpty)
        // Streamed in pieces (as `--out` writes it), the bytes are the same, whatever the piece size.
        for chunk in [1, 64, 1 << 20] {
            var pieces: [[UInt8]] = []
            PlanJSON.render(p, chunk: chunk) { pieces.append($0) }
            #expect(String(decoding: pieces.joined(), as: UTF8.self) == text)
            #expect(chunk > 1 || pieces.count > p.actions.count)
        }
    }

    @Test("the pull-request comment has the summary, the fence proof, a Mermaid graph, and stays under the limit")
    func markdown() {
        let l = Self.fleet()
        let p = Self.plan(l)
        let md = PlanMarkdown.render(p, state: l.state, fences: l.fences, violations: [])
        #expect(md.contains("### Summary") && md.contains("| eu-west |"))
        #expect(md.contains("✅ Every action was checked against the residency fences"))
        #expect(md.contains("```mermaid\nflowchart LR"))
        let short = PlanMarkdown.render(p, state: l.state, fences: l.fences, violations: [], limit: 500)
        #expect(short.count <= 500)
        #expect(short.contains("This comment was cut at 500 characters"))
    }
}
