import Dispatch
import MeridianCore
import MeridianEngine
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
    static func make(_ tapes: [[Int]], extra: [String] = [], edit: ((inout [RandomFleet]) -> Void)? = nil) -> (LoadResult, ObservedState)? {
        // The extra documents go last, so that adding or removing them moves no other object
        // (an object's source location is part of it).
        var fleets = tapes.map { RandomFleet(tape: $0) }
        edit?(&fleets)
        var docs: [String] = []
        for (w, fleet) in fleets.enumerated() { docs += fleet.yaml(names(w)) }
        let loaded = Y.load(docs + extra)
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

@Suite("Planning by parts", Shrinking.trait)
struct PlanPartitionTests {
    static let source = PlanSource(commit: nil, digest: "sha256:test", path: "fleet")

    static func whole(_ l: LoadResult, _ o: ObservedState) -> String {
        PlanJSON.render(Planner.plan(l.state, fences: l.fences, observed: o, source: source))
    }

    @Test("the parts' plans, merged, are the whole plan byte for byte, however many parts; and again after each apply")
    func mergedIsWhole() async {
        var worlds = 0, split = 0, mixed = 0
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
                        // Moved out on two threads at once: the same actions as copied, in the
                        // same order, and the parts' plans left empty.
                        var moved = plans
                        let laid = MergeOrder.laidEndToEnd(moving: &moved) { first, second in
                            DispatchQueue.concurrentPerform(iterations: 2) { $0 == 0 ? first() : second() }
                        }
                        #expect(laid == MergeOrder.laidEndToEnd(plans))
                        #expect(moved.allSatisfy { $0.actionCount == 0 })
                    }
                }
                // As `meridian plan` has it: on two threads, without a memo (the parts' actions
                // moved out of their plans, not copied).
                #expect(PlanJSON.render(PlanParts.plan(loaded.state, fences: loaded.fences, observed: observed, source: Self.source, threads: 2)) == expected)
                let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: observed, source: Self.source)
                observed = TestSimulator.apply(plan, observed, loaded.state)
            }
        }
        print("mergedIsWhole: \(worlds) valid worlds, \(split) observations split into parts, \(mixed) plans with actions in more than one part")
        #expect(worlds >= 60, "only \(worlds) valid worlds")
        #expect(split >= 150, "only \(split) observations split into parts")
        #expect(mixed >= 30, "only \(mixed) plans with actions in more than one part")
    }

    @Test("the partition's links, their two halves found one after the other in either order or at once, give the same parts")
    func linksInHalves() async {
        var worlds = 0, split = 0
        await propertyCheck(count: 200, input: tapes, tapes, tapes) { a, b, c in
            guard let (loaded, observed) = UnionWorld.make([a, b, c]) else { return }
            worlds += 1
            let serial = PlanPartition(loaded.state, fences: loaded.fences, observed: observed)
            let reversed = PlanPartition(loaded.state, fences: loaded.fences, observed: observed, both: { first, second in
                second()
                first()
            })
            let together = PlanPartition(loaded.state, fences: loaded.fences, observed: observed, both: { first, second in
                DispatchQueue.concurrentPerform(iterations: 2) { $0 == 0 ? first() : second() }
            })
            #expect(reversed.parts == serial.parts)
            #expect(together.parts == serial.parts)
            if serial.parts.count > 1 { split += 1 }
        }
        print("linksInHalves: \(worlds) valid worlds, \(split) split into parts")
        #expect(worlds >= 20, "only \(worlds) valid worlds")
        #expect(split >= 10, "only \(split) worlds split into parts")
    }

    @Test("planning again through a memo after an edit gives the whole plan byte for byte, and takes over unchanged parts")
    func memoAfterEdit() async {
        var edits = 0, reusedSome = 0, replannedSome = 0
        var merges: [String: Int] = [:]
        var byEdit = [Int](repeating: 0, count: 6), linksByEdit = [Int](repeating: 0, count: 6)
        await propertyCheck(count: 1_500, input: tapes, tapes, tapes, Gen.int(in: 0 ... 1_000)) { a, b, c, pick in
            let edit = (pick / 2) % 6
            // The spare jurisdiction half the time, and always for edit 2, which removes it (drawn
            // only when it was there, edit 2 ran half as often as the others, and a run of the
            // suite met 14 where 15 are asked for).
            let spare = pick % 2 == 0 || edit == 2 ? [Y.jurisdiction("spare")] : []
            guard let (before, observedBefore) = UnionWorld.make([a, b, c], extra: spare) else { return }
            let memo = PlanMemo()
            var first: Plan? = PlanParts.plan(before.state, fences: before.fences, observed: observedBefore, source: Self.source, memo: memo)
            let firstJSON = PlanJSON.render(first!)
            #expect(firstJSON == Self.whole(before, observedBefore))
            // The edit: one fleet replaced by another (its objects, fences and observation all
            // change); a jurisdiction nothing names added, or the spare one removed; the
            // regions' observation after the plan is applied; or one residency fence changed
            // (allowing everywhere, or denying one more jurisdiction), nothing else; or one
            // placement (more replicas, or another topology of its fleet), one topology (its
            // first region) or one model (its artifacts) edited.
            var after = before, observedAfter = observedBefore
            switch edit {
            case 0:
                let other = b.enumerated().map { $0.offset % 7 == pick % 7 ? ($0.element + 1 + pick) % 1_001 : $0.element }
                guard let (l, o) = UnionWorld.make([a, other, c], extra: spare) else { return }
                // A third of the time observed as before: objects changed, observation not.
                (after, observedAfter) = (l, pick % 3 == 0 ? observedBefore : o)
            case 1:
                guard let (l, _) = UnionWorld.make([a, b, c], extra: spare + [Y.jurisdiction("added")]) else { return }
                after = l
            case 2:
                guard !spare.isEmpty, let (l, _) = UnionWorld.make([a, b, c]) else { return }
                after = l
            case 3:
                observedAfter = TestSimulator.apply(first!, observedBefore, before.state)
            case 4:
                let w = pick % 3
                guard let (l, _) = UnionWorld.make([a, b, c], extra: spare, edit: { fleets in
                    guard !fleets[w].fences.isEmpty else { return }
                    let f = (pick / 10) % fleets[w].fences.count
                    if pick % 4 == 0 { fleets[w].fences[f].allow = nil } else { fleets[w].fences[f].deny.append(pick % fleets[w].jurisdictions) }
                }), !l.fences.universe.isEmpty else { return }
                after = l
            default:
                let w = pick % 3
                guard let (l, _) = UnionWorld.make([a, b, c], extra: spare, edit: { fleets in
                    let f = fleets[w], n = pick / 12
                    if pick % 4 == 0 && f.topologies.count > 1 && !f.placements.isEmpty {
                        let q = n % f.placements.count
                        fleets[w].placements[q].topology = (f.placements[q].topology + 1) % f.topologies.count
                    } else if pick % 4 == 1 && !f.topologies.isEmpty {
                        let t = n % f.topologies.count
                        fleets[w].topologies[t].regions[0] = (f.topologies[t].regions[0] + 1) % f.regions.count
                    } else if pick % 4 == 2 && !f.models.isEmpty {
                        let m = n % f.models.count
                        fleets[w].models[m] = f.models[m].isEmpty ? [n % f.artifacts.count] : [(f.models[m][0] + 1) % f.artifacts.count]
                    } else if !f.placements.isEmpty {
                        fleets[w].placements[n % f.placements.count].replicas += 1
                    }
                }) else { return }
                after = l
            }
            // A partition that takes over the last one's links (they hold when the regions,
            // artifacts, models, topologies and observation are the same) has exactly the
            // parts of one made afresh.
            let earlier = PlanPartition(before.state, fences: before.fences, observed: observedBefore)
            let taken = PlanPartition(after.state, fences: after.fences, observed: observedAfter, earlier: earlier)
            let fresh = PlanPartition(after.state, fences: after.fences, observed: observedAfter)
            #expect(taken.parts == fresh.parts, "edit \(edit)")
            #expect(!fresh.linksTakenOver && !earlier.linksTakenOver)
            if taken.linksTakenOver { linksByEdit[edit] += 1 }
            // Half the time the first plan is let go, so that the memo holds the last plan's
            // actions alone (they are then reused without a copy); a plan still held is left as it was.
            if pick / 12 % 2 == 0 { first = nil }
            let again = PlanParts.plan(after.state, fences: after.fences, observed: observedAfter, source: Self.source, memo: memo)
            #expect(PlanJSON.render(again) == Self.whole(after, observedAfter), "edit \(edit)")
            if let first { #expect(PlanJSON.render(first) == firstJSON, "edit \(edit): the plan held was changed") }
            edits += 1
            byEdit[edit] += 1
            let (total, reused) = memo.lastParts
            switch memo.lastMerge {
            case .gathered?: merges["gathered", default: 0] += 1
            case .inPlace?: merges["in place", default: 0] += 1
            case .rearranged?: merges["rearranged", default: 0] += 1
            case .takenOver?: merges["taken over", default: 0] += 1
            case .whole?: merges["whole", default: 0] += 1
            case nil: Issue.record("no merge after a plan through the memo")
            }
            if reused > 0 { reusedSome += 1 }
            if reused < total { replannedSome += 1 }
        }
        print("memoAfterEdit: \(edits) edits, by kind \(byEdit), links taken over by kind \(linksByEdit), merges \(merges)")
        // No tautology: every kind of edit ran, parts were taken over, and parts were planned again.
        #expect(edits >= 100, "only \(edits) edits")
        for (k, n) in byEdit.enumerated() { #expect(n >= 15, "edit \(k): \(n)") }
        // Links were taken over after each edit that leaves them as they were, and not after
        // one that changes a fleet's objects and observation.
        // (At least 8: how many cases of an edit are planned swings with the fleets drawn, and a
        // run met 14 where this asked for 15.)
        for k in [1, 2, 4, 5] { #expect(linksByEdit[k] >= 8, "links taken over after edit \(k): \(linksByEdit[k]) times") }
        #expect(linksByEdit[0] < byEdit[0], "links taken over after every replaced fleet")
        #expect(reusedSome >= 50, "parts taken over after only \(reusedSome) edits")
        #expect(replannedSome >= 50, "parts planned again after only \(replannedSome) edits")
        // Every way of merging through a memo ran (each plan compared above with the whole planner's).
        for merge in ["in place", "rearranged", "taken over"] { #expect(merges[merge, default: 0] >= 20, "\(merge): \(merges)") }
    }

    @Test("a partition takes over the last one's links only while they hold: an edit that links or adds objects has them made again")
    func linksFollowEdits() throws {
        // Two fleets that share nothing: two parts. Each edit but the last joins them, or adds
        // an object (which moves every later position); the last changes a placement alone.
        func docs(topologyRegion: String = "eu-1", modelArtifacts: [String] = ["a-eu"], usOrigin: String = "us-1",
                  extraRegion: Bool = false, replicas: Int = 1) -> [String] {
            [Y.jurisdiction("eu"), Y.jurisdiction("us"),
             Y.region("eu-1", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.region("us-1", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.artifact("a-eu", origin: "eu-1"), Y.artifact("a-us", origin: usOrigin),
             Y.model("m-eu", modelArtifacts), Y.model("m-us", ["a-us"]),
             Y.topology("t-eu", mode: "single-region", [(topologyRegion, nil)], failover: []),
             Y.topology("t-us", mode: "single-region", [("us-1", nil)], failover: []),
             Y.placement("p-eu", model: "m-eu", topology: "t-eu", replicas: replicas),
             Y.placement("p-us", model: "m-us", topology: "t-us")] + (extraRegion ? [Y.region("ap-1", "us")] : [])
        }
        let before = Y.load(docs())
        try #require(before.isValid, "\(before.diagnostics)")
        let observed = ObservedState(regions: ["eu-1": RegionObservation(jurisdiction: "eu"), "us-1": RegionObservation(jurisdiction: "us")])
        let earlier = PlanPartition(before.state, fences: before.fences, observed: observed)
        #expect(earlier.parts.count == 2)
        let edits: [(String, [String], Int, Bool)] = [
            ("a topology moved to the other fleet's region", docs(topologyRegion: "us-1"), 1, false),
            ("a model given the other fleet's artifact", docs(modelArtifacts: ["a-eu", "a-us"]), 1, false),
            ("an artifact's origin moved", docs(usOrigin: "eu-1"), 1, false),
            ("a region added", docs(extraRegion: true), 3, false),
            ("a placement's replicas changed", docs(replicas: 2), 2, true),
        ]
        for (what, files, parts, takenOver) in edits {
            let after = Y.load(files)
            try #require(after.isValid, "\(what): \(after.diagnostics)")
            let taken = PlanPartition(after.state, fences: after.fences, observed: observed, earlier: earlier)
            let fresh = PlanPartition(after.state, fences: after.fences, observed: observed)
            #expect(taken.parts == fresh.parts, "\(what)")
            #expect(taken.parts.count == parts, "\(what)")
            #expect(taken.linksTakenOver == takenOver, "\(what)")
        }
        // The same objects observed otherwise: a region that reports the other fleet's model joins them.
        var other = observed
        other.regions["eu-1"]!.deployments["p-x"] = ObservedDeployment(model: "m-us", version: "1.0.0", replicas: 1, ready: 1)
        let taken = PlanPartition(before.state, fences: before.fences, observed: other, earlier: earlier)
        #expect(!taken.linksTakenOver)
        #expect(taken.parts.count == 1)
    }

    @Test("a table patched from the last load's is compared at the positions it replaced alone, and a memo plans again only the part they are in: answers and plan as a fresh load's")
    func patchedTables() throws {
        func docs(replicas: Int) -> [String] {
            [Y.jurisdiction("eu"), Y.jurisdiction("us"),
             Y.region("eu-1", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.region("us-1", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.artifact("a-eu", origin: "eu-1"), Y.artifact("a-us", origin: "us-1"),
             Y.model("m-eu", ["a-eu"]), Y.model("m-us", ["a-us"]),
             Y.topology("t-eu", mode: "single-region", [("eu-1", nil)], failover: []),
             Y.topology("t-us", mode: "single-region", [("us-1", nil)], failover: []),
             Y.placement("p-eu", model: "m-eu", topology: "t-eu", replicas: replicas),
             Y.placement("p-us", model: "m-us", topology: "t-us")]
        }
        // One file per object; p-eu's is the one that changes.
        func parse(_ docs: [String]) -> [ParsedFile] {
            docs.enumerated().map { ManifestLoader.parse(ManifestFile(path: "f\($0.offset + 10).yaml", bytes: Array($0.element.utf8))) }
        }
        let changed = [10]
        func patch(_ parsed: [ParsedFile], from earlier: LoadResult) -> LoadResult {
            ManifestLoader.assemble(parsed, fileCount: parsed.count, earlier: earlier, unchangedKinds: KindSet.all.subtracting(KindSet(.placement)),
                                    sameNames: KindSet(.placement), changedFiles: changed)
        }
        let before = ManifestLoader.assemble(parse(docs(replicas: 1)), fileCount: 12)
        let parsedAfter = parse(docs(replicas: 2))
        let patched = patch(parsedAfter, from: before), fresh = ManifestLoader.assemble(parsedAfter, fileCount: 12)
        try #require(before.isValid && patched.isValid, "\(before.diagnostics) \(patched.diagnostics)")
        #expect(patched.tablesPatched == KindSet(.placement) && patched.state.placementList == fresh.state.placementList)
        let (p, b, f) = (patched.state.placements, before.state.placements, fresh.state.placements)
        #expect(p.replacedPositions(from: b) == [Int32(b.position(of: PlacementName("p-eu"))!)])
        #expect(p.replacedPositions(from: f) == nil && f.replacedPositions(from: b) == nil && b.replacedPositions(from: p) == nil)
        // Compared each way: the replaced object differs; with the same object put back, the same.
        #expect(!p.holdsSameObjects(as: b) && !b.holdsSameObjects(as: p) && p.holdsSameObjects(as: f) && f.holdsSameObjects(as: p))
        let unchanged = patch(parse(docs(replicas: 1)), from: before)
        #expect(unchanged.tablesPatched == KindSet(.placement))
        #expect(unchanged.state.placements.holdsSameObjects(as: b) && b.holdsSameObjects(as: unchanged.state.placements))
        // Through a memo: p-us's part is taken over, p-eu's planned again, and the plan is the
        // whole planner's.
        let observed = ObservedState(regions: ["eu-1": RegionObservation(jurisdiction: "eu"), "us-1": RegionObservation(jurisdiction: "us")])
        let memo = PlanMemo()
        _ = PlanParts.plan(before.state, fences: before.fences, observed: observed, source: Self.source, memo: memo)
        let again = PlanParts.plan(patched.state, fences: patched.fences, observed: observed, source: Self.source, memo: memo)
        #expect(PlanJSON.render(again) == Self.whole(fresh, observed))
        #expect(memo.lastParts == (2, 1))
        // The parts were taken over (the placements' references are the same), and the last
        // plan's actions kept in place but p-eu's part's. The checks of the placements were
        // run for p-eu alone.
        #expect(PlanPartition(patched.state, fences: patched.fences, observed: observed,
                              earlier: PlanPartition(before.state, fences: before.fences, observed: observed)).partsTakenOver)
        #expect(memo.lastMerge == .inPlace(parts: 1))
        #expect(patched.structuralChecks.patched == [.placements] && patched.fenceChecks.patched == [.placements])
        // The same state again: the plan is taken over whole.
        let third = PlanParts.plan(patched.state, fences: patched.fences, observed: observed, source: Self.source, memo: memo)
        #expect(memo.lastParts == (2, 2) && memo.lastMerge == .takenOver && PlanJSON.render(third) == PlanJSON.render(again))
        // The last table is held weakly: once it is gone, no table passes for it, not even one
        // made where it was.
        var gone: LoadResult? = ManifestLoader.assemble(parse(docs(replicas: 1)), fileCount: 12)
        let orphan = patch(parsedAfter, from: gone!)
        #expect(orphan.tablesPatched == KindSet(.placement) && orphan.state.placements.replacedPositions(from: gone!.state.placements) != nil)
        gone = nil
        for _ in 0 ..< 50 {
            let next = ManifestLoader.assemble(parse(docs(replicas: 1)), fileCount: 12)
            #expect(orphan.state.placements.replacedPositions(from: next.state.placements) == nil)
            #expect(!orphan.state.placements.holdsSameObjects(as: next.state.placements))
        }
        #expect(orphan.state.placements.holdsSameObjects(as: f) && !orphan.state.placements.holdsSameObjects(as: b))
    }

    @Test("a memo's plan with more or fewer actions than the last moves the last plan's actions into place and renames them: the whole planner's plan each time, a plan held left as it was")
    func rearrangeGrowsAndShrinks() throws {
        // Two fleets that share nothing; the EU one has one placement more in every other state.
        // Its part is planned again each time; the US part's actions, after the EU's in each
        // phase, move up or down and are renamed.
        func docs(extra: Bool) -> [String] {
            [Y.jurisdiction("eu"), Y.jurisdiction("us"),
             Y.region("eu-1", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
             Y.region("us-1", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 8}]}\n"),
             Y.artifact("a-eu", origin: "eu-1"), Y.artifact("b-eu", origin: "eu-1"), Y.artifact("a-us", origin: "us-1"),
             Y.model("m-eu", ["a-eu"]), Y.model("n-eu", ["b-eu"]), Y.model("m-us", ["a-us"]),
             Y.topology("t-eu", mode: "single-region", [("eu-1", nil)], failover: []),
             Y.topology("t-us", mode: "single-region", [("us-1", nil)], failover: []),
             Y.placement("p-eu", model: "m-eu", topology: "t-eu"), Y.placement("p-us", model: "m-us", topology: "t-us")]
                + (extra ? [Y.placement("q-eu", model: "n-eu", topology: "t-eu")] : [])
        }
        let small = Y.load(docs(extra: false)), large = Y.load(docs(extra: true))
        try #require(small.isValid && large.isValid, "\(small.diagnostics) \(large.diagnostics)")
        let observed = ObservedState(regions: ["eu-1": RegionObservation(jurisdiction: "eu"), "us-1": RegionObservation(jurisdiction: "us")])
        let memo = PlanMemo()
        var held: (Plan, String)?
        var counts: [Int] = []
        for round in 0 ..< 6 {
            let loaded = round % 2 == 0 ? small : large
            let plan = PlanParts.plan(loaded.state, fences: loaded.fences, observed: observed, source: Self.source, memo: memo)
            #expect(PlanJSON.render(plan) == Self.whole(loaded, observed), "round \(round)")
            if round > 0 { #expect(memo.lastMerge == .rearranged(parts: 1) && memo.lastParts == (2, 1), "round \(round)") }
            if let (plan, json) = held { #expect(PlanJSON.render(plan) == json, "round \(round): the plan held was changed") }
            // Every other plan is held while the next is made (the memo's copy is then shared).
            held = round % 4 < 2 ? (plan, PlanJSON.render(plan)) : nil
            counts.append(plan.actions.count)
        }
        // The EU placement adds actions, some of them before the US part's in plan order.
        #expect(counts[1] > counts[0] && counts[0] == counts[2] && counts[1] == counts[3])
    }

    @Test("a part is planned again when a fence it reads changes, even through a jurisdiction it never names")
    func fenceChangeReplans() throws {
        // An unfenced model artifact may live in every jurisdiction: adding one changes its
        // effective fence, and so the part that serves it; a fenced fleet beside it is kept.
        func docs(_ extra: [String]) -> [String] {
            [Y.jurisdiction("eu"), Y.jurisdiction("us"),
             Y.region("eu-1", "eu", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.region("us-1", "us", extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.fence("eu-only", allow: ["eu"]),
             Y.artifact("free", origin: "us-1"), Y.artifact("fenced", origin: "eu-1", fences: ["eu-only"]),
             Y.model("m-free", ["free"]), Y.model("m-fenced", ["fenced"]),
             Y.topology("t-us", mode: "single-region", [("us-1", nil)], failover: []),
             Y.topology("t-eu", mode: "single-region", [("eu-1", nil)], failover: []),
             Y.placement("p-us", model: "m-free", topology: "t-us"), Y.placement("p-eu", model: "m-fenced", topology: "t-eu")] + extra
        }
        let before = Y.load(docs([])), after = Y.load(docs([Y.jurisdiction("zz")]))
        try #require(before.isValid && after.isValid, "\(before.diagnostics) \(after.diagnostics)")
        var observed = ObservedState()
        observed.regions["eu-1"] = RegionObservation(jurisdiction: "eu")
        observed.regions["us-1"] = RegionObservation(jurisdiction: "us")
        let memo = PlanMemo()
        _ = PlanParts.plan(before.state, fences: before.fences, observed: observed, source: Self.source, memo: memo)
        #expect(memo.lastParts == (2, 0))
        let again = PlanParts.plan(after.state, fences: after.fences, observed: observed, source: Self.source, memo: memo)
        #expect(memo.lastParts == (2, 1))
        #expect(PlanJSON.render(again) == Self.whole(after, observed))
        // The same state once more: both parts are taken over.
        _ = PlanParts.plan(after.state, fences: after.fences, observed: observed, source: Self.source, memo: memo)
        #expect(memo.lastParts == (2, 2))
    }

    @Test("a part is planned again when the fence of a copy it holds changes, though no model uses it")
    func heldCopyFenceChangeReplans() throws {
        func docs(_ allow: String) -> [String] {
            [Y.jurisdiction("eu"), Y.jurisdiction("us"), Y.region("eu-1", "eu"), Y.region("us-1", "us"),
             Y.fence("f", allow: [allow]), Y.artifact("x", origin: "us-1", fences: ["f"]), Y.artifact("y", origin: "us-1")]
        }
        let before = Y.load(docs("*")), after = Y.load(docs("us"))
        try #require(before.isValid && after.isValid, "\(before.diagnostics) \(after.diagnostics)")
        let copy = ObservedArtifact(digest: "sha256:" + String(repeating: "ab", count: 32))
        var observed = ObservedState()
        observed.regions["eu-1"] = RegionObservation(jurisdiction: "eu", artifacts: ["x": copy])
        observed.regions["us-1"] = RegionObservation(jurisdiction: "us", artifacts: ["x": copy, "y": copy])
        let memo = PlanMemo()
        let first = PlanParts.plan(before.state, fences: before.fences, observed: observed, source: Self.source, memo: memo)
        #expect(!first.actions.contains { $0.kind == .purge })
        // x may no longer live in the EU: its copy there is purged. Nothing of the part changed
        // but the fence of a copy one of its regions holds.
        let again = PlanParts.plan(after.state, fences: after.fences, observed: observed, source: Self.source, memo: memo)
        #expect(PlanJSON.render(again) == Self.whole(after, observed))
        #expect(again.actions.contains { $0.kind == .purge && $0.region == RegionName("eu-1") && $0.artifact == ArtifactName("x") })
        #expect(memo.lastParts.reused < memo.lastParts.total)
    }

    @Test("a part is planned again when a region it replicates to, in another part, changes jurisdiction")
    func closureChangeReplans() throws {
        func docs(_ replicaJurisdiction: String) -> [String] {
            [Y.jurisdiction("eu"), Y.jurisdiction("us"),
             Y.region("eu-1", "eu", replicatesTo: ["eu-2"], extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.region("eu-2", replicaJurisdiction, extra: "  capacity: {accelerators: [{type: gpu, count: 4}]}\n"),
             Y.fence("eu-only", allow: ["eu"]),
             Y.artifact("fenced", origin: "eu-1", fences: ["eu-only"]),
             Y.model("m", ["fenced"]),
             Y.topology("t", mode: "single-region", [("eu-1", nil)], failover: []),
             Y.placement("p", model: "m", topology: "t")]
        }
        let before = Y.load(docs("eu")), after = Y.load(docs("us"))
        try #require(before.isValid, "\(before.diagnostics)")
        var observed = ObservedState()
        observed.regions["eu-1"] = RegionObservation(jurisdiction: "eu", artifacts: ["fenced": ObservedArtifact(digest: "sha256:" + String(repeating: "ab", count: 32))],
                                                     deployments: ["p": ObservedDeployment(model: "m", version: "1.0.0", replicas: 1, ready: 1)],
                                                     traffic: ["p": 100])
        observed.regions["eu-2"] = RegionObservation(jurisdiction: "eu")
        let memo = PlanMemo()
        let first = PlanParts.plan(before.state, fences: before.fences, observed: observed, source: Self.source, memo: memo)
        #expect(first.isEmpty)
        #expect(memo.lastParts == (2, 0))
        // eu-2 now declared in the US: eu-1's storage reaches the US, so it is outside the
        // fence (the new state does not validate, but the planner must still see it).
        observed.regions["eu-2"] = RegionObservation(jurisdiction: "us")
        let again = PlanParts.plan(after.state, fences: after.fences, observed: observed, source: Self.source, memo: memo)
        // eu-1's part is planned again, though none of its objects or observations changed.
        #expect(memo.lastParts == (2, 0))
        #expect(PlanJSON.render(again) == Self.whole(after, observed))
        #expect(again.actions.contains { $0.kind == .purge && $0.region == RegionName("eu-1") })
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
