public import Logging
internal import MeridianCore
public import MeridianEngine
public import ServiceLifecycle
internal import Foundation
internal import MeridianAdapters
internal import MeridianManifests
internal import Metrics
internal import Synchronization

/// The reconcile loop (`meridian controller`): every interval, or at once on a webhook, it
/// fetches the ref, checks the commit (signature, validity), observes every region, plans,
/// re-checks the fences, and applies, recording status, metrics and the ledger. It leads only
/// while it holds the store's lease; a standby waits and takes over when the lease lapses.
public final class Controller: Service, Sendable {
    public struct Configuration: Sendable {
        public var repository: String
        public var ref: String = "main"
        public var path: String = "manifests"
        public var interval: Double = 60
        public var dryRun = false
        public var verifySignatures = false
        public var trustedKeys: String?
        public var fetchTimeout: Double = 60
        public var cacheDirectory: String?
        /// Seconds a lease lasts without renewal; a standby takes over within it.
        public var leaseTTL: Double = 15
        public var workingDirectory = "."
        public var executor = ExecutorOptions()
        public var maxDestroy: Int?
        public var allowDestroy = false

        public init(repository: String) { self.repository = repository }
    }

    /// What `/status` shows and the store keeps.
    public struct Status: Sendable, Codable {
        public var holder: String
        public var leader = false
        public var fencingToken: Int64 = 0
        public var suspended = false
        /// The commit in force: the last one that was valid and trusted.
        public var commit: String?
        public var lastSeenCommit: String?
        public var lastError: String?
        public var lastResult: String?
        public var lastReconcileAt: String?
        public var lastAppliedAt: String?
        public var lastAppliedCommit: String?
        public var cycles = 0
        public var noOpCycles = 0
        public var consecutiveFailures = 0
        public var reconciledOnce = false
    }

    struct Memory {
        var status: Status
        /// The commit last loaded, and what it loaded to (so an unchanged commit is not re-parsed).
        var loaded: (commit: String, result: LoadResult)?
        /// What the regions looked like after the last cycle that left nothing to do.
        var settled: (commit: String, observed: ObservedState)?
        /// The last commit refused, and why: it is not checked again until the ref moves.
        var refused: (commit: String, why: String)?
        var resumeChecked = false
    }

    public let config: Configuration
    public let store: any StateStore
    let logger: Logger
    let source: GitSource
    /// The last cycle's plan by parts: the next cycle plans again only the parts whose inputs
    /// changed (a one-file commit, a region that moved).
    let planMemo = PlanMemo()
    let memory: Mutex<Memory>
    let wakeUp = Wakeup()
    let stopping = StopFlag()
    let environment: [String: String]

    public init(_ config: Configuration, store: any StateStore, holder: String, environment: [String: String], logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
        self.environment = environment
        source = GitSource(repository: config.repository, cacheDirectory: config.cacheDirectory, fetchTimeout: config.fetchTimeout)
        memory = Mutex(Memory(status: Status(holder: holder)))
    }

    public var status: Status { memory.withLock { $0.status } }

    /// Ready once its store answers and, when it leads, once it has reconciled. A standby is
    /// ready too: it takes webhooks and passes them on through the store.
    public func isReady() async -> Bool {
        let s = status
        guard s.reconciledOnce || !s.leader else { return false }
        return await store.ping()
    }

    /// Runs a cycle now (a push webhook). A standby records the request in the store, where the
    /// leader picks it up within a third of the lease.
    public func trigger() async {
        if status.leader {
            wakeUp.signal()
        } else {
            try? await store.requestCycle()
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: {
            self.stopping.value.store(true, ordering: .releasing)
            self.wakeUp.signal()
        }
        await store.release()
        Gauge(label: "meridian_leader").record(0)
        logger.info("controller stopped; lease released")
    }

    private var isStopping: Bool { stopping.value.load(ordering: .acquiring) }

    private func loop() async {
        while !isStopping {
            var wait = config.interval
            do throws(StoreError) {
                let token = try await store.acquireOrRenew(ttl: config.leaseTTL)
                let wasLeader = status.leader
                memory.withLock {
                    $0.status.leader = token != nil
                    $0.status.fencingToken = token ?? 0
                }
                Gauge(label: "meridian_leader").record(token == nil ? 0 : 1)
                if token != nil && !wasLeader { logger.info("leading", metadata: ["token": "\(token!)"]) }
                if token == nil {
                    if wasLeader { logger.warning("lost the lease; standing by") }
                    wait = min(config.leaseTTL / 3, config.interval)
                } else {
                    wait = await leadingCycle()
                }
            } catch {
                logger.error("state store", metadata: ["error": "\(error)"])
                memory.withLock { $0.status.lastError = "state store: \(error)" }
                wait = min(config.leaseTTL / 3, 5)
            }
            await sleep(wait)
        }
    }

    /// Sleeps `seconds`, renewing the lease meanwhile, and wakes early on a trigger or shutdown.
    private func sleep(_ seconds: Double) async {
        let deadline = Clock.monotonic() + seconds
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wakeUp.wait() }
            group.addTask {
                while Clock.monotonic() < deadline {
                    let step = min(deadline - Clock.monotonic(), self.config.leaseTTL / 3)
                    try? await Task.sleep(nanoseconds: UInt64(max(0, step) * 1e9))
                    if Task.isCancelled { return }
                    if self.status.leader, Clock.monotonic() < deadline {
                        let token = try? await self.store.acquireOrRenew(ttl: self.config.leaseTTL)
                        if token == nil { return }  // lost it: go back to the loop at once
                        if (try? await self.store.takeCycleRequest()) == true { return }  // a webhook reached a standby
                    }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// One cycle as leader; returns how long to wait before the next.
    private func leadingCycle() async -> Double {
        let suspended = (try? await store.status())?.suspended ?? false
        memory.withLock { $0.status.suspended = suspended }
        if suspended {
            await record("suspended")
            return config.interval
        }
        let start = Clock.monotonic()
        let result = await reconcile()
        Metrics.Timer(label: "meridian_reconcile_duration_seconds").recordSeconds(Clock.monotonic() - start)
        Counter(label: "meridian_reconcile_total", dimensions: [("result", result.ok ? "success" : "failure")]).increment()
        let failures = memory.withLock { m -> Int in
            m.status.cycles += 1
            m.status.lastResult = result.summary
            m.status.lastReconcileAt = Clock.now()
            if result.ok {
                m.status.consecutiveFailures = 0
                m.status.reconciledOnce = true
            } else {
                m.status.consecutiveFailures += 1
            }
            return m.status.consecutiveFailures
        }
        await record(result.summary)
        guard failures > 0 else { return config.interval }
        // Back off: 2 s, 4 s, 8 s … up to the interval (at least 60 s).
        return min(pow(2, Double(failures)), max(config.interval, 60))
    }

    private func record(_ what: String) async {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: (try? encoder.encode(status)) ?? Data(), as: UTF8.self)
        do { try await store.writeStatus(json) } catch { logger.warning("status not recorded", metadata: ["error": "\(error)"]) }
    }

    struct CycleResult {
        var ok: Bool
        var summary: String
    }

    /// fetch → verify → load → observe → plan → verify → apply → record.
    func reconcile() async -> CycleResult {
        // The source: the newest commit if it is trusted and valid, else the last good one.
        var commit: String
        var refusal: String?
        do throws(GitError) {
            if source.isRemote { try source.fetch() }
            commit = try source.resolve(config.ref)
            memory.withLock { $0.status.lastSeenCommit = commit }
        } catch {
            // The source cannot be read: drift is still corrected against the last good commit.
            guard let good = memory.withLock({ $0.loaded?.commit }) else { return fail("fetch \(config.repository)@\(config.ref): \(error)") }
            logger.error("fetch failed; keeping the last good commit", metadata: ["error": "\(error)", "commit": "\(good)"])
            refusal = "fetch \(config.repository)@\(config.ref) failed: \(error)"
            commit = good
        }
        if commit != memory.withLock({ $0.loaded?.commit }) {
            let known = memory.withLock { $0.refused?.commit == commit ? $0.refused?.why : nil }
            if let problem = known ?? check(commit) {
                let why = known == nil ? "commit \(commit.prefix(12)) refused: \(problem)" : problem
                memory.withLock { $0.refused = (commit, why) }
                refusal = why
                if known == nil { logger.error("commit refused", metadata: ["commit": "\(commit)", "reason": "\(why)"]) }
                guard let good = memory.withLock({ $0.loaded?.commit }) else { return fail(why) }
                commit = good
            }
        }
        guard let result = memory.withLock({ $0.loaded?.commit == commit ? $0.loaded?.result : nil }) else {
            return fail(refusal ?? "no valid commit to reconcile")
        }
        memory.withLock { m in
            m.status.commit = commit
            m.status.lastError = refusal.map { "\($0); keeping \(commit.prefix(12)) in force" }
        }
        let adapters = RegionAdapters(for: result.state, workingDirectory: config.workingDirectory, environment: environment)
        let executor = Executor(state: result.state, fences: result.fences, adapters: adapters, store: store, options: executorOptions())

        // A run a previous leader left unfinished is resumed first.
        if !memory.withLock({ $0.resumeChecked }) {
            memory.withLock { $0.resumeChecked = true }
            if let unfinished = try? await store.unfinishedRun(), unfinished.commit == commit,
               let plan = try? SavedPlan.decode(Array(unfinished.plan.utf8), source: "run \(unfinished.id)"),
               let journal = try? await store.entries(run: unfinished) {
                logger.info("resuming an unfinished run", metadata: ["run": "\(unfinished.id)", "commit": "\(commit)"])
                return await apply(plan, executor: executor, commit: commit, label: "resumed run \(unfinished.id)", resume: (unfinished, journal))
            }
        }

        let (observed, warnings) = await adapters.observeAll()
        for w in warnings { logger.warning("observe", metadata: ["warning": "\(w)"]) }
        // The cheap path: same commit, regions exactly as the last settled cycle left them.
        if let settled = memory.withLock({ $0.settled }), settled.commit == commit, settled.observed == observed {
            memory.withLock { $0.status.noOpCycles += 1 }
            return CycleResult(ok: refusal == nil, summary: refusal == nil ? "no changes at \(commit.prefix(12))" : "no changes; \(refusal!)")
        }
        let plan = PlanParts.plan(result.state, fences: result.fences, observed: observed,
                                  source: PlanSource(commit: commit, digest: result.digest, path: config.path), memo: planMemo)
        let parts = planMemo.lastParts
        Gauge(label: "meridian_plan_parts").record(parts.total)
        Gauge(label: "meridian_plan_parts_reused").record(parts.reused)
        // Checked through the memo: the actions of part plans the last cycle's check found
        // clean, under facts that still hold, are taken over (compared with those plans).
        let violations = PlanCheck.verify(plan, state: result.state, fences: result.fences, observed: observed, memo: planMemo)
        if !violations.isEmpty {
            Counter(label: "meridian_fence_violations_total").increment(by: violations.count)
            return fail("the plan breaks a fence, nothing applied: " + violations.map(\.description).joined(separator: "; "))
        }
        if plan.isEmpty {
            memory.withLock { $0.settled = (commit, observed) }
            return CycleResult(ok: refusal == nil, summary: refusal == nil ? "in sync at \(commit.prefix(12))" : "in sync; \(refusal!)")
        }
        if config.dryRun {
            return CycleResult(ok: true, summary: "dry run: \(plan.actions.count) actions planned at \(commit.prefix(12)), none applied")
        }
        let budget = DestroyBudget(plan, observed: observed, maxDestroy: config.maxDestroy)
        if budget.exceeded && !config.allowDestroy {
            return fail("\(budget.description); not applied (start with --allow-destroy or a higher --max-destroy)")
        }
        // A residency breach goes to the ledger as evidence before anything removes it.
        let purges = plan.actions.filter { $0.kind == .purge }
        if !purges.isEmpty {
            let evidence = purges.compactMap { a in
                a.region.map { PurgeEvidence(purge: a, region: $0, observed: observed.regions[$0.rawValue], state: result.state) }
            }
            var regions: [String: String] = [:]
            for e in evidence { regions[e.region] = e.declaredJurisdiction }
            let body = LedgerBody(kind: "breach", time: Clock.now(), commit: commit, sourceDigest: result.digest, planDigest: nil, run: nil,
                                  regions: regions, actions: [], purges: evidence)
            do { _ = try await store.appendLedger(body) } catch {
                return fail("the breach could not be recorded, so it is not purged yet: \(error)")
            }
            logger.warning("residency breach recorded", metadata: ["purges": "\(purges.count)", "commit": "\(commit)"])
        }
        let outcome = await apply(plan, executor: executor, commit: commit, label: "\(plan.actions.count) actions", resume: nil)
        if refusal != nil { return CycleResult(ok: false, summary: outcome.summary + "; " + refusal!) }
        return outcome
    }

    private func apply(_ plan: Plan, executor: Executor, commit: String, label: String, resume: (JournalRun, [String: JournalEntry])?) async -> CycleResult {
        let report: ApplyReport
        do { report = try await ApplySession.apply(plan, executor: executor, resume: resume) } catch {
            return fail("apply: \(error)")
        }
        for a in plan.actions {
            let result = report.entries[a.id]?.status.rawValue ?? "not-run"
            Counter(label: "meridian_actions_total", dimensions: [("type", a.kind.rawValue), ("result", result)]).increment()
        }
        let summary = "\(label) at \(commit.prefix(12)): \(report.count(.done)) done, \(report.count(.failed)) failed, \(report.count(.skipped)) skipped"
        logger.info("applied", metadata: ["commit": "\(commit)", "done": "\(report.count(.done))", "failed": "\(report.count(.failed))",
                                          "skipped": "\(report.count(.skipped))", "ledger": "\(report.ledgerEntry?.seq ?? 0)"])
        if report.succeeded {
            Gauge(label: "meridian_last_applied_timestamp_seconds").record(Date().timeIntervalSince1970)
            memory.withLock {
                $0.status.lastAppliedAt = Clock.now()
                $0.status.lastAppliedCommit = commit
            }
            return CycleResult(ok: true, summary: summary)
        }
        return CycleResult(ok: false, summary: summary + (report.openBreakers.isEmpty ? "" : "; circuit open: " + report.openBreakers.keys.sorted().map(\.rawValue).joined(separator: ", ")))
    }

    private func executorOptions() -> ExecutorOptions {
        var o = config.executor
        let flag = stopping
        o.shouldStop = { flag.value.load(ordering: .acquiring) }
        return o
    }

    /// Loads and checks a new commit; nil when it may be reconciled, else why not.
    private func check(_ commit: String) -> String? {
        do throws(GitError) {
            if config.verifySignatures {
                guard let keys = config.trustedKeys else { return "--verify-signatures without --trusted-keys" }
                _ = try source.verify(commit: commit, trustedKeys: try TrustedKeys.load(path: keys))
            }
            let result = try source.load(commit: commit, path: config.path)
            // The previous revision's parse and state are garbage now; give the pages back.
            defer { ManifestLoader.returnFreedMemory() }
            guard result.isValid else {
                return "invalid manifests (\(result.diagnostics.filter { $0.severity == .error }.count) errors), first: " + (result.diagnostics.first.map(\.description) ?? "")
            }
            if result.state.isEmpty { return "the commit holds no manifests under \(config.path); refusing to remove everything" }
            memory.withLock {
                $0.loaded = (commit, result)
                $0.settled = nil
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func fail(_ message: String) -> CycleResult {
        logger.error("reconcile failed", metadata: ["error": "\(message)"])
        memory.withLock { $0.status.lastError = message }
        return CycleResult(ok: false, summary: message)
    }
}

/// Set once a graceful shutdown starts; read by the executor before each dispatch.
final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Wakes the reconcile loop early (a webhook, a shutdown). A signal sent while nobody waits is
/// kept for the next wait.
final class Wakeup: Sendable {
    struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Returns on a signal, or when the waiting task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.pending || Task.isCancelled {
                        s.pending = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
    }
}
