public import MeridianCore
internal import Dispatch
internal import Foundation

/// `PlanVerifier.verify` on every core: the plan's actions in as many contiguous parts as
/// there are threads, each checked on its own, the violations joined in plan order, so the
/// answer is exactly the single-threaded one. A plan of fewer than `minimumPart` actions is
/// checked on the calling thread. On the 78,801-action bench plan: 63–99 ms → 39–57 ms on 2 cores.
public enum PlanCheck {
    public static func verify(_ plan: Plan, state: DesiredState, fences: FenceAnalysis, observed: ObservedState,
                              threads: Int? = nil, minimumPart: Int = 4096) -> [PlanVerifier.Violation] {
        inRanges(of: plan.actions.count, threads: threads, minimumPart: minimumPart) { range in
            PlanVerifier.verify(plan, range: range, state: state, fences: fences, observed: observed)
        }.flatMap { $0 }
    }

    /// `body` of each of as many contiguous ranges of `0 ..< n` as there are threads, but about
    /// `minimumPart` or more each (one range, on the calling thread, for a small `n`), each on
    /// its own thread; the answers in range order.
    private static func inRanges<T>(of n: Int, threads: Int?, minimumPart: Int, _ body: @Sendable (Range<Int>) -> T) -> [T] {
        let parts = min(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), n / max(1, minimumPart) + 1, max(1, n))
        guard parts > 1 else { return [body(0 ..< n)] }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: parts)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        DispatchQueue.concurrentPerform(iterations: parts) { k in
            slots[k] = body(n * k / parts ..< n * (k + 1) / parts)
        }
        return results.map { $0! }
    }

    /// The check of a plan just made through `memo` (`PlanParts.plan(…, memo:)`), taking over
    /// the memo's last check: an action of a part plan that check found clean is not checked
    /// again while the facts it read hold (the very tables of artifacts and regions, the same
    /// fence analysis or one that decides every check alike (`decidesAsBefore`: a
    /// jurisdiction added), and each region attesting what it did), and it is that part
    /// plan's action, compared field by field. An action naming a region whose attestation
    /// changed, or setting traffic for a placement that may have changed, is checked again.
    /// The answer is exactly `verify(plan, …)`'s. Without a memo, or for a plan the whole
    /// planner made, every action is checked.
    public static func verify(_ plan: Plan, state: DesiredState, fences: FenceAnalysis, observed: ObservedState, memo: PlanMemo?,
                              threads: Int? = nil, minimumPart: Int = 4096) -> [PlanVerifier.Violation] {
        let n = plan.actions.count
        guard let memo, let merged = memo.merged(), merged.order.count == n else {
            var previous = memo?.rememberCheck(nil, checked: n, of: n)
            PlanParts.letGo(&previous)
            return verify(plan, state: state, fences: fences, observed: observed, threads: threads, minimumPart: minimumPart)
        }
        let (order, plans) = merged
        let attested = state.regions.list.map { observed.regions[$0.name.rawValue]?.jurisdiction }
        let takeover: PlanVerifier.Takeover
        if let last = memo.lastChecked(), fences.isSameAnalysis(as: last.fences) || fences.decidesAsBefore(last.fences),
           state.artifacts.changedPositions(since: last.state.artifacts)?.isEmpty == true,
           state.regions.changedPositions(since: last.state.regions)?.isEmpty == true {
            // The same regions at the same positions: compared by position.
            let regions = Set(state.regions.list.indices.filter { attested[$0] != last.attested[$0] }.map { state.regions.list[$0].name })
            let placements = state.placements.changedPositions(since: last.state.placements).map { changed in
                Set(changed.map { state.placements.list[Int($0)].name })
            }
            let clean = plans.map { part in last.plans.indices.contains { last.clean[$0] && last.plans[$0].sharesActions(with: part) } }
            takeover = PlanVerifier.Takeover(order: order, plans: plans, clean: clean, regions: regions, placements: placements)
        } else {
            takeover = .none(order: order, plans: plans)
        }
        let outcomes = inRanges(of: n, threads: threads, minimumPart: minimumPart) { range in
            PlanVerifier.verify(plan, range: range, state: state, fences: fences, observed: observed, takeover: takeover)
        }
        var clean = [Bool](repeating: true, count: plans.count)
        for o in outcomes { for p in o.unclean { clean[p] = false } }
        var previous = memo.rememberCheck(PlanMemo.Checked(state: state, fences: fences, attested: attested, plans: plans, clean: clean),
                                          checked: outcomes.reduce(0) { $0 + $1.checked }, of: n)
        PlanParts.letGo(&previous)
        return outcomes.flatMap(\.violations)
    }
}
