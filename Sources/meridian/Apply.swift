internal import ArgumentParser
internal import Foundation
internal import MeridianAdapters
internal import MeridianCore
internal import MeridianEngine
internal import MeridianManifests

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan and apply: journaled, resumable, parallel across regions, every action re-checked against the fences.",
        discussion: """
        Without --plan, observes every region, plans, shows the plan and applies it. With --plan FILE (written by
        `meridian plan --out FILE`), applies that plan, and refuses it if its source or a region it touches changed
        since (a stale plan). An apply cut short (a crash, kill -9) is resumed by the next apply of the same source.
        Exit codes: 0 applied (or nothing to do); 1 invalid manifests, a fence violation, a stale plan, a plan over
        the destroy budget, or an action that failed; 3 an environment problem.
        """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var state: StateOptions

    @Option(help: ArgumentHelp("A saved plan (JSON) to apply instead of planning now.", valueName: "file"))
    var plan: String?

    @Flag(help: "Apply without asking.")
    var autoApprove = false

    @Option(help: ArgumentHelp("The most undeploy and delete-artifact actions applied without --allow-destroy (default: 25% of the deployments and artifact copies observed).", valueName: "n"))
    var maxDestroy: Int?

    @Flag(help: "Apply a plan even when it removes more than the destroy budget.")
    var allowDestroy = false

    @Flag(help: "Plan even when the source holds no manifests.")
    var allowEmpty = false

    @Option(help: "Actions in flight at once, over all regions.")
    var parallelism = 32

    @Option(help: "Actions in flight at once in one region.")
    var perRegion = 4

    @Option(help: "Tries per action for transient failures.")
    var attempts = 5

    @Option(help: ArgumentHelp("Seconds a deploy may take to report its replicas ready.", valueName: "seconds"))
    var healthTimeout: Double = 120

    func validate() throws {
        if parallelism < 1 || perRegion < 1 || attempts < 1 { throw ValidationError("--parallelism, --per-region and --attempts must be at least 1") }
        if let maxDestroy, maxDestroy < 0 { throw ValidationError("--max-destroy must not be negative") }
        if healthTimeout <= 0 { throw ValidationError("--health-timeout must be positive") }
    }

    func run() async throws {
        let loaded = try source.load(digest: true)
        let result = try loaded.desired(allowEmpty: allowEmpty, nothing: "applied")
        let store = try state.open(exclusive: true)
        let adapters = RegionAdapters(for: result.state, environment: ProcessInfo.processInfo.environment)
        var options = ExecutorOptions()
        options.parallelism = parallelism
        options.perRegion = perRegion
        options.maxAttempts = attempts
        options.healthTimeout = healthTimeout
        let progress = ConsoleProgress(tty: isatty(STDERR_FILENO) == 1)
        let executor = Executor(state: result.state, fences: result.fences, adapters: adapters, store: store, options: options, progress: progress)
        let savedPlan = try plan.map { path throws -> Plan in
            do { return try SavedPlan.load(path: path) } catch {
                Output.err("meridian: \(error)")
                throw Exit.invalid
            }
        }

        // A run cut short resumes first, when it is the same plan or the same source.
        if let unfinished = try await storeCall({ () async throws(StoreError) -> JournalRun? in try await store.unfinishedRun() }) {
            let sameSource = unfinished.commit == loaded.commit && unfinished.sourceDigest == result.digest
            let samePlan = savedPlan.map { SavedPlan.digest($0) == unfinished.planDigest } ?? sameSource
            if samePlan, let old = try? SavedPlan.decode(Array(unfinished.plan.utf8), source: "journal run \(unfinished.id)") {
                let journal = try await storeCall({ () async throws(StoreError) -> [String: JournalEntry] in try await store.entries(run: unfinished) })
                let done = journal.values.filter { $0.status == .done }.count
                Output.err("meridian: resuming run \(unfinished.id) (started \(unfinished.startedAt)): \(done) of \(old.actions.count) actions already done")
                try await execute(old, executor: executor, store: store, resume: (unfinished, journal))
                return
            }
            Output.err("meridian: run \(unfinished.id) was cut short, but the source changed since; it is abandoned and a new plan is made")
        }

        let observed = await Observation.observe(adapters)
        let thePlan: Plan
        if let savedPlan {
            let stale = SavedPlan.staleness(of: savedPlan, source: loaded.planSource, observed: observed)
            guard stale.isEmpty else {
                Output.err("meridian: stale plan \(plan!): it no longer describes the fleet; nothing was applied. Plan again.\n" + stale.map { "  - \($0)" }.joined(separator: "\n"))
                throw Exit.invalid
            }
            thePlan = savedPlan
        } else {
            thePlan = PlanParts.plan(result.state, fences: result.fences, observed: observed, source: loaded.planSource)
        }
        let violations = PlanCheck.verify(thePlan, state: result.state, fences: result.fences, observed: observed)
        guard violations.isEmpty else {
            for v in violations { Output.err("meridian: error: [fence.plan] \(v)") }
            Output.err("meridian: the plan breaks a residency fence; nothing was applied")
            throw Exit.invalid
        }
        let colour = isatty(STDOUT_FILENO) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true)
        guard !thePlan.isEmpty else {
            Output.out(PlanText.render(thePlan, colour: colour).trimmingCharacters(in: .newlines))
            return
        }
        Output.out(PlanText.render(thePlan, colour: colour))

        // Destroy budget (SPEC §5): purges are outside it.
        let budget = DestroyBudget(thePlan, observed: observed, maxDestroy: maxDestroy)
        if budget.exceeded && !allowDestroy {
            Output.err("meridian: \(budget.description); nothing was applied. Check the plan, then re-run with --allow-destroy or a higher --max-destroy.")
            throw Exit.invalid
        }
        if !autoApprove {
            guard isatty(STDIN_FILENO) == 1 else {
                Output.err("meridian: refusing to apply without --auto-approve: stdin is not a terminal to ask on")
                throw Exit.invalid
            }
            FileHandle.standardError.write(Data("Apply these \(thePlan.actions.count) actions? Only 'yes' is accepted: ".utf8))
            guard readLine()?.trimmingCharacters(in: .whitespaces) == "yes" else {
                Output.err("meridian: not applied")
                throw Exit.invalid
            }
        }
        try await execute(thePlan, executor: executor, store: store, resume: nil)
    }

    private func storeCall<T>(_ body: () async throws(StoreError) -> T) async throws -> T {
        do { return try await body() } catch {
            Output.err("meridian: state: \(error)")
            throw Exit.environment
        }
    }

    private func execute(_ plan: Plan, executor: Executor, store: any StateStore, resume: (JournalRun, [String: JournalEntry])?) async throws {
        let start = Clock.monotonic()
        let report = try await storeCall({ () async throws(StoreError) -> ApplyReport in
            try await ApplySession.apply(plan, executor: executor, resume: resume)
        })
        (executor.progress as? ConsoleProgress)?.finish()
        let seconds = Clock.monotonic() - start
        for a in plan.actions {
            guard let e = report.entries[a.id], e.status != .done else { continue }
            Output.err("meridian: \(a.id) \(a.kind.rawValue) \(a.regions.map(\.rawValue).joined(separator: ",")): \(e.status.rawValue): \(e.detail)")
        }
        for (r, why) in report.openBreakers.sorted(by: { $0.key < $1.key }) {
            Output.err("meridian: \(r) is behind its circuit breaker: \(why)")
        }
        let ledger = report.ledgerEntry.map { " Ledger entry \($0.seq) (\($0.hash.prefix(19))…)." } ?? ""
        let resumed = report.resumedDone > 0 ? " (\(report.resumedDone) done before the resume)" : ""
        let summary = String(format: "%@: %d done%@, %d failed, %d skipped of %d actions in %.2f s.", report.succeeded ? "Apply complete" : "Apply incomplete",
                             report.count(.done), resumed, report.count(.failed), report.count(.skipped), plan.actions.count, seconds)
        Output.out(summary + ledger)
        if !report.succeeded { throw Exit.invalid }
    }
}
