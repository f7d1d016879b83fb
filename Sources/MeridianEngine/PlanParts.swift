public import MeridianCore
internal import Dispatch
internal import Foundation
internal import Synchronization

/// `Planner.plan` on every core: the fleet is split into parts that share nothing
/// (`PlanPartition`), the parts are planned at once, the largest first, and merged into
/// exactly the plan the whole planner makes (a property test holds the merge to that).
///
/// With a `PlanMemo`, a part whose inputs are all unchanged since the memo's last plan is not
/// planned again: its earlier plan is merged as it is (`Reuse`). This is the
/// controller's path: after a one-file commit, only the parts the commit touches are planned.
public enum PlanParts {
    public static func plan(_ state: DesiredState, fences: FenceAnalysis, observed: ObservedState, source: PlanSource,
                            options: Planner.Options = Planner.Options(), threads: Int? = nil, memo: PlanMemo? = nil) -> Plan {
        // A drill fails regions by name for the whole fleet: planned whole.
        guard options.failedRegions.isEmpty else {
            return Planner.plan(state, fences: fences, observed: observed, source: source, options: options)
        }
        var last = memo?.last
        let partition = PlanPartition(state, fences: fences, observed: observed, earlier: last?.0)
        let all = Array(partition.parts.indices)
        var plans: [PartPlan?] = Array(repeating: nil, count: all.count)
        if let (old, oldPlans) = last {
            let reuse = Reuse(partition, from: old, plans: oldPlans)
            plans = each(all, partition, threads: threads) { reuse.plan(forPart: $0) }
        }
        // The last plan is let go here, so that the thread below holds it last and frees it
        // (held to the end of this function, it was often freed on this thread: 6% of a
        // re-plan's samples after a jurisdiction edit).
        last = nil
        let missing = all.filter { plans[$0] == nil }
        for (i, plan) in zip(missing, each(missing, partition, threads: threads, { partition.plan(part: $0) })) { plans[i] = plan }
        var done = plans.map { $0! }
        plans = []
        // The last plan's state, fences, observation and actions are let go on another
        // thread: nothing here waits for them to be freed (without a memo, they were freed
        // with the last plan, before this one began).
        if let previous = memo?.remember(partition, done, reused: all.count - missing.count) {
            DispatchQueue.global(qos: .utility).async { withExtendedLifetime(previous) {} }
        }
        guard let order = partition.mergeOrder(done) else {
            return Planner.plan(state, fences: fences, observed: observed, source: source)
        }
        let n = order.count
        let workers = min(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), max(1, n / 4096))
        func ranges(_ body: @Sendable (Range<Int>) -> Void) {
            DispatchQueue.concurrentPerform(iterations: workers) { w in body(n * w / workers ..< n * (w + 1) / workers) }
        }
        // Every action's id, made once (range by range on every thread), for numbering.
        let ids = [String](unsafeUninitializedCapacity: n) { buffer, count in
            if let base = buffer.baseAddress {
                nonisolated(unsafe) let out = base
                ranges { MergeOrder.ids(into: out, range: $0) }
            }
            count = n
        }
        var actions: [Action]
        if memo == nil {
            // The parts' actions laid end to end, each part's taken out as it is laid, so that
            // they are never held twice (a copy of the 78,801 actions of the benchmark's plan
            // is 13 MB); put in plan order in place; numbered in contiguous ranges, one per
            // thread, in place.
            actions = []
            actions.reserveCapacity(n)
            for p in done.indices { actions += done[p].takeActions() }
            done = []
            order.arrange(&actions)
            ids.withUnsafeBufferPointer { ids in
                nonisolated(unsafe) let table = ids
                actions.withUnsafeMutableBufferPointer { buffer in
                    nonisolated(unsafe) let slots = buffer
                    ranges { order.number(slots, ids: table, range: $0) }
                }
            }
        } else {
            // The memo keeps the parts' plans: each action is copied once, straight into its
            // place in the plan, and numbered there, range by range on every thread.
            actions = ids.withUnsafeBufferPointer { ids in
                nonisolated(unsafe) let table = ids
                return MergeOrder.withActions(of: done) { parts in
                    nonisolated(unsafe) let from = parts
                    return Array(unsafeUninitializedCapacity: n) { buffer, count in
                        if let base = buffer.baseAddress {
                            nonisolated(unsafe) let out = base
                            ranges { order.gather(from, ids: table, into: out, range: $0) }
                        }
                        count = n
                    }
                }
            }
            done = []
        }
        return order.plan(actions, source: source)
    }

    /// `body` of each of `which` parts (results in that order), on up to `threads` threads
    /// (default: every core), the heaviest parts first so that no thread is left with a large
    /// one at the end.
    static func each<T>(_ which: [Int], _ partition: PlanPartition, threads: Int?, _ body: @Sendable (Int) -> T) -> [T] {
        let n = which.count
        let workers = min(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), n)
        guard workers > 1 else { return which.map(body) }
        let queue = which.indices.sorted { partition.parts[which[$0]].weight > partition.parts[which[$1]].weight }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: n)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let slots = results
        let lock = NSLock()
        nonisolated(unsafe) var taken = 0
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let k: Int = lock.withLock {
                    defer { taken += 1 }
                    return taken
                }
                guard k < n else { return }
                let i = queue[k]
                slots[i] = body(which[i])
            }
        }
        return results.map { $0! }
    }
}

/// The last plan's partition and part plans, for the next plan to take over what did not
/// change (`PlanParts.plan(…, memo:)`). Holds that plan's desired state, fence analysis and
/// observation until the next plan replaces them. Plans through one memo may come from any
/// thread, one at a time or not: each reads the memo once and replaces it once.
public final class PlanMemo: Sendable {
    struct Last: Sendable {
        let partition: PlanPartition
        let plans: [PartPlan]
        let reused: Int
    }
    private let state = Mutex<Last?>(nil)

    public init() {}

    var last: (PlanPartition, [PartPlan])? { state.withLock { $0.map { ($0.partition, $0.plans) } } }

    /// Keeps this plan, and hands back the one it replaces.
    func remember(_ partition: PlanPartition, _ plans: [PartPlan], reused: Int) -> Last? {
        state.withLock { last in
            defer { last = Last(partition: partition, plans: plans, reused: reused) }
            return last
        }
    }

    /// Of the last plan: how many parts it had, and how many it took over unplanned.
    public var lastParts: (total: Int, reused: Int) {
        state.withLock { last in (last?.plans.count ?? 0, last?.reused ?? 0) }
    }
}
