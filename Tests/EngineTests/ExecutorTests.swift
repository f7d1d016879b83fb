import Foundation
import GRDB
import MeridianAdapters
import MeridianCore
import MeridianEngine
import MeridianManifests
import Testing

/// The executor in process, against real local regions in a temp dir and a real SQLite journal.
struct Setup {
    let dir: TempDir
    let loaded: LoadResult
    let adapters: RegionAdapters
    let store: SQLiteStateStore

    init() throws {
        dir = try TempDir("meridian-executor")
        try Fleet.write(into: dir)
        loaded = try DirectorySource(root: dir.path + "/manifests").load(digest: true)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        adapters = RegionAdapters(for: loaded.state, workingDirectory: dir.path, environment: [:])
        store = try SQLiteStateStore(path: dir.path + "/state.db")
    }

    func local(_ r: String) -> LocalRegionAdapter { adapters[RegionName(r)] as! LocalRegionAdapter }

    func plan() async -> (Plan, ObservedState) {
        let (observed, _) = await adapters.observeAll()
        let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: observed, source: PlanSource(commit: nil, digest: loaded.digest, path: "manifests"))
        return (plan, observed)
    }

    func executor(_ options: ExecutorOptions = ExecutorOptions()) -> Executor {
        var o = options
        o.backoffBase = 0.01
        return Executor(state: loaded.state, fences: loaded.fences, adapters: adapters, store: store, options: o)
    }
}

@Suite("executor")
struct ExecutorTests {
    @Test("a region that re-attests another jurisdiction after planning gets nothing: the fence re-check stops each action before it runs")
    func recheckBeforeEachAction() async throws {
        let s = try Setup()
        let (plan, _) = await s.plan()
        #expect(plan.actions.contains { $0.region?.rawValue == "eu-b" && $0.artifact?.rawValue == "eu-ft" })
        // Between plan and apply, eu-b declares itself to be in the US.
        var eub = try s.local("eu-b").state()
        eub.observation.jurisdiction = "us"
        try s.local("eu-b").overwrite(eub)
        let report = try await ApplySession.apply(plan, executor: s.executor())
        #expect(!report.succeeded)
        let after = try s.local("eu-b").state()
        #expect(after.observation.artifacts.isEmpty, "nothing was staged into eu-b: \(after.observation.artifacts)")
        #expect(after.executions.isEmpty, "no command reached eu-b")
        let refused = plan.actions.filter { $0.region?.rawValue == "eu-b" && $0.kind == .stageArtifact }
        #expect(!refused.isEmpty)
        for a in refused {
            #expect(report.entries[a.id]?.status == .failed)
            #expect(report.entries[a.id]?.detail.contains("fence re-check refused") == true, "\(report.entries[a.id]!.detail)")
        }
        // Unrelated regions went ahead.
        #expect(try s.local("us-a").state().observation.deployments["us-chat"] != nil)
    }

    @Test("a failed action stops only its dependents; other regions complete")
    func failureStopsDependents() async throws {
        let s = try Setup()
        let (plan, _) = await s.plan()
        // eu-a loses its accelerators behind Meridian's back: its deploy cannot fit.
        var eua = try s.local("eu-a").state()
        eua.observation.capacity?["h100"]?.free = 0
        try s.local("eu-a").overwrite(eua)
        var options = ExecutorOptions()
        options.maxAttempts = 2
        let report = try await ApplySession.apply(plan, executor: s.executor(options))
        let deploy = try #require(plan.actions.first { $0.kind == .deploy && $0.region?.rawValue == "eu-a" })
        #expect(report.entries[deploy.id]?.status == .failed)
        func dependsTransitively(_ a: Action, on id: String) -> Bool {
            var stack = a.dependsOn, seen = Set<String>()
            while let d = stack.popLast() {
                if d == id { return true }
                guard seen.insert(d).inserted, let x = plan.actions.first(where: { $0.id == d }) else { continue }
                stack += x.dependsOn
            }
            return false
        }
        for a in plan.actions {
            let status = report.entries[a.id]?.status
            if dependsTransitively(a, on: deploy.id) {
                #expect(status == .skipped, "\(a.id) depends on the failed deploy")
            } else if a.id != deploy.id {
                #expect(status == .done, "\(a.id) \(a.kind) \(a.regions) is independent of the failure: \(report.entries[a.id]?.detail ?? "")")
            }
        }
        #expect(try s.local("us-a").state().observation.deployments["us-chat"]?.ready == 2)
        #expect(try s.local("eu-a").state().observation.traffic.isEmpty, "no traffic moved onto a region whose deploy failed")
    }

    @Test("a resumed run does not re-run what its journal says is done, and replays with the same keys are harmless")
    func resume() async throws {
        let s = try Setup()
        let (plan, _) = await s.plan()
        let run = try await s.store.beginRun(plan: PlanJSON.render(plan), planDigest: SavedPlan.digest(plan), commit: nil,
                                             sourceDigest: plan.source.digest, startedAt: Clock.now())
        // First pass: only the first half of the actions.
        let half = Plan(source: plan.source, observedGenerations: plan.observedGenerations,
                        actions: Array(plan.actions.prefix(plan.actions.count / 2)), unserved: [])
        let first = try await s.executor().run(half, in: run)
        #expect(first.succeeded)
        // The last finished action is marked started again, as if the process died before recording its end.
        var journal = try await s.store.entries(run: run)
        let redo = half.actions.last!.id
        journal[redo]?.status = .started
        let unfinished = try await s.store.unfinishedRun()
        #expect(unfinished?.id == run.id)
        let report = try await ApplySession.apply(plan, executor: s.executor(), resume: (run, journal))
        #expect(report.succeeded)
        #expect(report.resumedDone == half.actions.count - 1)
        #expect(report.entries[redo]?.detail.contains("already executed") == true, "\(report.entries[redo]!.detail)")
        for r in ["eu-a", "eu-b", "eu-c", "us-a"] {
            #expect(try s.local(r).state().executions.values.allSatisfy { $0.applied == 1 })
        }
        let (again, _) = await s.plan()
        #expect(again.isEmpty, "\(PlanText.render(again, colour: false))")
        #expect(try await s.store.unfinishedRun() == nil)
    }

    @Test("the ledger records each apply with purge evidence; editing, deleting or cutting off an entry is detected")
    func ledger() async throws {
        let s = try Setup()
        let (plan, _) = await s.plan()
        _ = try await ApplySession.apply(plan, executor: s.executor())
        // Someone copies the EU fine-tune into us-a: the next apply purges it, with evidence.
        var usa = try s.local("us-a").state()
        usa.observation.artifacts["eu-ft"] = ObservedArtifact(digest: "sha256:" + String(repeating: "c", count: 64))
        try s.local("us-a").overwrite(usa)
        let (purge, _) = await s.plan()
        #expect(purge.actions.first?.kind == .purge)
        let report = try await ApplySession.apply(purge, executor: s.executor())
        #expect(report.succeeded)
        #expect(try s.local("us-a").state().observation.artifacts["eu-ft"] == nil)
        let (entries, head) = try await s.store.ledger()
        #expect(entries.count == 2)
        #expect(LedgerVerifier.verify(entries, head: head).isIntact)
        let body = try #require(entries[1].decoded())
        #expect(body.purges == [PurgeEvidence(region: "us-a", declaredJurisdiction: "us", attestedJurisdiction: "us", artifact: "eu-ft",
                                              digest: "sha256:" + String(repeating: "c", count: 64))])
        #expect(body.concerns(jurisdiction: "us") && !body.concerns(jurisdiction: "gb"))

        // Each hash is checkable without Meridian: Python's canonical JSON gives the same bytes.
        let line = entries[1].exportLine
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", """
            import hashlib, json, sys
            e = json.loads(sys.stdin.read())
            body = json.dumps(e["entry"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            print("ok" if "sha256:" + hashlib.sha256((e["prevHash"] + "\\n" + body).encode()).hexdigest() == e["hash"] else "mismatch")
            """]
        let inPipe = Pipe(), outPipe = Pipe()
        py.standardInput = inPipe
        py.standardOutput = outPipe
        try py.run()
        inPipe.fileHandleForWriting.write(Data(line.utf8))
        try inPipe.fileHandleForWriting.close()
        let answer = String(decoding: outPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        py.waitUntilExit()
        #expect(answer.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")

        // Tampering: an edited body, a deleted entry, a cut-off end.
        let db = try DatabaseQueue(path: s.dir.path + "/state.db")
        try await db.write { try $0.execute(sql: "UPDATE ledger SET body = replace(body, 'us-a', 'us-b') WHERE seq = 2") }
        var (e2, h2) = try await s.store.ledger()
        var verdict = LedgerVerifier.verify(e2, head: h2)
        #expect(!verdict.isIntact && verdict.description.contains("tampered"), "\(verdict)")
        try await db.write { try $0.execute(sql: "UPDATE ledger SET body = replace(body, 'us-b', 'us-a') WHERE seq = 2") }
        (e2, h2) = try await s.store.ledger()
        #expect(LedgerVerifier.verify(e2, head: h2).isIntact)
        try await db.write { try $0.execute(sql: "DELETE FROM ledger WHERE seq = 2") }
        (e2, h2) = try await s.store.ledger()
        verdict = LedgerVerifier.verify(e2, head: h2)
        #expect(!verdict.isIntact && verdict.description.contains("truncated"), "\(verdict)")
        try await db.write { try $0.execute(sql: "DELETE FROM ledger; DELETE FROM ledger_head") }
        (e2, h2) = try await s.store.ledger()
        #expect(LedgerVerifier.verify(e2, head: h2).isIntact, "an empty ledger with no head is intact")
    }

    @Test("the CLI: ledger verify exits 1 on a tampered ledger; export writes only entries about the jurisdiction")
    func ledgerCLI() async throws {
        let dir = try TempDir()
        try Fleet.write(into: dir)
        #expect(try Meridian.run(["apply", "--auto-approve", "manifests"], in: dir.path).status == 0)
        let export = try Meridian.run(["ledger", "export", "--jurisdiction", "eu"], in: dir.path)
        #expect(export.status == 0 && export.stdout.split(separator: "\n").count == 1, "\(export)")
        let none = try Meridian.run(["ledger", "export", "--jurisdiction", "gb"], in: dir.path)
        #expect(none.status == 0 && none.stdout.isEmpty, "\(none)")
        let db = try DatabaseQueue(path: dir.path + "/.meridian/state.db")
        try await db.write { try $0.execute(sql: "UPDATE ledger SET body = replace(body, '\"done\"', '\"failed\"')") }
        let verify = try Meridian.run(["ledger", "verify"], in: dir.path)
        #expect(verify.status == 1 && verify.stderr.contains("BROKEN"), "\(verify)")
        let refused = try Meridian.run(["ledger", "export", "--jurisdiction", "eu"], in: dir.path)
        #expect(refused.status == 1, "\(refused)")
    }
}

@Suite("simulated region")
struct SimulatedRegionTests {
    let digest = "sha256:" + String(repeating: "d", count: 64)

    @Test("one effect per idempotency key; generation grows only with a change")
    func idempotency() throws {
        var r = SimulatedRegion(name: "eu-a", jurisdiction: "eu", accelerators: ["h100": 4])
        let c = RegionCommand(type: .stageArtifact, region: "eu-a", actionID: "a1", artifact: "x", digest: digest, fence: ["eu"])
        #expect(try r.execute(c, key: "k") == ExecutionResult(generation: 1, replayed: false))
        #expect(try r.execute(c, key: "k") == ExecutionResult(generation: 1, replayed: true))
        #expect(r.executions["k"] == SimulatedRegion.Execution(applied: 1, requests: 2, generation: 1))
        #expect(try r.execute(c, key: "k2") == ExecutionResult(generation: 1, replayed: false), "staging what is there changes nothing")
    }

    @Test("capacity: a deploy needs free accelerators plus what it already holds")
    func capacity() throws {
        var r = SimulatedRegion(name: "eu-a", jurisdiction: "eu", accelerators: ["h100": 4])
        func deploy(_ p: String, _ n: Int) -> RegionCommand {
            RegionCommand(type: .deploy, region: "eu-a", actionID: p, placement: p, model: "m", version: "1", replicas: n,
                          accelerator: AcceleratorDemand(type: "h100", count: 1), fence: ["eu"])
        }
        _ = try r.execute(deploy("p", 3), key: "1")
        #expect(r.observation.capacity?["h100"]?.free == 1)
        #expect(throws: AdapterError.self) { _ = try r.execute(deploy("q", 2), key: "2") }
        _ = try r.execute(deploy("p", 4), key: "3")
        #expect(r.observation.capacity?["h100"]?.free == 0)
        _ = try r.execute(RegionCommand(type: .undeploy, region: "eu-a", actionID: "u", placement: "p"), key: "4")
        #expect(r.observation.capacity?["h100"]?.free == 4)
    }

    @Test("no traffic onto a deployment that is not ready, and none outside the fence")
    func traffic() throws {
        var r = SimulatedRegion(name: "eu-a", jurisdiction: "eu", accelerators: [:])
        let t = RegionCommand(type: .setTraffic, region: "eu-a", actionID: "t", placement: "p", weight: 50, fence: ["eu"])
        #expect(throws: AdapterError.self) { _ = try r.execute(t, key: "1") }
        _ = try r.execute(RegionCommand(type: .deploy, region: "eu-a", actionID: "d", placement: "p", model: "m", version: "1", replicas: 1, fence: ["eu"]),
                          key: "2", readyAtOnce: false)
        #expect(throws: AdapterError.self) { _ = try r.execute(t, key: "3") }
        r.markReady("p")
        _ = try r.execute(t, key: "4")
        #expect(r.observation.traffic["p"] == 50)
        let outside = RegionCommand(type: .setTraffic, region: "eu-a", actionID: "t2", placement: "p", weight: 60, fence: ["us"])
        #expect(throws: AdapterError.self) { _ = try r.execute(outside, key: "5") }
        #expect(r.observation.traffic["p"] == 50)
    }
}
