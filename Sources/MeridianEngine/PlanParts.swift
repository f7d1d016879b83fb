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
        // The last plan, taken out of the memo: this plan holds it alone, so that its actions
        // may be reused in place.
        var last = memo?.take()
        let cores = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let partition = PlanPartition(state, fences: fences, observed: observed, earlier: last?.partition, both: { first, second in
            if cores > 1 { DispatchQueue.concurrentPerform(iterations: 2) { $0 == 0 ? first() : second() } } else { first(); second() }
        })
        let all = Array(partition.parts.indices)
        var plans: [PartPlan?] = Array(repeating: nil, count: all.count)
        // For each part taken over, the last plan's part it is.
        var was: [Int?] = Array(repeating: nil, count: all.count)
        if let last {
            // Each part taken over, or else planned on the spot: the parts that changed are
            // planned while the others are compared.
            let reuse = Reuse(partition, from: last.partition, plans: last.plans)
            let found = each(all, partition, threads: threads) { p -> (Int?, PartPlan?) in
                if let q = reuse.match(forPart: p) { return (q, nil) }
                return (nil, partition.plan(part: p))
            }
            for p in all {
                was[p] = found[p].0
                plans[p] = found[p].1 ?? last.plans[found[p].0!]
            }
        }
        // The last plan's merge holds while the regions are the same names in the same order
        // (its keys are their positions). Its actions are taken out; the rest of it is let go
        // on another thread (its state, fences and observation: nothing here waits for them
        // to be freed).
        var lastActions: [Action] = []
        var lastOrder: MergeOrder?
        if last != nil {
            if partition.mergeKeysHold(from: last!.partition) { lastOrder = last!.order }
            swap(&lastActions, &last!.actions)
            letGo(&last)
        }
        let missing = all.filter { was[$0] == nil }
        let unplanned = all.filter { plans[$0] == nil }
        for (i, plan) in zip(unplanned, each(unplanned, partition, threads: threads, { partition.plan(part: $0) })) { plans[i] = plan }
        var done = plans.map { $0! }
        plans = []
        let reused = all.count - missing.count
        func remember(_ order: MergeOrder?, _ actions: [Action], _ merge: PlanMemo.Merge) {
            var previous = memo?.remember(partition, done, reused: reused, order: order, actions: actions, merge: merge)
            letGo(&previous)
        }
        // Every part taken over from the very part of the same place: the last plan is this plan.
        if let lastOrder, missing.isEmpty, lastOrder.partCount == all.count, was.indices.allSatisfy({ was[$0] == $0 }),
           lastActions.count == lastOrder.count {
            remember(lastOrder, lastActions, .takenOver)
            return lastOrder.plan(lastActions, source: source)
        }
        let cachedKeys = lastOrder.map { o in was.map { $0.map { o.keys[$0] } } } ?? []
        guard let order = partition.mergeOrder(done, keys: cachedKeys) else {
            letGo(&lastActions)
            remember(nil, [], .whole)
            return Planner.plan(state, fences: fences, observed: observed, source: source)
        }
        // Whether `parts` hold few enough actions to be written into the last plan's: more
        // than half, in a plan large enough to be gathered on every core, are gathered below.
        func few(_ parts: [Int]) -> Bool {
            order.count < 4_096 || parts.reduce(0, { $0 + done[$1].actionCount }) <= order.count / 2
        }
        // In place: the last plan's actions, where only the parts planned again, or moved, are
        // written (each numbered where it goes). A part taken over whose actions keep their
        // positions keeps its actions as they were, ids and dependencies included. The array
        // is copied first if the caller still holds the last plan.
        if let lastOrder, lastActions.count == order.count {
            let placed = all.filter { p in !(was[p].map { order.samePlaces(part: p, as: lastOrder, part: $0) } ?? false) }
            if few(placed) {
                var actions: [Action] = []
                swap(&actions, &lastActions)
                actions.withUnsafeMutableBufferPointer { order.place(parts: placed, of: done, into: $0) }
                remember(order, actions, .inPlace(parts: placed.count))
                return order.plan(actions, source: source)
            }
        } else if let lastOrder, lastActions.count == lastOrder.count, few(missing) {
            // Another number of actions (a part planned again has more or fewer): every later
            // action moves. They are moved within the array, not copied, and renamed.
            var actions: [Action] = []
            swap(&actions, &lastActions)
            order.rearrange(&actions, from: lastOrder, was: was, plans: done)
            remember(order, actions, .rearranged(parts: missing.count))
            return order.plan(actions, source: source)
        }
        letGo(&lastActions)
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
            // The parts' actions laid end to end, moved out of the parts' plans on two threads,
            // each part's storage freed as it is laid, so that they are never held twice (a
            // copy of the 78,801 actions of the benchmark's plan is 13 MB); put in plan order
            // in place; numbered in contiguous ranges, one per thread, in place.
            actions = MergeOrder.laidEndToEnd(moving: &done, both: { first, second in
                if workers > 1 { DispatchQueue.concurrentPerform(iterations: 2) { $0 == 0 ? first() : second() } } else { first(); second() }
            })
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
                    // With room to grow in place when the next plan rearranges it.
                    return Array(unsafeUninitializedCapacity: n + MergeOrder.headroom(n)) { buffer, count in
                        if let base = buffer.baseAddress {
                            nonisolated(unsafe) let out = base
                            ranges { order.gather(from, ids: table, into: out, range: $0) }
                        }
                        count = n
                    }
                }
            }
            remember(order, actions, .gathered)
            done = []
        }
        return order.plan(actions, source: source)
    }

    /// Lets `value` go on another thread: what it alone holds is freed there, not on this one.
    static func letGo<T>(_ value: inout T?) {
        guard case .some = value else { return }
        let held = Held(value)
        value = nil
        DispatchQueue.global(qos: .utility).async { held.value = nil }
    }

    static func letGo<T>(_ value: inout [T]) {
        guard !value.isEmpty else { return }
        var held: [T]? = value
        value = []
        letGo(&held)
    }

    private final class Held<T>: @unchecked Sendable {
        var value: T?
        init(_ value: T?) { self.value = value }
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
/// thread, one at a time or not: each reads the memo once and replaces it once. It also keeps
/// the last re-check of a plan made through it (`PlanCheck.verify(…, memo:)`): the state and
/// fence analysis that check read, and which part plans it found clean, until the next check
/// replaces them.
public final class PlanMemo: Sendable {
    struct Last: Sendable {
        let partition: PlanPartition
        let plans: [PartPlan]
        /// The merge of `plans`, and the whole plan's actions it made (nil and none when the
        /// whole planner made the plan).
        let order: MergeOrder?
        var actions: [Action]
    }
    private let state = Mutex<Last?>(nil)
    /// How the last plan's parts were merged.
    public enum Merge: Sendable, Equatable {
        /// Every action copied into its place.
        case gathered
        /// The plan before's actions kept in place, but those of `parts` parts (planned again,
        /// or moved), written.
        case inPlace(parts: Int)
        /// Another number of actions than the plan before: its actions moved into the new
        /// plan and renamed, but those of `parts` parts planned again, copied.
        case rearranged(parts: Int)
        /// Every part taken over, in the same places: the plan before, as it was.
        case takenOver
        /// Not merged: the whole planner made the plan.
        case whole
    }

    /// The last plan's part counts and merge, kept when the plan is taken out.
    private let counts = Mutex<(total: Int, reused: Int, merge: Merge?)>((0, 0, nil))

    public init() {}

    /// Takes the last plan out: a plan made meanwhile through this memo finds none.
    func take() -> Last? { state.withLock { last in defer { last = nil }; return last } }

    /// Keeps this plan, and hands back the one it replaces (none, unless another plan
    /// through this memo was made meanwhile).
    func remember(_ partition: PlanPartition, _ plans: [PartPlan], reused: Int, order: MergeOrder?, actions: [Action], merge: Merge) -> Last? {
        counts.withLock { $0 = (plans.count, reused, merge) }
        return state.withLock { last in
            defer { last = Last(partition: partition, plans: plans, order: order, actions: actions) }
            return last
        }
    }

    /// The last check of a plan through this memo, for the next to take over (see
    /// `PlanCheck.verify(…, memo:)`): the facts it read, and which part plans it found clean.
    struct Checked: Sendable {
        let state: DesiredState
        let fences: FenceAnalysis
        /// Per region of `state`, in order: the jurisdiction the observation said it attests.
        let attested: [String?]
        let plans: [PartPlan]
        let clean: [Bool]
    }
    private let checked = Mutex<Checked?>(nil)
    private let checkCounts = Mutex<(checked: Int, total: Int)?>(nil)

    /// The last plan's merge and part plans (left in the memo), or nil when the whole
    /// planner made it.
    func merged() -> (order: MergeOrder, plans: [PartPlan])? {
        state.withLock { last in last.flatMap { l in l.order.map { ($0, l.plans) } } }
    }

    func lastChecked() -> Checked? { checked.withLock { $0 } }

    /// Keeps this check, and hands back the one it replaces.
    func rememberCheck(_ check: Checked?, checked n: Int, of total: Int) -> Checked? {
        checkCounts.withLock { $0 = (n, total) }
        return checked.withLock { last in
            defer { last = check }
            return last
        }
    }

    /// Of the last re-check through this memo: how many actions it checked, of how many (the
    /// others it took over from the check before).
    public var lastCheck: (checked: Int, total: Int)? { checkCounts.withLock { $0 } }

    /// Of the last plan: how many parts it had, and how many it took over unplanned.
    public var lastParts: (total: Int, reused: Int) { counts.withLock { ($0.total, $0.reused) } }

    /// How the last plan's parts were merged (nil before the first plan).
    public var lastMerge: Merge? { counts.withLock { $0.merge } }
}
