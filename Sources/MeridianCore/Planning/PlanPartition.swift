/// The plan split into parts that share nothing, each planned on its own and merged into exactly
/// the plan of the whole (`Planner.plan`, byte for byte; a property test holds it to that).
///
/// Two objects are in the same part when the planner can read one while it plans the other:
/// an artifact and its origin and every region that reports a copy of it; a model and its
/// artifacts; a topology and its regions and failover regions; a placement and its model and
/// topology; a region and every placement (declared or not) it reports a deployment of or
/// traffic for, and the model each deployment runs. Everything else the planner reads of
/// fences (effective fences, region closures, model fences, how a set is described) comes from
/// the fence analysis of the whole state, which every part shares, so a part's plan is exactly
/// what the whole planner drafts for those objects. Jurisdictions, residency fences, guardrails
/// and lineage are read only through that analysis.
///
/// The whole planner orders its drafts by Kahn's algorithm, always taking the ready draft with
/// the smallest key (kind, region, name). Parts share no dependency, so each part's drafts
/// become ready exactly as they do when the part is planned alone, and the whole order is the
/// parts' orders merged by always taking the part whose next action has the smallest key.
/// (Capacity waits are dropped from the whole plan when they close a cycle anywhere: then
/// `merge` gives nil, and the caller plans the whole.)
///
/// Parts are planned on any thread (`MeridianEngine` plans them on every core) and, where a
/// part's inputs are unchanged, reused from an earlier plan (`Reuse`).
public struct PlanPartition: Sendable {
    /// A part, as positions in the whole state's lists (in name order); its own state is
    /// built when it is planned, on the thread that plans it.
    public struct Part: Sendable, Equatable {
        var regions: [Int32] = []
        var artifacts: [Int32] = []
        var models: [Int32] = []
        var topologies: [Int32] = []
        var placements: [Int32] = []
        /// About how much planning the part takes (its objects and observed entries), for
        /// scheduling.
        public internal(set) var weight = 0
    }

    public let parts: [Part]
    /// The whole state, its fence analysis, which every part reads, and the observation.
    let state: DesiredState
    let fences: FenceAnalysis
    let observed: ObservedState
    /// Whether `fences.effective` is by position in `state.artifacts.list` (the analysis was
    /// made from this state), so that a part's planner takes its artifacts' effective fences by
    /// position instead of looking each up by name.
    let effectiveByPosition: Bool

    /// The links between objects that do not involve a declared placement's own references:
    /// each artifact to its origin, each model to its artifacts, each topology to its regions,
    /// and each region to what it reports (copies, deployed models), as a union-find forest
    /// over regions, artifacts, models and topologies (by position, in that order); and each
    /// region's reports of placements, by name, joined once the placements are numbered.
    /// They read the regions, artifacts, models, topologies and observation alone, so a later
    /// partition whose tables of those four kinds hold the same objects, observed the same,
    /// takes them over (`init(…, earlier:)`): after a placement edit only the placements' own
    /// links are made again. Which links a forest was built in does not matter: a group is the
    /// same set of objects whatever the order of its unions, and is numbered by its smallest.
    final class Links: Sendable {
        let parent: [Int32]
        /// Per region: how many entries its observation has (for weights).
        let observedEntries: [Int]
        /// A region (position) and a placement it reports a deployment of or traffic for.
        let reported: [(region: Int32, placement: String)]

        /// The links are found in two halves, which `both` may run at once (on two threads), each
        /// a list of pairs found by name lookups (most of the work): three quarters of the
        /// artifacts' origins in one; the rest of them, the topologies' regions, the models'
        /// artifacts (taken from `fences`, which has them as positions when it was made for these
        /// very tables) and the observation's links in the other. On the benchmark fleet, the
        /// origins alone took most of the time, and with them all in one half the other waited
        /// for it. The pairs are then joined here. Only each group's root is ever read (`find`),
        /// and a root is its group's smallest node whatever order the unions come in.
        init(_ state: DesiredState, observed: ObservedState, fences: FenceAnalysis? = nil,
             both: (_ first: @Sendable () -> Void, _ second: @Sendable () -> Void) -> Void = { $0(); $1() }) {
            let regions = state.regionList, artifacts = state.artifacts.list, models = state.models.list
            let topologies = state.topologies.list
            let artifactBase = regions.count, modelBase = artifactBase + artifacts.count
            let topologyBase = modelBase + models.count
            let halves = Halves()
            // The analysis's model → artifact positions, when its tables are these.
            let modelArtifacts = fences.flatMap { f in
                f.state.models.holdsSameObjects(as: state.models) && f.state.artifacts.holdsSameObjects(as: state.artifacts)
                    && f.modelArtifactStart.count == models.count + 1 ? (f.modelArtifactStart, f.modelArtifactList) : nil
            }
            let split = artifacts.count * 3 / 4
            both({
                var pairs: [UInt64] = []
                pairs.reserveCapacity(split)
                for i in 0 ..< split {
                    Prefetch.ahead(in: artifacts, of: i, lines: 2)
                    if let k = state.regions.position(of: artifacts[i].origin.value) { pairs.append(Halves.pair(artifactBase + i, k)) }
                }
                halves.declared = pairs
            }, {
                var pairs: [UInt64] = []
                func pair(_ a: Int, region name: RegionName) {
                    if let k = state.regions.position(of: name) { pairs.append(Halves.pair(a, k)) }
                }
                for i in split ..< artifacts.count {
                    Prefetch.ahead(in: artifacts, of: i, lines: 2)
                    pair(artifactBase + i, region: artifacts[i].origin.value)
                }
                for t in topologies.indices {
                    for r in topologies[t].regions { pair(topologyBase + t, region: r.name.value) }
                    for r in topologies[t].failover { pair(topologyBase + t, region: r.value) }
                }
                if let (start, list) = modelArtifacts {
                    for m in models.indices {
                        for i in list[Int(start[m]) ..< Int(start[m + 1])] where i >= 0 { pairs.append(Halves.pair(modelBase + m, artifactBase + Int(i))) }
                    }
                } else {
                    for m in models.indices {
                        for a in models[m].artifacts {
                            if let i = state.artifacts.position(of: a.value) { pairs.append(Halves.pair(modelBase + m, artifactBase + i)) }
                        }
                    }
                }
                var observedEntries = [Int](repeating: 0, count: regions.count)
                var reported: [(region: Int32, placement: String)] = []
                for (k, region) in regions.enumerated() {
                    guard let o = observed.regions[region.name.rawValue] else { continue }
                    observedEntries[k] = o.artifacts.count + o.deployments.count + o.traffic.count
                    for a in o.artifacts.keys {
                        if let i = state.artifacts.position(of: ArtifactName(a)) { pairs.append(Halves.pair(k, artifactBase + i)) }
                    }
                    for (p, d) in o.deployments {
                        reported.append((Int32(k), p))
                        if let m = state.models.position(of: ModelName(d.model)) { pairs.append(Halves.pair(k, modelBase + m)) }
                    }
                    for p in o.traffic.keys { reported.append((Int32(k), p)) }
                }
                halves.observed = (pairs, observedEntries, reported)
            })
            var parent = (0 ..< Int32(topologyBase + topologies.count)).map { $0 }
            for pairs in [halves.declared!, halves.observed!.pairs] {
                for p in pairs { PlanPartition.union(&parent, Int32(truncatingIfNeeded: p >> 32), Int32(truncatingIfNeeded: p & 0xFFFF_FFFF)) }
            }
            self.parent = parent
            self.observedEntries = halves.observed!.entries
            self.reported = halves.observed!.reported
        }

        /// What the two halves of `init` found; each field is written by one half only, and
        /// read once both are done.
        private final class Halves: @unchecked Sendable {
            var declared: [UInt64]?
            var observed: (pairs: [UInt64], entries: [Int], reported: [(region: Int32, placement: String)])?

            static func pair(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        }

        /// Whether a partition of `state` and `observed` may take over these links, made for
        /// `earlier` and `earlierObserved`: the four tables they read hold the same objects
        /// (a lent table at once), and every region is observed the same (one dictionary
        /// storage at once).
        static func holdFor(_ state: DesiredState, _ observed: ObservedState, earlier: DesiredState, earlierObserved: ObservedState) -> Bool {
            state.regions.holdsSameObjects(as: earlier.regions) && state.artifacts.holdsSameObjects(as: earlier.artifacts)
                && state.models.holdsSameObjects(as: earlier.models) && state.topologies.holdsSameObjects(as: earlier.topologies)
                && observed.regions == earlierObserved.regions
        }
    }

    let links: Links
    /// Whether this partition took over an earlier partition's links.
    public let linksTakenOver: Bool
    /// Whether it took over the earlier partition's parts as well: its links, and every
    /// placement's name, model and topology, are the earlier partition's.
    public let partsTakenOver: Bool
    /// The most parts it may have (see `init`).
    let maxParts: Int

    /// The root of `x`'s tree, halving the path on the way.
    static func find(_ parent: inout [Int32], _ x: Int32) -> Int32 {
        var x = x
        while parent[Int(x)] != x {
            parent[Int(x)] = parent[Int(parent[Int(x)])]
            x = parent[Int(x)]
        }
        return x
    }

    /// Joins the trees of `a` and `b`; the smaller root becomes the root of both.
    static func union(_ parent: inout [Int32], _ a: Int32, _ b: Int32) {
        let ra = find(&parent, a), rb = find(&parent, b)
        if ra < rb { parent[Int(rb)] = ra } else if rb < ra { parent[Int(ra)] = rb }
    }

    /// At most `maxParts` parts: when there are more independent groups, the smaller ones share
    /// parts (largest first, each into the lightest part so far). With `earlier`, the last
    /// partition, its links are taken over where they hold (see `Links`).
    ///
    /// `both` runs two pieces of work, at once if it can (see `Links`).
    public init(_ state: DesiredState, fences: FenceAnalysis, observed: ObservedState, maxParts: Int = 64, earlier: PlanPartition? = nil,
                both: (_ first: @Sendable () -> Void, _ second: @Sendable () -> Void) -> Void = { $0(); $1() }) {
        self.state = state
        self.fences = fences
        self.observed = observed
        self.maxParts = maxParts
        effectiveByPosition = fences.effective.count == state.artifacts.count
            && fences.state.artifacts.list.withUnsafeBufferPointer { a in state.artifacts.list.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
        if let earlier, Links.holdFor(state, observed, earlier: earlier.state, earlierObserved: earlier.observed) {
            links = earlier.links
            linksTakenOver = true
        } else {
            links = Links(state, observed: observed, fences: fences, both: both)
            linksTakenOver = false
        }
        // The parts are a function of the links and of each placement's name, model and
        // topology (the placements' own links). With the links taken over, and the placements
        // known to have the same names in the same order (one storage, or a table patched from
        // the earlier one), only the replaced placements' references are compared: after a
        // placement's replicas changed, the earlier parts are these parts.
        if let earlier, linksTakenOver, earlier.maxParts == maxParts, let changed = state.placements.changedPositions(since: earlier.state.placements) {
            let (now, was) = (state.placements.list, earlier.state.placements.list)
            if changed.allSatisfy({ now[Int($0)].model.value == was[Int($0)].model.value && now[Int($0)].topology.value == was[Int($0)].topology.value }) {
                parts = earlier.parts
                partsTakenOver = true
                return
            }
        }
        partsTakenOver = false
        let regions = state.regionList, artifacts = state.artifacts.list, models = state.models.list
        let topologies = state.topologies.list, placements = state.placements.list
        let artifactBase = regions.count, modelBase = artifactBase + artifacts.count
        let topologyBase = modelBase + models.count, placementBase = topologyBase + topologies.count
        let declaredCount = placementBase + placements.count
        precondition(links.parent.count == placementBase, "links of another fleet")
        var parent = links.parent
        parent.reserveCapacity(declaredCount + 16)
        parent += (Int32(placementBase) ..< Int32(declaredCount))
        func find(_ x: Int32) -> Int32 { Self.find(&parent, x) }
        func union(_ a: Int32, _ b: Int32) { Self.union(&parent, a, b) }
        // Placements observed but not declared: one node per name, so that every region that
        // reports one is in the same part (its traffic is steered across all of them at once).
        var undeclared: [String: Int32] = [:]
        func placementNode(_ name: String) -> Int32 {
            if let k = state.placements.position(of: PlacementName(name)) { return Int32(placementBase + k) }
            if let n = undeclared[name] { return n }
            let n = Int32(parent.count)
            parent.append(n)
            undeclared[name] = n
            return n
        }
        for p in placements.indices {
            if let m = state.models.position(of: placements[p].model.value) { union(Int32(placementBase + p), Int32(modelBase + m)) }
            if let t = state.topologies.position(of: placements[p].topology.value) { union(Int32(placementBase + p), Int32(topologyBase + t)) }
        }
        for (k, p) in links.reported { union(k, placementNode(p)) }
        let observedEntries = links.observedEntries
        // Groups by root, in order of their smallest node, with their weights.
        var group = [Int32](repeating: -1, count: parent.count)
        var weights: [Int] = []
        for x in 0 ..< Int32(parent.count) {
            let root = Int(find(x))
            if group[root] < 0 {
                group[root] = Int32(weights.count)
                weights.append(0)
            }
            let g = Int(group[root])
            group[Int(x)] = Int32(g)
            weights[g] += 1 + (Int(x) < regions.count ? observedEntries[Int(x)] : 0)
        }
        // Groups into parts: largest first, each into the lightest part so far (ties: the first).
        let partCount = min(max(1, maxParts), weights.count)
        var partOf = [Int](repeating: 0, count: weights.count)
        var load = [Int](repeating: 0, count: partCount)
        for g in weights.indices.sorted(by: { weights[$0] != weights[$1] ? weights[$0] > weights[$1] : $0 < $1 }) {
            var lightest = 0
            for p in 1 ..< partCount where load[p] < load[lightest] { lightest = p }
            partOf[g] = lightest
            load[lightest] += weights[g]
        }
        var parts = [Part](repeating: Part(), count: partCount)
        for p in 0 ..< partCount { parts[p].weight = load[p] }
        // Each part's objects as positions, ascending (so in name order).
        for x in 0 ..< declaredCount {
            let p = partOf[Int(group[x])]
            switch x {
            case ..<artifactBase: parts[p].regions.append(Int32(x))
            case ..<modelBase: parts[p].artifacts.append(Int32(x - artifactBase))
            case ..<topologyBase: parts[p].models.append(Int32(x - modelBase))
            case ..<placementBase: parts[p].topologies.append(Int32(x - topologyBase))
            default: parts[p].placements.append(Int32(x - placementBase))
            }
        }
        self.parts = parts
    }

    /// Whether an earlier partition's merge keys (`MergeOrder.keys`) hold for this one's part
    /// plans: its regions are the same names in the same order (a key holds a region's position).
    public func mergeKeysHold(from earlier: PlanPartition) -> Bool {
        state.regions.hasSameNames(as: earlier.state.regions)
    }

    /// Plans one part. Reads only the partition: parts may be planned at once, on any threads.
    public func plan(part p: Int) -> PartPlan {
        let part = parts[p]
        func table<S, V>(_ whole: ObjectTable<S, V>, _ positions: [Int32], _ meta: (V) -> ObjectMeta) -> ObjectTable<S, V> {
            let list = whole.list
            let objects = positions.indices.map { j in
                // (Artifacts' objects, each retained as it is copied: asked for ahead.)
                if j + Prefetch.distance < positions.count {
                    list.withUnsafeBufferPointer { Prefetch.object(of: $0, at: Int(positions[j + Prefetch.distance]), retained: true) }
                }
                return list[Int(positions[j])]
            }
            return ObjectTable(sorted: objects, meta: meta)
        }
        let partState = DesiredState(
            jurisdictions: ObjectTable([:]), regions: table(state.regions, part.regions, \.meta),
            artifacts: table(state.artifacts, part.artifacts, \.meta), fences: ObjectTable([:]),
            models: table(state.models, part.models, \.meta), topologies: table(state.topologies, part.topologies, \.meta),
            placements: table(state.placements, part.placements, \.meta), guardrails: ObjectTable([:]))
        var partObserved = ObservedState()
        for k in part.regions {
            let name = state.regionList[Int(k)].name.rawValue
            if let o = observed.regions[name] { partObserved.regions[name] = o }
        }
        let effective = effectiveByPosition ? part.artifacts.map { fences.effective[Int($0)] } : nil
        return Planner(state: partState, fences: fences, observed: partObserved, options: Planner.Options(), effective: effective).runPart()
    }

    /// The parts planned one after the other and merged: `Planner.plan` of the whole state, by
    /// way of the parts.
    public static func plan(_ state: DesiredState, fences: FenceAnalysis, observed: ObservedState, source: PlanSource,
                            maxParts: Int = 64) -> Plan {
        let partition = PlanPartition(state, fences: fences, observed: observed, maxParts: maxParts)
        return partition.merge(partition.parts.indices.map { partition.plan(part: $0) }, source: source)
            ?? Planner.plan(state, fences: fences, observed: observed, source: source)
    }

    /// The whole plan from the parts' plans (in part order), or nil when it is not their merge:
    /// a part ordered without its capacity waits (they closed a cycle), which the whole planner
    /// then does for every part; or an action in a region that is not declared (never in a
    /// valid state's plan), which the merge cannot place.
    public func merge(_ plans: [PartPlan], source: PlanSource) -> Plan? {
        guard let order = mergeOrder(plans) else { return nil }
        var actions = MergeOrder.laidEndToEnd(plans)
        order.arrange(&actions)
        let ids = (0 ..< order.count).map { Planner.actionID($0 + 1) }
        ids.withUnsafeBufferPointer { ids in actions.withUnsafeMutableBufferPointer { order.number($0, ids: ids, range: 0 ..< order.count) } }
        return order.plan(actions, source: source)
    }

    /// Where each action of the parts' plans goes in the whole plan, or nil when the plan is not
    /// their merge (see `merge`). The order holds none of the parts' actions: the caller lays
    /// them end to end (`MergeOrder.laidEndToEnd`, or taking each part's out as it goes, so that
    /// the actions are never held twice), puts them in plan order (`arrange`) and numbers them
    /// (`number`, range by range, on any thread, from the ids `MergeOrder.ids` made); or, when
    /// the parts' plans are kept, copies each action straight into its place and numbers it
    /// there (`gather`).
    ///
    /// `cached` may give a part's ordering keys, as the merge of an earlier plan made them
    /// (`MergeOrder.keys`): they are taken as they are. They hold for the very same part plan
    /// while the regions are the same names in the same order (a key is a region's position).
    public func mergeOrder(_ plans: [PartPlan], keys cached: [[Int64]?] = []) -> MergeOrder? {
        precondition(plans.count == parts.count, "one plan per part")
        if plans.count > 1 && plans.contains(where: \.capacityWaitsDropped) { return nil }
        // The ordering key of an action (`Planner.topological`): kind, region (none first), then
        // its placement's or artifact's name. Regions as positions in the whole state (name
        // order); an action's region always belongs to its part, so two parts' actions with a
        // region never tie on it, and the name decides only between two without one (traffic,
        // by placement: each placement is in one part). Kind and region are packed into one
        // integer per action, found once (a part's actions come in runs on one region, so the
        // last region's position is kept); the heap compares those, and names only on a tie.
        // An action in a region that is not declared is never in a valid state's plan: the
        // merge then refuses, and the whole planner decides.
        var keys: [[Int64]] = []
        keys.reserveCapacity(plans.count)
        // Actions are read in place, field by field (`for a in actions` copied, and retained,
        // every field of every action).
        for (p, plan) in plans.enumerated() {
            if p < cached.count, let known = cached[p] {
                precondition(known.count == plan.actions.count, "merge: cached keys of another plan")
                keys.append(known)
                continue
            }
            let partKeys: [Int64]? = plan.actions.withUnsafeBufferPointer { actions in
                var last: (RegionName, Int64)?
                var partKeys: [Int64] = []
                partKeys.reserveCapacity(actions.count)
                for i in actions.indices {
                    var region: Int64 = -1
                    if let r = actions[i].region {
                        if let (name, rank) = last, name == r {
                            region = rank
                        } else {
                            guard let k = state.regions.position(of: r) else { return nil }
                            region = Int64(k)
                            last = (r, region)
                        }
                    }
                    partKeys.append(Int64(actions[i].kind.rank) << 33 | (region + 1))
                }
                return partKeys
            }
            guard let partKeys else { return nil }
            keys.append(partKeys)
        }
        func name(_ a: Action) -> String { a.placement?.rawValue ?? a.artifact?.rawValue ?? "" }
        let total = plans.reduce(0) { $0 + $1.actions.count }
        var next = [Int](repeating: 0, count: plans.count)
        // The parts with actions left, as a binary heap on their next action.
        var heap = plans.indices.filter { !plans[$0].actions.isEmpty }
        func before(_ p: Int, _ q: Int) -> Bool {
            let x = keys[p][next[p]], y = keys[q][next[q]]
            if x != y { return x < y }
            return plans[p].actions.withUnsafeBufferPointer { a in
                plans[q].actions.withUnsafeBufferPointer { b in name(a[next[p]]) < name(b[next[q]]) }
            }
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { heapSiftDown(&heap, from: i, by: before) }
        var position = plans.map { [Int32](repeating: 0, count: $0.actions.count) }
        var from: [(part: Int32, index: Int32)] = []
        from.reserveCapacity(total)
        while let p = heap.first {
            position[p][next[p]] = Int32(from.count)
            from.append((Int32(p), Int32(next[p])))
            next[p] += 1
            if next[p] == plans[p].actions.count {
                heap.swapAt(0, heap.count - 1)
                heap.removeLast()
            }
            heapSiftDown(&heap, from: 0, by: before)
        }
        // Where each part's actions start when laid end to end, in part order.
        var base = [Int](repeating: 0, count: plans.count + 1)
        for p in plans.indices { base[p + 1] = base[p] + plans[p].actions.count }
        var generations: [RegionName: Int] = [:]
        for plan in plans { generations.merge(plan.generations) { a, _ in a } }
        return MergeOrder(from: from.map { Int32(base[Int($0.part)]) + $0.index }, part: from.map(\.part), local: from.map(\.index),
                          depStart: plans.map(\.depStart), depList: plans.map(\.depList), position: position, keys: keys,
                          generations: generations, unserved: Planner.ordered(plans.flatMap(\.unserved)))
    }
}

/// The order of a merge: for each action of the whole plan, where it is among the parts' actions
/// laid end to end (in part order), and its part; and where each part's actions go.
public struct MergeOrder: Sendable {
    let from: [Int32]
    /// Each action's part, and its index in that part's plan.
    let part: [Int32]
    let local: [Int32]
    let depStart: [[Int32]]
    let depList: [[Int32]]
    let position: [[Int32]]
    /// Each part's ordering keys (see `PlanPartition.mergeOrder`).
    public let keys: [[Int64]]
    let generations: [RegionName: Int]
    let unserved: [Unserved]

    /// Actions in the whole plan.
    public var count: Int { from.count }
    /// Parts merged.
    public var partCount: Int { position.count }

    /// Whether part `p` of this merge puts its actions at the very positions where part `q` of
    /// `old` put its own. For the same part plan, its actions are then exactly as `old`'s
    /// merge made them: the same ids, and the same dependencies by id (a part's actions depend
    /// only on its own).
    public func samePlaces(part p: Int, as old: MergeOrder, part q: Int) -> Bool {
        position[p] == old.position[q]
    }

    /// Gives `action`, the `i`th of part `p`'s plan, its id and its dependencies by id, where
    /// this merge puts them (each id made as it is needed: for a few parts' actions, not all).
    func number(_ action: inout Action, part p: Int, index i: Int) {
        action.id = Planner.actionID(Int(position[p][i]) + 1)
        action.dependsOn = depList[p][Int(depStart[p][i]) ..< Int(depStart[p][i + 1])].map { Planner.actionID(Int(position[p][Int($0)]) + 1) }
    }

    /// Writes the actions of each of `parts` (part plans of this merge, `plans`) in place in
    /// `actions`, the whole plan's, numbered: what `gather` gives at those positions.
    public func place(parts: [Int], of plans: [PartPlan], into actions: UnsafeMutableBufferPointer<Action>) {
        precondition(actions.count == count, "merge: another plan's actions")
        for p in parts {
            plans[p].actions.withUnsafeBufferPointer { a in
                for i in a.indices {
                    var action = a[i]
                    number(&action, part: p, index: i)
                    actions[Int(position[p][i])] = action
                }
            }
        }
    }

    /// Room to leave in a plan's actions array beyond `count` actions, when a memo keeps it to
    /// rearrange next time: a plan a few actions longer then grows in place. Grown to exactly
    /// its count, the 13 MB array of the benchmark's plan was allocated again (fresh pages,
    /// faulted in one by one) and copied whole, which was most of a rearrangement.
    public static func headroom(_ count: Int) -> Int { max(64, count / 64) }

    /// The parts' actions laid end to end, in part order (copied: the parts keep theirs).
    public static func laidEndToEnd(_ plans: [PartPlan]) -> [Action] {
        var actions: [Action] = []
        actions.reserveCapacity(plans.reduce(0) { $0 + $1.actions.count })
        for plan in plans { actions += plan.actions }
        return actions
    }

    /// The parts' actions laid end to end, in part order, moved out of `plans` (their bits:
    /// nothing is retained or released; `laidEndToEnd(_:)` retains every field of every action
    /// as it copies it, and releases it as the part's plan goes). Each part's storage is freed
    /// as soon as its actions are moved (its slots hold `vacated`), so that the actions are
    /// never held twice. The parts are moved in two runs of about half the actions each, into
    /// ranges of their own, which `both` may run at once (on two threads).
    public static func laidEndToEnd(moving plans: inout [PartPlan],
                                    both: (_ first: @Sendable () -> Void, _ second: @Sendable () -> Void) -> Void = { $0(); $1() }) -> [Action] {
        var taken = plans.indices.map { plans[$0].takeActions() }
        let start = taken.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let n = start.last!
        // The first part of the second run: where the first run's actions reach half.
        let split = start.firstIndex { $0 >= n / 2 }.map { min($0, taken.count) } ?? taken.count
        return taken.withUnsafeMutableBufferPointer { parts in
            nonisolated(unsafe) let parts = parts
            return Array(unsafeUninitializedCapacity: n) { buffer, count in
                nonisolated(unsafe) let out = buffer.baseAddress
                @Sendable func move(_ range: Range<Int>) {
                    for p in range {
                        let k = parts[p].count
                        if k > 0 {
                            parts[p].withUnsafeMutableBufferPointer { from in
                                (out! + start[p]).moveInitialize(from: from.baseAddress!, count: k)
                                from.baseAddress!.initialize(repeating: vacated, count: k)
                            }
                        }
                        parts[p] = []
                    }
                }
                both({ move(0 ..< split) }, { move(split ..< parts.count) })
                count = n
            }
        }
    }

    /// Puts actions laid end to end into plan order, in place.
    public func arrange(_ actions: inout [Action]) {
        actions.permute(taking: from)
    }

    /// The ids of the whole plan's actions in `range` ("a1", "a2", …) into `ids`, which they
    /// initialize. Each id is made once, then copied wherever the action is named: as itself,
    /// and in each dependent's `dependsOn` (made there, they were a fifth of `gather`'s samples).
    /// Ranges may be made at once, on any threads.
    public static func ids(into ids: UnsafeMutablePointer<String>, range: Range<Int>) {
        for k in range { (ids + k).initialize(to: Planner.actionID(k + 1)) }
    }

    /// Gives the actions of the whole plan in `range` (arranged) their ids and their
    /// dependencies by id (from `ids`, every action's), in place. Ranges may be numbered at
    /// once, on any threads.
    public func number(_ actions: UnsafeMutableBufferPointer<Action>, ids: UnsafeBufferPointer<String>, range: Range<Int>) {
        for k in range {
            let p = Int(part[k]), i = Int(local[k])
            actions[k].id = ids[k]
            actions[k].dependsOn = depList[p][Int(depStart[p][i]) ..< Int(depStart[p][i + 1])].map { ids[Int(position[p][Int($0)])] }
        }
    }

    /// The actions of the whole plan in `range`, copied out of the parts' plans (`parts`: each
    /// part's actions, in part order) into `out`, which they initialize, and numbered (from
    /// `ids`): what laying the parts' actions end to end, `arrange` and `number` give there,
    /// with one copy of each action and no move. Ranges may be gathered at once, on any threads.
    public func gather(_ parts: [UnsafeBufferPointer<Action>], ids: UnsafeBufferPointer<String>, into out: UnsafeMutablePointer<Action>, range: Range<Int>) {
        for k in range {
            let p = Int(part[k]), i = Int(local[k])
            // Copied straight into its slot (a local copy first was one more retain and
            // release of every field), then numbered there.
            let slot = out + k
            slot.initialize(to: parts[p][i])
            slot.pointee.id = ids[k]
            slot.pointee.dependsOn = depList[p][Int(depStart[p][i]) ..< Int(depStart[p][i + 1])].map { ids[Int(position[p][Int($0)])] }
        }
    }

    /// The whole plan's actions, made in place from the last plan's (`actions`, which `last`
    /// merged), when its parts are the same part plans but for a few: `was[p]` is the part of
    /// `last` whose plan part `p` of this merge is (nil: planned again). The two plans may
    /// have different numbers of actions (a part planned again has more or fewer), so that
    /// every later action moves. A taken-over part's actions are moved within the array (bits
    /// moved, nothing copied or retained); where one moved, its id is made again, and each
    /// dependency that moved is renamed in place. The actions of a part planned again are
    /// released, and its new ones copied from its plan and numbered, as `gather` does. (The
    /// array is copied first, if the caller of the last plan still holds it.)
    ///
    /// Taken-over actions keep their order (both orders are merges of the same part plans),
    /// so each moves at most once without overwriting one not yet moved: those moving toward
    /// the front are moved front to back, then those moving toward the back, back to front.
    public func rearrange(_ actions: inout [Action], from last: MergeOrder, was: [Int?], plans: [PartPlan]) {
        let n = count, n0 = last.count
        precondition(actions.count == n0 && was.count == partCount && plans.count == partCount, "merge: another plan's actions")
        let vacated = Self.vacated
        if n > n0 {
            if actions.capacity < n { actions.reserveCapacity(n + Self.headroom(n)) }
            actions.append(contentsOf: repeatElement(vacated, count: n - n0))
        }
        // Each old slot's new place (-1: its part was planned again, or is gone).
        var to = [Int32](repeating: -1, count: n0)
        for p in 0 ..< partCount {
            guard let q = was[p] else { continue }
            precondition(last.position[q].count == position[p].count, "merge: another part plan")
            for i in position[p].indices { to[Int(last.position[q][i])] = position[p][i] }
        }
        actions.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            // Slots beyond the last plan's, and those of actions no part takes over, emptied.
            if n > n0 { (base + n0).deinitialize(count: n - n0) }
            for k0 in 0 ..< n0 where to[k0] < 0 { (base + k0).deinitialize(count: 1) }
            // A run of neighbouring slots that move by the same distance moves in one block
            // (overlapping itself, as a memmove may): after a part with more or fewer actions,
            // most of the plan is one or a few such runs, and moving its actions one at a
            // time was most of this merge's time.
            var k0 = 0
            while k0 < n0 {
                let shift = Int(to[k0]) - k0
                guard to[k0] >= 0 && shift < 0 else { k0 += 1; continue }
                var end = k0 + 1
                while end < n0 && to[end] >= 0 && Int(to[end]) - end == shift { end += 1 }
                (base + k0 + shift).moveInitialize(from: base + k0, count: end - k0)
                k0 = end
            }
            var k1 = n0 - 1
            while k1 >= 0 {
                let shift = Int(to[k1]) - k1
                guard shift > 0 else { k1 -= 1; continue }
                var start = k1
                while start > 0 && Int(to[start - 1]) - (start - 1) == shift { start -= 1 }
                (base + start + shift).moveInitialize(from: base + start, count: k1 - start + 1)
                k1 = start - 1
            }
            for p in 0 ..< partCount {
                let at = position[p], starts = depStart[p], deps = depList[p]
                guard let q = was[p] else {
                    plans[p].actions.withUnsafeBufferPointer { actions in
                        for i in actions.indices {
                            (base + Int(at[i])).initialize(to: actions[i])
                            number(&base[Int(at[i])], part: p, index: i)
                        }
                    }
                    continue
                }
                let from = last.position[q]
                guard at != from else { continue }
                for i in at.indices {
                    let k = Int(at[i])
                    if k != Int(from[i]) { base[k].id = Planner.actionID(k + 1) }
                    for j in Int(starts[i]) ..< Int(starts[i + 1]) {
                        let d = Int(deps[j])
                        if at[d] != from[d] { base[k].dependsOn[j - Int(starts[i])] = Planner.actionID(Int(at[d]) + 1) }
                    }
                }
            }
            // Slots beyond this plan's: empty now, filled to be removed.
            if n < n0 { (base + n).initialize(repeating: vacated, count: n0 - n) }
        }
        if n < n0 { actions.removeLast(n0 - n) }
    }

    /// What `rearrange` puts in slots it empties before it removes them or fills them, and
    /// `laidEndToEnd(moving:)` in those it moves actions out of: it refers to nothing, so
    /// copies of it cost no retain and no release.
    private static let vacated = Action(kind: .purge, reason: ReasonText.empty)

    /// `body` of each part's actions in place, in part order (for `gather`).
    public static func withActions<R>(of plans: [PartPlan], _ body: ([UnsafeBufferPointer<Action>]) -> R) -> R {
        func nest(_ p: Int, _ buffers: inout [UnsafeBufferPointer<Action>]) -> R {
            guard p < plans.count else { return body(buffers) }
            return plans[p].actions.withUnsafeBufferPointer { b in
                buffers.append(b)
                return nest(p + 1, &buffers)
            }
        }
        var buffers: [UnsafeBufferPointer<Action>] = []
        buffers.reserveCapacity(plans.count)
        return nest(0, &buffers)
    }

    /// The whole plan, with its actions arranged and numbered.
    public func plan(_ actions: [Action], source: PlanSource) -> Plan {
        Plan(source: source, observedGenerations: generations, actions: actions, unserved: unserved)
    }
}

/// One part's plan: its actions in order, without ids, and their dependencies as positions in
/// that order (`depList[depStart[k] ..< depStart[k + 1]]`, ascending).
public struct PartPlan: Sendable {
    private(set) var actions: [Action]
    let depStart: [Int32]
    let depList: [Int32]
    let unserved: [Unserved]
    let generations: [RegionName: Int]
    /// Its capacity waits closed a cycle, so it was ordered without them.
    let capacityWaitsDropped: Bool

    public var actionCount: Int { actions.count }

    /// Whether `other` holds this very plan's actions: one storage, which no copy of either
    /// can change while the other shares it (so the same actions, without comparing them).
    public func sharesActions(with other: PartPlan) -> Bool {
        actions.withUnsafeBufferPointer { a in
            other.actions.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count }
        }
    }

    /// Its actions, taken out (it holds none after).
    public mutating func takeActions() -> [Action] {
        defer { actions = [] }
        return actions
    }
}

/// Which parts of a partition an earlier partition's plans (`old`, planned as `plans`) cover.
/// For a part, the earlier part's plan is exactly its plan when both have the same objects,
/// equal (`==`, their source locations included), the same observation of every region, and
/// the same fence facts the planner reads. Those facts are each region's closure and
/// jurisdiction label, and the effective fence of each artifact that a model of the part uses
/// or a region of the part reports a copy of: the planner reads no other artifact's fence
/// (`Planner.purge` and `Planner.stageSource` are where it reads them), and a model's fence is
/// the intersection of its artifacts' (every jurisdiction, for a model with none). Sets are
/// compared by jurisdiction name, with whether each is every jurisdiction (which
/// `FenceAnalysis.describe` says), so that a jurisdiction added elsewhere changes nothing here
/// unless a fence the part reads changes. Everything else is planned again; the merge of old
/// and new part plans is then the whole plan, as the property tests check.
///
/// Each part's answer reads only this, so parts may be answered at once, on any threads.
public struct Reuse: Sendable {
    let new: PlanPartition
    let old: PlanPartition
    let plans: [PartPlan]
    let sameJurisdictions: Bool
    /// Old jurisdiction bits to new ones (-1: no longer declared).
    let translate: [Int]
    /// The same for one-word sets (`JurisdictionSet.word`): nil when the jurisdictions are the
    /// same, or either side has 64 or more.
    let wordTranslation: WordTranslation?
    /// Old parts by their first region (a part with no region plans nothing but its
    /// placements' unserved reasons; such parts are keyed by their first placement).
    let oldByKey: [String: Int]

    public init(_ new: PlanPartition, from old: PlanPartition, plans: [PartPlan]) {
        precondition(plans.count == old.parts.count, "one plan per part")
        self.new = new
        self.old = old
        self.plans = plans
        sameJurisdictions = old.fences.jurisdictionNames == new.fences.jurisdictionNames
        translate = sameJurisdictions ? [] : old.fences.jurisdictionNames.map { new.fences.jurisdictionIndex[$0] ?? -1 }
        wordTranslation = sameJurisdictions ? nil : WordTranslation(from: old.fences.jurisdictionNames, to: new.fences.jurisdictionIndex)
        var byKey: [String: Int] = [:]
        for (i, part) in old.parts.enumerated() {
            if let k = Self.key(old, part) { byKey[k] = i }
        }
        oldByKey = byKey
    }

    static func key(_ p: PlanPartition, _ part: PlanPartition.Part) -> String? {
        if let r = part.regions.first { return "r:" + p.state.regionList[Int(r)].name.rawValue }
        if let q = part.placements.first { return "p:" + p.state.placementList[Int(q)].name.rawValue }
        return nil
    }

    /// The earlier plan of part `p` of the new partition, if it is exactly that part's plan.
    public func plan(forPart p: Int) -> PartPlan? { match(forPart: p).map { plans[$0] } }

    /// The earlier part whose plan is exactly the plan of part `p` of the new partition, if any.
    public func match(forPart p: Int) -> Int? {
        let (state, observed, fences) = (new.state, new.observed, new.fences)
        let part = new.parts[p]
        let oldCount = old.fences.jurisdictionNames.count, newCount = fences.jurisdictionNames.count
        // Each old set moved to the new bits once (a fleet has few distinct sets).
        var moved: [JurisdictionSet: JurisdictionSet?] = [:]
        func same(_ a: JurisdictionSet, _ b: JurisdictionSet) -> Bool {
            // `describe` marks the universe when there is more than one jurisdiction.
            if (a == old.fences.universe && oldCount > 1) != (b == fences.universe && newCount > 1) { return false }
            if sameJurisdictions { return a == b }
            // One word each: translated through the table, no set made.
            if let wordTranslation, let w = a.word, let n = b.word { return wordTranslation(w) == n }
            let m: JurisdictionSet?
            if let known = moved[a] {
                m = known
            } else {
                var t: JurisdictionSet? = JurisdictionSet()
                for i in a.indices {
                    guard i < translate.count, translate[i] >= 0 else { t = nil; break }
                    t!.insert(translate[i])
                }
                moved[a] = t
                m = t
            }
            return m == b
        }
        // Compared in place (copying each object out retained every field), and first bit for
        // bit: an object from a file that did not change is the parse cache's, so both states
        // hold the very same fields (the same string and table storage). See `sameValue`.
        func sameObjects<S, V: Equatable>(_ a: ObjectTable<S, V>, _ pa: [Int32], _ b: ObjectTable<S, V>, _ pb: [Int32]) -> Bool {
            guard pa.count == pb.count else { return false }
            // A table patched from the old one (`ObjectTable.replacing`) holds its objects at
            // the same positions, but for those it replaced.
            if let replaced = b.replacedPositions(from: a), pa == pb {
                return a.list.withUnsafeBufferPointer { x in
                    b.list.withUnsafeBufferPointer { y in
                        !pb.contains { replaced.contains($0) && !sameValue(x.baseAddress! + Int($0), y.baseAddress! + Int($0)) }
                    }
                }
            }
            return a.list.withUnsafeBufferPointer { x in
                b.list.withUnsafeBufferPointer { y in
                    for k in pa.indices where !sameValue(x.baseAddress! + Int(pa[k]), y.baseAddress! + Int(pb[k])) { return false }
                    return true
                }
            }
        }
        func effective(_ p: PlanPartition, _ i: Int32) -> JurisdictionSet? {
            p.effectiveByPosition ? p.fences.effective[Int(i)] : p.fences.effectiveFence(of: ArtifactName(p.state.artifacts.list[Int(i)].meta.name))
        }
        guard let k = Self.key(new, part), let i = oldByKey[k] else { return nil }
        let was = old.parts[i]
        guard sameObjects(old.state.regions, was.regions, state.regions, part.regions),
              sameObjects(old.state.artifacts, was.artifacts, state.artifacts, part.artifacts),
              sameObjects(old.state.models, was.models, state.models, part.models),
              sameObjects(old.state.topologies, was.topologies, state.topologies, part.topologies),
              sameObjects(old.state.placements, was.placements, state.placements, part.placements)
        else { return nil }
        // The observation of every region, and the regions' fence facts.
        for r in part.regions {
            let name = state.regionList[Int(r)].name
            guard observed.regions[name.rawValue] == old.observed.regions[name.rawValue],
                  fences.jurisdictionLabel(of: name) == old.fences.jurisdictionLabel(of: name)
            else { return nil }
            switch (old.fences.regionClosure[name], fences.regionClosure[name]) {
            case (nil, nil): break
            case let (a?, b?):
                guard a.unknown == b.unknown, same(a.jurisdictions, b.jurisdictions) else { return nil }
            default: return nil
            }
        }
        // A model with no artifacts may be served in every jurisdiction.
        if !same(old.fences.universe, fences.universe) && part.models.contains(where: { state.models.list[Int($0)].artifacts.isEmpty }) {
            return nil
        }
        // Effective fences: the same artifacts are in both parts, in the same order. Most
        // fences are unchanged; one that changed matters only if the planner reads it.
        // The planner reads an artifact's fence where a model of the part uses it, or a region
        // of the part reports a copy of it: both made once, at the first fence that changed,
        // as a bit per position in this state's artifacts (a jurisdiction added changes every
        // unfenced artifact's; looking each up in every region's report was most of the
        // comparison, and a set of their names most of what was left).
        var read: [UInt64]?
        for k in part.artifacts.indices {
            let (x, y) = (effective(old, was.artifacts[k]), effective(new, part.artifacts[k]))
            if let x, let y, same(x, y) { continue }
            if x == nil && y == nil { continue }
            if read == nil { read = Self.readBits(part, state, observed) }
            let at = Int(part.artifacts[k])
            if read![at >> 6] & (UInt64(1) << UInt64(at & 63)) != 0 { return nil }
        }
        return i
    }

    /// The artifacts whose fence the planner may read for `part`, as a bit per position in
    /// `state.artifacts`: those its models use and those its regions report a copy of (an
    /// undeclared name has no position, and no artifact of the part has it).
    static func readBits(_ part: PlanPartition.Part, _ state: DesiredState, _ observed: ObservedState) -> [UInt64] {
        var bits = [UInt64](repeating: 0, count: (state.artifacts.count + 63) / 64)
        func mark(_ name: ArtifactName) {
            if let at = state.artifacts.position(of: name) { bits[at >> 6] |= UInt64(1) << UInt64(at & 63) }
        }
        for m in part.models {
            for a in state.models.list[Int(m)].artifacts { mark(a.value) }
        }
        for r in part.regions {
            guard let copies = observed.regions[state.regionList[Int(r)].name.rawValue]?.artifacts else { continue }
            for name in copies.keys { mark(ArtifactName(name)) }
        }
        return bits
    }
}

/// Whether `count` bytes at `a` and `b` are the same, eight at a time.
@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i += 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i += 1
    }
    return true
}
