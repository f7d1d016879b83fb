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
        plan.actions.withUnsafeBufferPointer { actions in
            var out: [Violation] = []
            for i in range {
                if let (id, message) = verify(actions[i], state: state, fences: fences, observed: observed) {
                    out.append(Violation(actionID: id, message: message))
                }
            }
            return out
        }
    }

    /// The reason one action would break a fence, or nil when it is safe.
    public static func verify(_ action: Action, state: DesiredState, fences: FenceAnalysis, observed: ObservedState) -> (String, String)? {
        // Objects are read in place, by position: copying a whole declaration per action was
        // most of this check's time.
        func attestedInside(_ r: RegionName, _ set: JurisdictionSet) -> String? {
            guard let k = state.regions.position(of: r) else { return "\(r) is not a declared region" }
            let declared = state.regions.list[k].jurisdiction.value
            if let attested = observed.regions[r.rawValue]?.jurisdiction, attested != declared.rawValue {
                return "\(r) attests jurisdiction \(attested), not \(declared)"
            }
            if !fences.isInside(r, set) {
                return "\(r) (jurisdiction \(fences.jurisdictionLabel(of: r)), with its replicas) is outside \(fences.describe(set))"
            }
            return nil
        }
        switch action.kind {
        case .purge, .undeploy, .deleteArtifact:
            return nil  // removing never crosses a fence
        case .stageArtifact:
            guard let name = action.artifact, let r = action.region, let i = state.artifacts.position(of: name),
                  let e = fences.effectiveFence(of: name) else {
                return (action.id, "stages an artifact that is not declared")
            }
            let origin = state.artifacts.list[i].origin.value
            if let why = attestedInside(r, e) { return (action.id, "stage \(name) into \(r): \(why)") }
            if state.artifacts.list[i].type.isRuntime && r != origin { return (action.id, "runtime artifact \(name) may not leave \(origin)") }
            if let from = action.from, let why = attestedInside(from, e) { return (action.id, "stage \(name) from \(from): \(why)") }
            if action.from == nil && r != origin { return (action.id, "\(name) can be registered only at its origin \(origin)") }
            return nil
        case .deploy:
            guard let r = action.region, let m = action.model, let fence = fences.modelFence(of: m) else {
                return (action.id, "deploys a model that is not declared")
            }
            if let why = attestedInside(r, fence) { return (action.id, "deploy \(m) in \(r): \(why)") }
            return nil
        case .setTraffic:
            guard let p = action.placement else { return (action.id, "set-traffic without a placement") }
            let model = state.placements.position(of: p).map { state.placements.list[$0].model.value }
            for (r, w) in (action.weights ?? [:]).sorted(by: { $0.key < $1.key }) where w > 0 {
                guard let model, let fence = fences.modelFence(of: model) else {
                    return (action.id, "sends traffic of undeclared placement \(p) to \(r)")
                }
                if let why = attestedInside(r, fence) { return (action.id, "route \(p) to \(r): \(why)") }
            }
            return nil
        }
    }
}
