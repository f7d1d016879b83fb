/// The re-check of a merged plan that takes over the check before it (`PlanCheck.verify(…,
/// memo:)` in MeridianEngine, the controller's path): an action is checked again unless the
/// last check found its part's plan clean, under facts that still hold, and the action is
/// that plan's very action.
///
/// An action's verdict reads the action's kind, regions, artifact, placement and model, and
/// facts: the declared regions and what each attests, each region's replication closure,
/// each artifact's effective fence, origin and type, each model's fence and each placement's
/// model. The caller vouches for the facts (the same fence analysis over the same tables, and
/// the regions and placements that may have changed named here). The actions are compared
/// here, each with the action of the part plan the merge says it is, field by field: a merge
/// that put anything else in the plan gets that action checked, not taken over.
extension PlanVerifier {
    public struct Takeover: Sendable {
        /// The merge that made the plan, and its part plans.
        public let order: MergeOrder
        public let plans: [PartPlan]
        /// Per part: the last check found this very part plan clean (each of its actions
        /// checked, in this merge or the one before, and none breaks a fence).
        public let clean: [Bool]
        /// Regions whose facts may differ from the last check's: a clean part's action that
        /// names one is checked again.
        public let regions: Set<RegionName>
        /// Placements whose objects may differ from the last check's (nil: any of them): a
        /// clean part's set-traffic for one is checked again.
        public let placements: Set<PlacementName>?

        public init(order: MergeOrder, plans: [PartPlan], clean: [Bool], regions: Set<RegionName>, placements: Set<PlacementName>?) {
            precondition(plans.count == order.partCount && clean.count == plans.count, "a takeover of another merge")
            self.order = order
            self.plans = plans
            self.clean = clean
            self.regions = regions
            self.placements = placements
        }

        /// Nothing taken over: every action is checked (and compared, to find the parts
        /// that are clean after this check).
        public static func none(order: MergeOrder, plans: [PartPlan]) -> Takeover {
            Takeover(order: order, plans: plans, clean: Array(repeating: false, count: plans.count), regions: [], placements: [])
        }
    }

    public struct Outcome: Sendable {
        /// As `verify(_:range:…)` finds them for the same actions, in plan order.
        public let violations: [Violation]
        /// The parts (in order) that are not clean after this check: one of their actions
        /// broke a fence, or was not their plan's action.
        public let unclean: [Int]
        /// Actions checked; the others were taken over.
        public let checked: Int
    }

    /// The actions of `plan` at `range`, checked as `verify(_:range:…)` checks them, but for
    /// those `takeover` answers for. `plan` is the merge's: as many actions as it.
    public static func verify(_ plan: Plan, range: Range<Int>, state: DesiredState, fences: FenceAnalysis, observed: ObservedState,
                              takeover t: Takeover) -> Outcome {
        precondition(plan.actions.count == t.order.count, "a takeover of another plan's merge")
        var checker = Checker(state: state, fences: fences, observed: observed)
        var out: [Violation] = []
        var unclean = [Bool](repeating: false, count: t.plans.count)
        var checked = 0
        let anyChange = !t.regions.isEmpty || t.placements.map { !$0.isEmpty } ?? true
        plan.actions.withUnsafeBufferPointer { actions in
            MergeOrder.withActions(of: t.plans) { parts in
                t.order.part.withUnsafeBufferPointer { partOf in
                    t.order.local.withUnsafeBufferPointer { localOf in
                        for j in range {
                            let a = actions.baseAddress! + j
                            let p = Int(partOf[j]), i = Int(localOf[j])
                            let same = i < parts[p].count && sameInputs(a, parts[p].baseAddress! + i)
                            if !same { unclean[p] = true }
                            if same && t.clean[p] && !(anyChange && reads(a, t)) { continue }
                            checked += 1
                            if let (id, message) = checker.verify(a) {
                                out.append(Violation(actionID: id, message: message))
                                unclean[p] = true
                            }
                        }
                    }
                }
            }
        }
        return Outcome(violations: out, unclean: unclean.indices.filter { unclean[$0] }, checked: checked)
    }

    /// Whether two actions have what a check reads: all but their ids, dependencies, version,
    /// replicas and reasons. Fields whose bits are the same are the same values (a name in
    /// the same storage, or the same bytes held inline; the same table), so they are compared
    /// by their bits first, in place: comparing each name by its bytes, copied out of the
    /// action, was most of a re-check that took nearly every action over.
    static func sameInputs(_ a: UnsafePointer<Action>, _ b: UnsafePointer<Action>) -> Bool {
        guard a.pointee.kind == b.pointee.kind else { return false }
        let x = UnsafeRawPointer(a), y = UnsafeRawPointer(b)
        if inputFields.allSatisfy({ memcmpBytes(x + $0.offset, y + $0.offset, $0.size) }) { return true }
        return a.pointee.region == b.pointee.region && a.pointee.artifact == b.pointee.artifact
            && a.pointee.from == b.pointee.from && a.pointee.model == b.pointee.model && a.pointee.placement == b.pointee.placement
            && a.pointee.weights == b.pointee.weights
    }

    /// Where in an action the names and weights a check reads are, and their sizes.
    private static let inputFields: [(offset: Int, size: Int)] = [
        (MemoryLayout<Action>.offset(of: \Action.region)!, MemoryLayout<RegionName?>.size),
        (MemoryLayout<Action>.offset(of: \Action.artifact)!, MemoryLayout<ArtifactName?>.size),
        (MemoryLayout<Action>.offset(of: \Action.placement)!, MemoryLayout<PlacementName?>.size),
        (MemoryLayout<Action>.offset(of: \Action.from)!, MemoryLayout<RegionName?>.size),
        (MemoryLayout<Action>.offset(of: \Action.model)!, MemoryLayout<ModelName?>.size),
        (MemoryLayout<Action>.offset(of: \Action.weights)!, MemoryLayout<[RegionName: Int]?>.size),
    ]

    /// Whether the action's check reads a fact `t` says may have changed.
    private static func reads(_ a: UnsafePointer<Action>, _ t: Takeover) -> Bool {
        if !t.regions.isEmpty {
            if let r = a.pointee.region, t.regions.contains(r) { return true }
            if let r = a.pointee.from, t.regions.contains(r) { return true }
            if let w = a.pointee.weights, w.keys.contains(where: { t.regions.contains($0) }) { return true }
        }
        if a.pointee.kind == .setTraffic {
            guard let placements = t.placements else { return true }
            if let p = a.pointee.placement, placements.contains(p) { return true }
        }
        return false
    }
}
