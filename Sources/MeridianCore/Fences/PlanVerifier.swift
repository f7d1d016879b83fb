/// `Fences.verify(plan, observed)`: every action of a plan checked again against SPEC §2, as the
/// planner emits it and as the executor is about to run it. A violation is a bug or a race; the
/// action must not run.
public enum PlanVerifier {
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public let actionID: String
        public let message: String
        public var description: String { "\(actionID): \(message)" }
    }

    public static func verify(_ plan: Plan, state: DesiredState, fences: FenceAnalysis, observed: ObservedState) -> [Violation] {
        verify(plan, range: plan.actions.indices, state: state, fences: fences, observed: observed)
    }

    /// The actions at `range` only, in order: each action's check reads nothing the others
    /// change, so a caller may check parts of one plan on several threads and join the
    /// violations in range order (`MeridianEngine`'s `PlanCheck` does).
    public static func verify(_ plan: Plan, range: Range<Int>, state: DesiredState, fences: FenceAnalysis, observed: ObservedState) -> [Violation] {
        var checker = Checker(state: state, fences: fences, observed: observed)
        return plan.actions.withUnsafeBufferPointer { actions in
            var out: [Violation] = []
            for i in range {
                if let (id, message) = checker.verify(actions.baseAddress! + i) {
                    out.append(Violation(actionID: id, message: message))
                }
            }
            return out
        }
    }

    /// The reason one action would break a fence, or nil when it is safe.
    public static func verify(_ action: Action, state: DesiredState, fences: FenceAnalysis, observed: ObservedState) -> (String, String)? {
        var checker = Checker(state: state, fences: fences, observed: observed)
        return withUnsafePointer(to: action) { checker.verify($0) }
    }

    /// One pass of checks over one state, fence analysis and observation. What a region's
    /// check reads (whether it is declared, the jurisdiction it attests, its replication
    /// closure) depends on the region alone, so it is looked up once per region per pass:
    /// three lookups by name per region an action names were most of a large plan's re-check.
    struct Checker {
        let state: DesiredState
        let fences: FenceAnalysis
        let observed: ObservedState

        private enum RegionFact {
            case undeclared
            case attests(String, declared: JurisdictionName)
            /// nil: no closure was computed for the region (read as outside every set).
            case closure(FenceAnalysis.RegionClosure?)
        }

        /// Facts found so far, and where each declared region's is in it (by the region's
        /// position; -1: not yet found): an array by position, not a table by name, so that a
        /// region's second and later lookups cost no hashing.
        private var regionFacts: [RegionFact] = []
        private var factOf: [Int32]
        /// The two regions last asked about, the latest first, and their facts' places in
        /// `regionFacts`: a plan's actions come in runs on one region (a copy's, on it and the
        /// region it comes from), and comparing a name costs less than hashing it (the lookup
        /// by name was most of the facts' time).
        private var recent: (RegionName, Int)?
        private var before: (RegionName, Int)?
        /// True when the analysis was computed from this very artifact table (the same
        /// storage, so the same artifacts at the same positions): an artifact's effective fence
        /// is then read by the position already found, not looked up by name a second time.
        private let samePositions: Bool

        init(state: DesiredState, fences: FenceAnalysis, observed: ObservedState) {
            self.state = state
            self.fences = fences
            self.observed = observed
            factOf = Array(repeating: -1, count: state.regions.count)
            samePositions = state.artifacts.list.withUnsafeBufferPointer { a in
                fences.state.artifacts.list.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count }
            } && fences.effective.count == state.artifacts.count
        }

        private func effectiveFence(of name: ArtifactName, at position: Int) -> JurisdictionSet? {
            samePositions ? fences.effective[position] : fences.effectiveFence(of: name)
        }

        private mutating func fact(_ r: RegionName) -> RegionFact {
            if let (name, f) = recent, name == r { return regionFacts[f] }
            if let (name, f) = before, name == r {
                swap(&recent, &before)
                return regionFacts[f]
            }
            guard let k = state.regions.position(of: r) else { return .undeclared }
            if factOf[k] >= 0 {
                (before, recent) = (recent, (r, Int(factOf[k])))
                return regionFacts[Int(factOf[k])]
            }
            let fact: RegionFact
            // Objects are read in place, by position: copying a whole declaration per action
            // was most of this check's time.
            let declared = state.regions.list[k].jurisdiction.value
            if let attested = observed.regions[r.rawValue]?.jurisdiction, attested != declared.rawValue {
                fact = .attests(attested, declared: declared)
            } else {
                fact = .closure(fences.regionClosure[r])
            }
            factOf[k] = Int32(regionFacts.count)
            (before, recent) = (recent, (r, regionFacts.count))
            regionFacts.append(fact)
            return fact
        }

        /// Why region `r` (with every region its storage replicates to) may not hold what
        /// `set` fences, or nil when it may.
        private mutating func attestedInside(_ r: RegionName, _ set: JurisdictionSet) -> String? {
            switch fact(r) {
            case .undeclared:
                return "\(r) is not a declared region"
            case .attests(let attested, let declared):
                return "\(r) attests jurisdiction \(attested), not \(declared)"
            case .closure(let closure):
                // As `FenceAnalysis.isInside`: an unknown region in the closure fails closed.
                if let closure, !closure.unknown, closure.jurisdictions.isSubset(of: set) { return nil }
                return "\(r) (jurisdiction \(fences.jurisdictionLabel(of: r)), with its replicas) is outside \(fences.describe(set))"
            }
        }

        /// The action is read in place, field by field: passing it by value copied (and retained)
        /// every field of every action, half of a large plan's re-check.
        mutating func verify(_ action: UnsafePointer<Action>) -> (String, String)? {
            switch action.pointee.kind {
            case .purge, .undeploy, .deleteArtifact:
                return nil  // removing never crosses a fence
            case .stageArtifact:
                guard let name = action.pointee.artifact, let r = action.pointee.region, let i = state.artifacts.position(of: name),
                      let e = effectiveFence(of: name, at: i) else {
                    return (action.pointee.id, "stages an artifact that is not declared")
                }
                let origin = state.artifacts.list[i].origin.value
                if let why = attestedInside(r, e) { return (action.pointee.id, "stage \(name) into \(r): \(why)") }
                if state.artifacts.list[i].type.isRuntime && r != origin { return (action.pointee.id, "runtime artifact \(name) may not leave \(origin)") }
                if let from = action.pointee.from, let why = attestedInside(from, e) { return (action.pointee.id, "stage \(name) from \(from): \(why)") }
                if action.pointee.from == nil && r != origin { return (action.pointee.id, "\(name) can be registered only at its origin \(origin)") }
                return nil
            case .deploy:
                guard let r = action.pointee.region, let m = action.pointee.model, let fence = fences.modelFence(of: m) else {
                    return (action.pointee.id, "deploys a model that is not declared")
                }
                if let why = attestedInside(r, fence) { return (action.pointee.id, "deploy \(m) in \(r): \(why)") }
                return nil
            case .setTraffic:
                guard let p = action.pointee.placement else { return (action.pointee.id, "set-traffic without a placement") }
                let model = state.placements.position(of: p).map { state.placements.list[$0].model.value }
                for (r, w) in (action.pointee.weights ?? [:]).sorted(by: { $0.key < $1.key }) where w > 0 {
                    guard let model, let fence = fences.modelFence(of: model) else {
                        return (action.pointee.id, "sends traffic of undeclared placement \(p) to \(r)")
                    }
                    if let why = attestedInside(r, fence) { return (action.pointee.id, "route \(p) to \(r): \(why)") }
                }
                return nil
            }
        }
    }
}
