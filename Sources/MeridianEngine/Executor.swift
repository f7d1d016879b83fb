public import MeridianCore
public import MeridianAdapters
internal import Foundation

/// How hard the executor pushes, and how patient it is.
public struct ExecutorOptions: Sendable {
    /// Actions in flight at once, over all regions.
    public var parallelism = 32
    /// Actions in flight at once in one region.
    public var perRegion = 4
    /// Tries per action for transient errors (the first included).
    public var maxAttempts = 5
    /// Backoff before retry n: `base · 2^(n-1)`, capped, times a random factor in [0.5, 1.5).
    public var backoffBase = 0.1
    public var backoffCap = 5.0
    /// Seconds a deploy may take to report its replicas ready.
    public var healthTimeout = 120.0
    /// Consecutive failed actions after which a region is put behind its circuit breaker.
    public var breakerThreshold = 3
    /// Checked before each dispatch: once it says stop (a graceful shutdown, a lost lease),
    /// nothing more is dispatched, what is in flight finishes, and the run stays open to resume.
    public var shouldStop: @Sendable () -> Bool = { false }

    public init() {}
}

public enum ProgressEvent: Sendable {
    case started(Action)
    case retrying(Action, attempt: Int, error: String, delay: Double)
    case finished(Action, JournalEntry)
    case breakerOpened(RegionName, String)
}

/// Where the executor reports progress (a live line per region on a TTY, plain lines otherwise).
public protocol ProgressSink: Sendable {
    func report(_ event: ProgressEvent)
}

public struct SilentProgress: ProgressSink {
    public init() {}
    public func report(_ event: ProgressEvent) {}
}

/// What an apply did.
public struct ApplyReport: Sendable {
    public let actions: [Action]
    public let entries: [String: JournalEntry]
    public let openBreakers: [RegionName: String]
    /// Actions a resumed run found already done.
    public let resumedDone: Int
    public var ledgerEntry: LedgerEntry?
    /// Dispatching stopped early (`shouldStop`); the run is left open for a resume.
    public var stoppedEarly = false

    public func count(_ status: JournalEntry.Status) -> Int { entries.values.filter { $0.status == status }.count }
    public var succeeded: Bool { actions.allSatisfy { entries[$0.id]?.status == .done } }
}

/// Runs a plan's DAG against the regions: in parallel within bounds, each action only after its
/// dependencies, each one re-checked against the fences on a fresh observation of its regions
/// just before it runs (SPEC §2.6), retried with backoff when the failure is transient. A failure
/// stops only the failed action's dependents. The executor never decides what to do: it does what
/// the plan says, or refuses.
public struct Executor: Sendable {
    public let state: DesiredState
    public let fences: FenceAnalysis
    public let adapters: RegionAdapters
    public let store: any StateStore
    public let options: ExecutorOptions
    public let progress: any ProgressSink

    public init(state: DesiredState, fences: FenceAnalysis, adapters: RegionAdapters, store: any StateStore,
                options: ExecutorOptions = ExecutorOptions(), progress: any ProgressSink = SilentProgress()) {
        self.state = state
        self.fences = fences
        self.adapters = adapters
        self.store = store
        self.options = options
        self.progress = progress
    }

    enum Slot { case pending, running, finished }

    /// Runs every action of `plan` not already done in `journal` (a resumed run), recording each
    /// before dispatch and after completion.
    public func run(_ plan: Plan, in run: JournalRun, journal: [String: JournalEntry] = [:]) async throws(StoreError) -> ApplyReport {
        let actions = plan.actions
        var index: [String: Int] = [:]
        for (i, a) in actions.enumerated() { index[a.id] = i }
        var dependents = Array(repeating: [Int](), count: actions.count)
        var waiting = Array(repeating: 0, count: actions.count)
        var slot = Array(repeating: Slot.pending, count: actions.count)
        var entries: [String: JournalEntry] = [:]
        var resumedDone = 0
        for (i, a) in actions.enumerated() where journal[a.id]?.status == .done {
            slot[i] = .finished
            entries[a.id] = journal[a.id]
            resumedDone += 1
        }
        for (i, a) in actions.enumerated() where slot[i] == .pending {
            for d in a.dependsOn {
                guard let j = index[d] else { continue }
                dependents[j].append(i)
                if slot[j] != .finished { waiting[i] += 1 }
            }
        }
        var ready = (0 ..< actions.count).filter { slot[$0] == .pending && waiting[$0] == 0 }
        var runningIn: [RegionName: Int] = [:]
        var running = 0
        var consecutiveFailures: [RegionName: Int] = [:]
        var openBreakers: [RegionName: String] = [:]
        var finishedRecords: [JournalEntry] = []

        func lockedRegions(_ a: Action) -> [RegionName] { a.kind == .setTraffic ? [] : a.regions }

        /// Marks `i` finished and, if it did not succeed, every action that depends on it skipped.
        func finish(_ i: Int, _ entry: JournalEntry) {
            slot[i] = .finished
            entries[actions[i].id] = entry
            finishedRecords.append(entry)
            if entry.status == .done {
                for j in dependents[i] where slot[j] == .pending {
                    waiting[j] -= 1
                    if waiting[j] == 0 { ready.append(j) }
                }
                return
            }
            var stack = dependents[i]
            while let j = stack.popLast() {
                guard slot[j] == .pending else { continue }
                let now = Clock.now()
                let skipped = JournalEntry(action: actions[j].id, status: .skipped, attempts: 0,
                                           detail: "not run: it depends on \(actions[i].id), which did not complete",
                                           startedAt: now, finishedAt: now)
                slot[j] = .finished
                entries[actions[j].id] = skipped
                finishedRecords.append(skipped)
                progress.report(.finished(actions[j], skipped))
                stack.append(contentsOf: dependents[j])
            }
        }

        var storeError: StoreError?
        var stoppedEarly = false
        await withTaskGroup(of: (Int, JournalEntry).self) { group in
            func launch() {
                if options.shouldStop() {
                    stoppedEarly = stoppedEarly || !ready.isEmpty
                    ready.removeAll()
                    return
                }
                ready.sort()
                var k = 0
                while k < ready.count && running < options.parallelism {
                    let i = ready[k]
                    let a = actions[i]
                    let regions = lockedRegions(a)
                    if let r = regions.first(where: { openBreakers[$0] != nil }) {
                        ready.remove(at: k)
                        let now = Clock.now()
                        let entry = JournalEntry(action: a.id, status: .skipped, attempts: 0,
                                                 detail: "not run: \(r) is behind its circuit breaker (\(openBreakers[r]!))",
                                                 startedAt: now, finishedAt: now)
                        progress.report(.finished(a, entry))
                        finish(i, entry)
                        continue
                    }
                    if running > 0 && regions.contains(where: { runningIn[$0, default: 0] >= options.perRegion }) {
                        k += 1
                        continue
                    }
                    ready.remove(at: k)
                    slot[i] = .running
                    running += 1
                    for r in regions { runningIn[r, default: 0] += 1 }
                    let breakers = openBreakers
                    group.addTask { (i, await self.perform(a, run: run, skipRegions: breakers)) }
                }
            }
            launch()
            while true {
                // Journal what finished (skips included) before anything else is dispatched.
                do throws(StoreError) {
                    for entry in finishedRecords { try await store.record(run: run, entry: entry) }
                } catch {
                    // The journal cannot keep up: dispatch nothing more, let what runs finish.
                    storeError = error
                    ready.removeAll()
                }
                finishedRecords.removeAll()
                guard running > 0 else { break }
                guard let (i, entry) = await group.next() else { break }
                running -= 1
                let a = actions[i]
                for r in lockedRegions(a) { runningIn[r, default: 0] -= 1 }
                progress.report(.finished(a, entry))
                for r in lockedRegions(a) {
                    if entry.status == .done {
                        consecutiveFailures[r] = 0
                    } else {
                        consecutiveFailures[r, default: 0] += 1
                        if consecutiveFailures[r]! >= options.breakerThreshold && openBreakers[r] == nil {
                            let why = "\(consecutiveFailures[r]!) consecutive actions failed, the last: \(entry.detail)"
                            openBreakers[r] = why
                            progress.report(.breakerOpened(r, why))
                        }
                    }
                }
                finish(i, entry)
                if storeError == nil { launch() }
            }
        }
        if let storeError { throw storeError }
        stoppedEarly = stoppedEarly || entries.count < actions.count
        return ApplyReport(actions: actions, entries: entries, openBreakers: openBreakers, resumedDone: resumedDone, ledgerEntry: nil,
                           stoppedEarly: stoppedEarly)
    }

    // MARK: - One action

    /// Runs one action to completion (with retries) and returns its journal entry. The "started"
    /// record is written before anything is sent to a region.
    func perform(_ action: Action, run: JournalRun, skipRegions: [RegionName: String]) async -> JournalEntry {
        let startedAt = Clock.now()
        var entry = JournalEntry(action: action.id, status: .started, attempts: 0, detail: "dispatched", startedAt: startedAt)
        do { try await store.record(run: run, entry: entry) } catch {
            entry.status = .failed
            entry.detail = "not run: the journal cannot record it: \(error)"
            entry.finishedAt = Clock.now()
            return entry
        }
        progress.report(.started(action))
        var attempt = 0
        while true {
            attempt += 1
            entry.attempts = attempt
            do throws(AdapterError) {
                let (detail, evidence) = try await attemptOnce(action, run: run, skipRegions: skipRegions)
                entry.status = .done
                entry.detail = detail
                entry.evidence = evidence ?? entry.evidence
                entry.finishedAt = Clock.now()
                return entry
            } catch {
                if error.isTransient && attempt < options.maxAttempts {
                    let delay = min(options.backoffCap, options.backoffBase * pow(2, Double(attempt - 1))) * Double.random(in: 0.5 ..< 1.5)
                    progress.report(.retrying(action, attempt: attempt, error: error.message, delay: delay))
                    try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                    continue
                }
                entry.status = .failed
                entry.detail = error.isTransient ? "\(error.message) (gave up after \(attempt) attempts)" : error.message
                entry.finishedAt = Clock.now()
                return entry
            }
        }
    }

    private func adapter(_ r: RegionName) throws(AdapterError) -> any RegionAdapter {
        guard let a = adapters[r] else {
            throw .permanent(adapters.problems[r] ?? "\(r) has no adapter (it is not a declared region)")
        }
        return a
    }

    /// The region's latest observation of what the check before an action reads: reachability,
    /// the attested jurisdiction, capacity, and the named artifacts and placements (SPEC §2's
    /// re-check needs no more, and a whole observation costs in proportion to the region).
    private func observeReachable(_ r: RegionName, artifacts: [ArtifactName?] = [], placements: [PlacementName?] = []) async throws(AdapterError) -> RegionObservation {
        let o = try await adapter(r).observe(artifacts: artifacts.compactMap { $0?.rawValue }, placements: placements.compactMap { $0?.rawValue })
        guard o.reachable else { throw .transient("\(r) reports itself unreachable") }
        return o
    }

    func key(_ run: JournalRun, _ action: Action, _ region: RegionName) -> String { "\(run.nonce)/\(action.id)/\(region)" }

    /// One try: a fresh observation of every region involved, the fence re-check, then the command.
    func attemptOnce(_ a: Action, run: JournalRun, skipRegions: [RegionName: String]) async throws(AdapterError) -> (String, PurgeEvidence?) {
        var observed = ObservedState()
        if a.kind == .setTraffic {
            return try await setTraffic(a, run: run, skipRegions: skipRegions)
        }
        guard let r = a.region else { throw .permanent("\(a.id) names no region") }
        let here = try await observeReachable(r, artifacts: [a.artifact], placements: [a.placement])
        observed.regions[r.rawValue] = here
        if let from = a.from {
            let source = try await observeReachable(from, artifacts: [a.artifact])
            observed.regions[from.rawValue] = source
            if let x = a.artifact, let declared = state.artifacts[x], !(source.artifacts[x.rawValue].map { declared.declaredDigest.matches($0.digest) } ?? false) {
                throw .transient("\(from) does not hold \(x) at \(declared.digest.value.prefix(19))… yet, so it cannot be copied from there")
            }
        }
        if let (_, why) = PlanVerifier.verify(a, state: state, fences: fences, observed: observed) {
            throw .permanent("fence re-check refused \(a.id): \(why)")
        }
        let evidence = a.kind == .purge ? PurgeEvidence(purge: a, region: r, observed: here, state: state) : nil
        let command = try self.command(a, region: r)
        let result = try await adapter(r).execute(command, idempotencyKey: key(run, a, r))
        var detail = result.replayed ? "already executed (replay of its idempotency key); generation \(result.generation)" : "generation \(result.generation)"
        if a.kind == .deploy, let p = a.placement, let n = a.replicas {
            if let d = result.deployment, d.model == a.model?.rawValue, d.version == a.version, d.replicas == n, d.ready >= n {
                detail += "; \(n)/\(n) ready at once"
            } else {
                let waited = try await healthGate(r, placement: p, model: a.model?.rawValue, version: a.version, replicas: n)
                detail += String(format: "; %d/%d ready after %.2f s", n, n, waited)
            }
        }
        return (detail, evidence)
    }

    /// Each region gets its own weight. A region that cannot be reached, or is behind its breaker,
    /// is skipped and recorded; only regions with a weight above zero are fence-checked, as
    /// `Fences.verify` does.
    private func setTraffic(_ a: Action, run: JournalRun, skipRegions: [RegionName: String]) async throws(AdapterError) -> (String, PurgeEvidence?) {
        guard let p = a.placement, let weights = a.weights else { throw .permanent("\(a.id): set-traffic without weights") }
        var observed = ObservedState()
        var skipped: [String] = []
        var reachable: [RegionName] = []
        for r in weights.keys.sorted() {
            if let why = skipRegions[r] {
                skipped.append("\(r) skipped (circuit breaker: \(why))")
                continue
            }
            do throws(AdapterError) {
                observed.regions[r.rawValue] = try await observeReachable(r, placements: [p])
                reachable.append(r)
            } catch {
                skipped.append("\(r) skipped (unreachable: \(error.message))")
            }
        }
        if let (_, why) = PlanVerifier.verify(a, state: state, fences: fences, observed: observed) {
            throw .permanent("fence re-check refused \(a.id): \(why)")
        }
        let fence = state.placements[p].flatMap { fences.modelFence(of: $0.model.value) }.map { fences.names($0).map(\.rawValue) }
        var set: [String] = []
        for r in reachable {
            let w = weights[r] ?? 0
            let c = RegionCommand(type: .setTraffic, region: r.rawValue, actionID: a.id, placement: p.rawValue, weight: w, fence: fence)
            _ = try await adapter(r).execute(c, idempotencyKey: key(run, a, r))
            set.append("\(r)=\(w)")
        }
        return ((["set " + (set.isEmpty ? "nothing" : set.joined(separator: ", "))] + skipped).joined(separator: "; "), nil)
    }

    /// The deploy is done only once the region reports every replica ready.
    private func healthGate(_ r: RegionName, placement: PlacementName, model: String?, version: String?, replicas: Int) async throws(AdapterError) -> Double {
        let start = Clock.monotonic()
        var pause = 0.01
        var last = "not reported"
        while true {
            if let o = try? await adapter(r).observe(artifacts: [], placements: [placement.rawValue]), let d = o.deployments[placement.rawValue] {
                if d.version == version && d.model == model && d.replicas == replicas && d.ready >= replicas { return Clock.monotonic() - start }
                last = "\(d.ready)/\(d.replicas) ready at \(d.version)"
            }
            let waited = Clock.monotonic() - start
            if waited >= options.healthTimeout {
                throw .permanent("health gate: \(placement) in \(r) not ready after \(Int(options.healthTimeout)) s (\(last)); traffic will not move onto it")
            }
            try? await Task.sleep(nanoseconds: UInt64(min(pause, options.healthTimeout - waited) * 1e9))
            pause = min(pause * 2, 0.5)
        }
    }

    /// The region's share of an action, with the fence the region must be inside.
    func command(_ a: Action, region r: RegionName) throws(AdapterError) -> RegionCommand {
        var c = RegionCommand(type: a.kind, region: r.rawValue, actionID: a.id, artifact: a.artifact?.rawValue, from: a.from?.rawValue,
                              placement: a.placement?.rawValue, model: a.model?.rawValue, version: a.version, replicas: a.replicas)
        switch a.kind {
        case .stageArtifact:
            guard let x = a.artifact, let declared = state.artifacts[x], let e = fences.effectiveFence(of: x) else {
                throw .permanent("\(a.id) stages an undeclared artifact")
            }
            c.digest = declared.digest.value
            c.fence = fences.names(e).map(\.rawValue)
        case .deploy:
            guard let m = a.model, let model = state.models[m], let fence = fences.modelFence(of: m) else {
                throw .permanent("\(a.id) deploys an undeclared model")
            }
            c.fence = fences.names(fence).map(\.rawValue)
            c.accelerator = model.accelerator.map { AcceleratorDemand(type: $0.type, count: $0.count) }
        default: break
        }
        return c
    }
}
