public import MeridianCore
internal import MeridianAdapters

/// One apply from start to evidence: begin (or resume) a journaled run, execute it, append the
/// ledger entry, close the run.
public enum ApplySession {
    /// `resume`: an unfinished run of this same plan, with what its journal holds.
    public static func apply(_ plan: Plan, executor: Executor, resume: (JournalRun, [String: JournalEntry])? = nil) async throws(StoreError) -> ApplyReport {
        let store = executor.store
        let run: JournalRun
        var journal: [String: JournalEntry] = [:]
        if let resume {
            run = resume.0
            journal = resume.1
        } else {
            run = try await store.beginRun(plan: PlanJSON.render(plan), planDigest: SavedPlan.digest(plan), commit: plan.source.commit,
                                           sourceDigest: plan.source.digest, startedAt: Clock.now())
        }
        var report = try await executor.run(plan, in: run, journal: journal)
        // Stopped before the end: the run stays open, and its resume writes the ledger entry.
        if report.stoppedEarly { return report }
        report.ledgerEntry = try await store.appendLedger(ledgerBody(plan, report: report, run: run, state: executor.state))
        try await store.finishRun(run, status: report.succeeded ? .done : .failed)
        return report
    }

    static func ledgerBody(_ plan: Plan, report: ApplyReport, run: JournalRun, state: DesiredState) -> LedgerBody {
        var regions: [String: String] = [:]
        var records: [LedgerBody.ActionRecord] = []
        var purges: [PurgeEvidence] = []
        for a in plan.actions {
            let involved = a.regions + (a.from.map { [$0] } ?? [])
            for r in involved { regions[r.rawValue] = state.regions[r]?.jurisdiction.value.rawValue ?? "(undeclared)" }
            let e = report.entries[a.id]
            records.append(LedgerBody.ActionRecord(id: a.id, type: a.kind.rawValue, regions: involved.map(\.rawValue),
                                                   artifact: a.artifact?.rawValue, placement: a.placement?.rawValue,
                                                   result: e?.status.rawValue ?? "not-run", detail: e?.detail ?? "",
                                                   startedAt: e?.startedAt, finishedAt: e?.finishedAt))
            if let evidence = e?.evidence { purges.append(evidence) }
        }
        return LedgerBody(kind: "apply", time: Clock.now(), commit: plan.source.commit, sourceDigest: plan.source.digest,
                          planDigest: run.planDigest, run: run.id, regions: regions, actions: records, purges: purges)
    }
}
