public import MeridianCore
internal import Dispatch
internal import Foundation

/// `Planner.plan` on every core: the fleet is split into parts that share nothing
/// (`PlanPartition`), the parts are planned at once, the largest first, and merged into
/// exactly the plan the whole planner makes (a property test holds the merge to that).
public enum PlanParts {
    public static func plan(_ state: DesiredState, fences: FenceAnalysis, observed: ObservedState, source: PlanSource,
                            options: Planner.Options = Planner.Options(), threads: Int? = nil) -> Plan {
        // A drill fails regions by name for the whole fleet: planned whole.
        guard options.failedRegions.isEmpty else {
            return Planner.plan(state, fences: fences, observed: observed, source: source, options: options)
        }
        let partition = PlanPartition(state, fences: fences, observed: observed)
        let plans = planParts(partition, Array(partition.parts.indices), threads: threads)
        return partition.merge(plans, source: source) ?? Planner.plan(state, fences: fences, observed: observed, source: source)
    }

    /// The plans of `which` parts (in that order), on up to `threads` threads (default: every
    /// core), the heaviest parts first so that no thread is left with a large one at the end.
    static func planParts(_ partition: PlanPartition, _ which: [Int], threads: Int?) -> [PartPlan] {
        let n = which.count
        let workers = min(max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount), n)
        guard workers > 1 else { return which.map { partition.plan(part: $0) } }
        let queue = which.indices.sorted { partition.parts[which[$0]].weight > partition.parts[which[$1]].weight }
        let results = UnsafeMutableBufferPointer<PartPlan?>.allocate(capacity: n)
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
                slots[i] = partition.plan(part: which[i])
            }
        }
        return results.map { $0! }
    }
}
