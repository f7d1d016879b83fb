import Foundation
import Logging
import MeridianAdapters
import MeridianCore
import MeridianEngine
import MeridianManifests
import Testing

/// A git repository holding the small fleet, with its local regions in the same directory.
struct FleetRepo {
    let dir: TempDir
    var path: String { dir.path }

    init(euReplicas: Int = 4) throws {
        dir = try TempDir("meridian-controller")
        try Fleet.write(into: dir, euReplicas: euReplicas)
        try Shell.git(["init", "-q", "-b", "main"], in: path)
        try Shell.git(["add", "manifests"], in: path)
        try Shell.git(["commit", "-q", "-m", "fleet"], in: path)
    }

    func commit(_ file: String, _ text: String, _ message: String) throws {
        try dir.write(file, text)
        try Shell.git(["add", "manifests"], in: path)
        try Shell.git(["commit", "-q", "-m", message], in: path)
    }

    func head() throws -> String { try Shell.run(["git", "rev-parse", "HEAD"], in: path).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }

    func region(_ name: String) throws -> RegionObservation {
        try LocalRegionAdapter(region: RegionName(name), directory: path + "/.meridian/regions/\(name)", jurisdiction: "", accelerators: [:]).state().observation
    }

    func controller(_ name: String, state: String, interval: String = "1s", extra: [String] = []) throws -> ControllerProcess {
        try ControllerProcess(["--repo", path, "--ref", "main", "--path", "manifests", "--interval", interval, "--state", state] + extra, in: path, name: name)
    }
}

@Suite("controller", .serialized)
struct ControllerTests {
    @Test("a pushed commit is applied; an invalid commit is not, and the last good one stays in force")
    func followsCommits() throws {
        let repo = try FleetRepo()
        let c = try repo.controller("solo", state: "sqlite:.meridian/state.db")
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.ready) == 2 }, "first cycle converged: \(c.log)")
        #expect(eventually(10) { (c.status?["reconciledOnce"] as? Bool) == true })
        #expect(try HTTP.request(c.base + "/readyz").0 == 200)
        // Idle: one cheap cycle per interval, nothing applied, nothing written to the ledger.
        #expect(eventually(10) { (c.status?["noOpCycles"] as? Int ?? 0) >= 1 })
        // The window is measured from before the first status request to after the second: under
        // a loaded full run a request can take a second or two, and the cycles go on meanwhile.
        let start = Date()
        let before = try #require(c.status)
        let ledgerBefore = try Meridian.run(["ledger", "export", "--jurisdiction", "us"], in: repo.path).stdout
        Thread.sleep(forTimeInterval: 3.2)
        let after = try #require(c.status)
        let window = Date().timeIntervalSince(start)
        let cycles = (after["cycles"] as? Int ?? 0) - (before["cycles"] as? Int ?? 0)
        let noOps = (after["noOpCycles"] as? Int ?? 0) - (before["noOpCycles"] as? Int ?? 0)
        #expect(cycles >= 2 && Double(cycles) <= window + 2, "about one cycle a second, not a spin: \(cycles) in \(window) s")
        #expect(noOps == cycles, "every idle cycle took the no-op path")
        #expect(try Meridian.run(["ledger", "export", "--jurisdiction", "us"], in: repo.path).stdout == ledgerBefore)
        let good = try repo.head()
        var serving = try repo.dir.read("manifests/serving.yaml")
        serving = serving.replacingOccurrences(of: "replicas: 2}", with: "replicas: 3}")
        try repo.commit("manifests/serving.yaml", serving, "us-chat: 3 replicas")
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.replicas) == 3 }, "\(c.log)")
        let applied = try repo.head()
        #expect(applied != good)
        // An invalid commit: not applied, status says why, the previous commit stays in force.
        try repo.commit("manifests/broken.yaml", "apiVersion: meridian/v1\nkind: Region\nmetadata: {name: x}\nspec: {jurisdiction: nowhere}\n", "broken")
        let broken = try repo.head()
        #expect(eventually(20) { (c.status?["lastSeenCommit"] as? String) == broken })
        #expect(eventually(10) { (c.status?["lastError"] as? String)?.contains("refused") == true }, "\(c.status ?? [:])")
        #expect(c.status?["commit"] as? String == applied)
        #expect(try repo.region("us-a").deployments["us-chat"]?.replicas == 3)
        // Drift: someone removes a deployment behind Meridian's back; the next cycle restores it.
        let adapter = LocalRegionAdapter(region: RegionName("eu-b"), directory: repo.path + "/.meridian/regions/eu-b", jurisdiction: "eu", accelerators: [:])
        var drifted = try adapter.state()
        drifted.observation.deployments.removeValue(forKey: "eu-chat")
        drifted.observation.traffic.removeValue(forKey: "eu-chat")
        try adapter.overwrite(drifted)
        #expect(eventually(20) { (try? repo.region("eu-b").deployments["eu-chat"]?.ready) == 4 }, "drift corrected: \(c.log)")
        let metrics = try HTTP.request(c.base + "/metrics").1
        for name in ["meridian_reconcile_duration_seconds", "meridian_actions_total", "meridian_last_applied_timestamp_seconds", "meridian_leader"] {
            #expect(metrics.contains(name), "\(name) in /metrics")
        }
        #expect(metrics.contains(#"meridian_actions_total{type="deploy",result="done"}"#) || metrics.contains(#"meridian_actions_total{result="done",type="deploy"}"#), "\(metrics)")
        // The last plan's parts. Both jurisdictions serve the shared `base` artifact, which the
        // EU stages from its US origin, so the fleet is one part; that plan changed it (the
        // drift), so nothing was taken over.
        func gauge(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        #expect(gauge("meridian_plan_parts") == 1, "\(metrics)")
        #expect(gauge("meridian_plan_parts_reused") == 0, "\(metrics)")
        c.signal(SIGTERM)
        c.process.waitUntilExit()
        #expect(c.process.terminationStatus == 0, "SIGTERM exits 0: \(c.log)")
    }

    @Test("a residency breach is written to the ledger as evidence before it is purged")
    func breachEvidence() throws {
        let repo = try FleetRepo()
        let c = try repo.controller("solo", state: "sqlite:.meridian/state.db")
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.ready) == 2 })
        let adapter = LocalRegionAdapter(region: RegionName("us-a"), directory: repo.path + "/.meridian/regions/us-a", jurisdiction: "us", accelerators: [:])
        var s = try adapter.state()
        s.observation.artifacts["eu-ft"] = ObservedArtifact(digest: "sha256:" + String(repeating: "c", count: 64))
        try adapter.overwrite(s)
        #expect(eventually(20) { (try? repo.region("us-a").artifacts["eu-ft"]) == nil }, "purged: \(c.log)")
        // The repository becomes unreadable: the last good commit stays in force, and drift is still corrected.
        try FileManager.default.moveItem(atPath: repo.path + "/.git", toPath: repo.path + "/.git-away")
        var again = try adapter.state()
        again.observation.artifacts["eu-ft"] = ObservedArtifact(digest: "sha256:" + String(repeating: "c", count: 64))
        try adapter.overwrite(again)
        #expect(eventually(20) { (try? repo.region("us-a").artifacts["eu-ft"]) == nil }, "purged without the source: \(c.log)")
        #expect((c.status?["lastError"] as? String)?.contains("fetch") == true, "\(c.status ?? [:])")
        try FileManager.default.moveItem(atPath: repo.path + "/.git-away", toPath: repo.path + "/.git")
        c.signal(SIGTERM)
        c.process.waitUntilExit()
        let export = try Meridian.run(["ledger", "export", "--jurisdiction", "us"], in: repo.path)
        let lines = export.stdout.split(separator: "\n")
        let breach = try #require(lines.firstIndex { $0.contains(#""kind":"breach""#) }, "\(export)")
        let purge = try #require(lines.lastIndex { $0.contains(#""type":"purge""#) })
        #expect(breach < purge, "the evidence comes before the apply that purged it")
        #expect(lines[breach].contains(#""artifact":"eu-ft""#) && lines[breach].contains(#""attestedJurisdiction":"us""#))
        #expect(try Meridian.run(["ledger", "verify"], in: repo.path).status == 0)
    }

    @Test("with --verify-signatures an unsigned head is never applied: the last signed commit stays in force")
    func signedCommitsOnly() throws {
        let repo = try FleetRepo()
        let key = repo.path + "/signing-key"
        #expect(try Shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", key]).status == 0)
        try repo.dir.write("trusted-keys", try repo.dir.read("signing-key.pub"))
        let sign = ["-c", "gpg.format=ssh", "-c", "user.signingkey=\(key)"]
        // The fleet's first commit is unsigned: sign a second one that changes nothing but the message.
        try Shell.git(sign + ["commit", "-q", "-S", "--allow-empty", "-m", "signed release"], in: repo.path)
        let signed = try repo.head()
        let c = try repo.controller("solo", state: "sqlite:.meridian/state.db", extra: ["--verify-signatures", "--trusted-keys", "trusted-keys"])
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.replicas) == 2 }, "\(c.log)")
        #expect(c.status?["commit"] as? String == signed)
        // An unsigned commit on top: refused, not applied, and the signed one stays in force.
        var serving = try repo.dir.read("manifests/serving.yaml")
        serving = serving.replacingOccurrences(of: "replicas: 2}", with: "replicas: 3}")
        try repo.commit("manifests/serving.yaml", serving, "unsigned change")
        let unsigned = try repo.head()
        #expect(eventually(20) { (c.status?["lastSeenCommit"] as? String) == unsigned })
        #expect(eventually(10) { (c.status?["lastError"] as? String)?.contains("not signed") == true || (c.status?["lastError"] as? String)?.contains("unsigned") == true },
                "\(c.status ?? [:])")
        Thread.sleep(forTimeInterval: 2)
        #expect(c.status?["commit"] as? String == signed)
        #expect(try repo.region("us-a").deployments["us-chat"]?.replicas == 2, "the unsigned change was not applied")
        // Signed again: applied.
        try Shell.git(sign + ["commit", "-q", "-S", "--allow-empty", "-m", "signed release 2"], in: repo.path)
        #expect(eventually(20) { (try? repo.region("us-a").deployments["us-chat"]?.replicas) == 3 }, "\(c.log)")
    }

    @Test("webhooks: a bad signature gets 401; a good one starts a cycle at once")
    func webhook() throws {
        let repo = try FleetRepo()
        try repo.dir.write("secret", "s3cret-for-the-webhook\n")
        let c = try repo.controller("solo", state: "sqlite:.meridian/state.db", interval: "1h", extra: ["--webhook-secret-file", "secret"])
        #expect(eventually(30) { (c.status?["reconciledOnce"] as? Bool) == true }, "\(c.log)")
        var serving = try repo.dir.read("manifests/serving.yaml")
        serving = serving.replacingOccurrences(of: "replicas: 2}", with: "replicas: 1}")
        try repo.commit("manifests/serving.yaml", serving, "us-chat: 1 replica")
        let payload = #"{"ref":"refs/heads/main"}"#
        for bad in [nil, "sha256=" + String(repeating: "0", count: 64), "sha1=abc"] as [String?] {
            var headers = ["X-GitHub-Event": "push", "Content-Type": "application/json"]
            if let bad { headers["X-Hub-Signature-256"] = bad }
            #expect(try HTTP.request(c.base + "/hooks/git", method: "POST", body: payload, headers: headers).0 == 401)
        }
        Thread.sleep(forTimeInterval: 1)
        #expect(try repo.region("us-a").deployments["us-chat"]?.replicas == 2, "a refused webhook starts nothing")
        let mac = try Shell.run(["openssl", "dgst", "-sha256", "-hmac", "s3cret-for-the-webhook"], input: payload).stdout
        let hex = mac.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let (status, _) = try HTTP.request(c.base + "/hooks/git", method: "POST", body: payload,
                                           headers: ["X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + hex])
        #expect(status == 202)
        #expect(eventually(15) { (try? repo.region("us-a").deployments["us-chat"]?.replicas) == 1 }, "\(c.log)")
    }

    @Test("with SQLite state a second replica is refused with a clear message")
    func sqliteSingleReplica() throws {
        let repo = try FleetRepo()
        let first = try repo.controller("one", state: "sqlite:.meridian/state.db")
        let second = try Meridian.run(["controller", "--repo", repo.path, "--state", "sqlite:.meridian/state.db", "--listen", "127.0.0.1:0"], in: repo.path)
        #expect(second.status == 3, "\(second)")
        #expect(second.stderr.contains("only one apply or controller"), "\(second)")
        _ = first
    }

    @Test("the fencing token: a deposed leader's journal and ledger writes fail in their own transaction")
    func fencingToken() async throws {
        let url = try Postgres.freshDatabase()
        let logger = Logger(label: "test")
        let a = try await PostgresStateStore(url: url, holder: "a", logger: logger)
        let b = try await PostgresStateStore(url: url, holder: "b", logger: logger)
        let ta = try #require(try await a.acquireOrRenew(ttl: 1))
        #expect(try await b.acquireOrRenew(ttl: 1) == nil, "one leader at a time")
        let run = try await a.beginRun(plan: "{}", planDigest: "d", commit: nil, sourceDigest: "s", startedAt: Clock.now())
        try await a.record(run: run, entry: JournalEntry(action: "a1", status: .started, attempts: 0, detail: "", startedAt: Clock.now()))
        // a stalls past its lease; b takes over with a higher token.
        try await Task.sleep(nanoseconds: 1_300_000_000)
        let tb = try #require(try await b.acquireOrRenew(ttl: 30))
        #expect(tb > ta)
        await #expect(throws: StoreError.self) {
            try await a.record(run: run, entry: JournalEntry(action: "a1", status: .done, attempts: 1, detail: "late", startedAt: Clock.now()))
        }
        await #expect(throws: StoreError.self) {
            _ = try await a.appendLedger(LedgerBody(kind: "apply", time: Clock.now(), commit: nil, sourceDigest: "s", planDigest: nil, run: nil,
                                                    regions: [:], actions: [], purges: []))
        }
        #expect(try await a.acquireOrRenew(ttl: 1) == nil, "the old leader cannot take the lease back while b holds it")
        // b writes; its view of the journal has a's last good write, not the late one.
        try await b.record(run: run, entry: JournalEntry(action: "a2", status: .done, attempts: 1, detail: "", startedAt: Clock.now()))
        let entries = try await b.entries(run: run)
        #expect(entries["a1"]?.status == .started && entries["a2"]?.status == .done)
        #expect(try Postgres.query(url, "SELECT count(*) FROM meridian_ledger") == "0")
        await b.release()
        #expect(try await a.acquireOrRenew(ttl: 5) == tb + 1, "a released lease is taken at once, and the token still grows")
    }

    @Test("a new leader resumes the run its predecessor left unfinished in the journal")
    func resumeAfterTakeover() async throws {
        let url = try Postgres.freshDatabase()
        let repo = try FleetRepo()
        let head = try repo.head()
        // The old leader: it took the lease, journaled a run, did one action, and died.
        let loaded = try DirectorySource(root: repo.path + "/manifests").load(digest: true)
        let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: ObservedState(),
                                source: PlanSource(commit: head, digest: loaded.digest, path: "manifests"))
        let old = try await PostgresStateStore(url: url, holder: "old", logger: Logger(label: "test"), leaseTTL: 1)
        _ = try #require(try await old.acquireOrRenew(ttl: 1))
        let run = try await old.beginRun(plan: PlanJSON.render(plan), planDigest: SavedPlan.digest(plan), commit: head,
                                         sourceDigest: loaded.digest, startedAt: Clock.now())
        try await old.record(run: run, entry: JournalEntry(action: plan.actions[0].id, status: .started, attempts: 1, detail: "dispatched",
                                                           startedAt: Clock.now()))
        try await Task.sleep(nanoseconds: 1_200_000_000)
        let c = try repo.controller("beta", state: url, extra: ["--lease-ttl", "3"])
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.ready) == 2 }, "\(c.log)")
        #expect(c.log.contains("resuming an unfinished run"), "\(c.log)")
        #expect(eventually(10) { (try? Postgres.query(url, "SELECT status FROM meridian_runs WHERE id = \(run.id)")) == "done" })
        let ledger = try Postgres.query(url, "SELECT count(*) FROM meridian_ledger WHERE body LIKE '%\"run\":\(run.id),%'")
        #expect(ledger == "1", "the resumed run's apply is in the ledger")
    }

    @Test("two replicas on PostgreSQL: one leads; kill -9 the leader and the other leads within TTL + 2 s; a paused old leader cannot write")
    func highAvailability() throws {
        let url = try Postgres.freshDatabase()
        let repo = try FleetRepo()
        let ttl = 3.0
        let first = try repo.controller("alpha", state: url, extra: ["--lease-ttl", "3"])
        #expect(eventually(20) { first.isLeader }, "\(first.log)")
        let second = try repo.controller("beta", state: url, extra: ["--lease-ttl", "3"])
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.ready) == 2 }, "the leader applies: \(first.log)")
        Thread.sleep(forTimeInterval: 1)
        #expect(!second.isLeader, "exactly one leads")
        #expect(try Postgres.query(url, "SELECT holder FROM meridian_lease") == "alpha")

        first.kill9()
        let killed = Date()
        #expect(eventually(ttl + 2) { second.isLeader }, "\(second.log)")
        #expect(Date().timeIntervalSince(killed) <= ttl + 2)
        // The new leader resumes the work: a change is applied by it.
        var serving = try repo.dir.read("manifests/serving.yaml")
        serving = serving.replacingOccurrences(of: "replicas: 2}", with: "replicas: 3}")
        try repo.commit("manifests/serving.yaml", serving, "us-chat: 3 replicas")
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.replicas) == 3 }, "\(second.log)")

        // Pause the leader past its lease: a third replica takes over; the paused one, resumed, is deposed.
        let third = try repo.controller("gamma", state: url, extra: ["--lease-ttl", "3"])
        second.signal(SIGSTOP)
        #expect(eventually(ttl + 4) { third.isLeader }, "\(third.log)")
        let token = try Postgres.query(url, "SELECT token FROM meridian_lease")
        second.signal(SIGCONT)
        Thread.sleep(forTimeInterval: 2)
        #expect(eventually(3) { !second.isLeader }, "the resumed old leader knows it was deposed: \(second.log)")
        #expect(third.isLeader)
        #expect(try Postgres.query(url, "SELECT holder || ' ' || token FROM meridian_lease") == "gamma \(token)")
        let stale = try Postgres.query(url, "SELECT count(*) FROM meridian_journal j JOIN meridian_lease l ON true WHERE j.token > l.token")
        #expect(stale == "0")
        #expect(try Meridian.run(["ledger", "verify", "--state", url], in: repo.path).status == 0)
        third.signal(SIGTERM)
        third.process.waitUntilExit()
        #expect(third.process.terminationStatus == 0)
        #expect(try Postgres.query(url, "SELECT holder FROM meridian_lease") == "", "SIGTERM released the lease")
    }

    @Test("a webhook that reaches the standby is passed to the leader through the store")
    func webhookToStandby() throws {
        let url = try Postgres.freshDatabase()
        let repo = try FleetRepo()
        try repo.dir.write("secret", "another-webhook-secret\n")
        let extra = ["--lease-ttl", "3", "--webhook-secret-file", "secret"]
        let leader = try repo.controller("alpha", state: url, interval: "1h", extra: extra)
        #expect(eventually(20) { leader.isLeader })
        let standby = try repo.controller("beta", state: url, interval: "1h", extra: extra)
        #expect(eventually(30) { (try? repo.region("us-a").deployments["us-chat"]?.ready) == 2 }, "\(leader.log)")
        #expect(eventually(10) { (try? HTTP.request(standby.base + "/readyz").0) == 200 }, "a healthy standby is ready")
        #expect(!standby.isLeader)
        var serving = try repo.dir.read("manifests/serving.yaml")
        serving = serving.replacingOccurrences(of: "replicas: 2}", with: "replicas: 1}")
        try repo.commit("manifests/serving.yaml", serving, "us-chat: 1 replica")
        let payload = #"{"ref":"refs/heads/main"}"#
        let mac = try Shell.run(["openssl", "dgst", "-sha256", "-hmac", "another-webhook-secret"], input: payload).stdout
        let hex = mac.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let (status, _) = try HTTP.request(standby.base + "/hooks/git", method: "POST", body: payload, headers: ["X-Hub-Signature-256": "sha256=" + hex])
        #expect(status == 202)
        #expect(eventually(6) { (try? repo.region("us-a").deployments["us-chat"]?.replicas) == 1 }, "the leader ran the cycle: \(leader.log)")
    }

    @Test("deploy/: the Kubernetes manifests parse, and the binary starts with the flags they give it")
    func deployManifests() throws {
        let file = Meridian.root.appendingPathComponent("deploy/kubernetes/meridian.yaml").path
        let parsed = try Shell.run(["python3", "-c", """
            import json, sys, yaml
            docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
            kinds = sorted(d["kind"] for d in docs)
            dep = next(d for d in docs if d["kind"] == "Deployment")
            c = dep["spec"]["template"]["spec"]["containers"][0]
            print(json.dumps({"kinds": kinds, "replicas": dep["spec"]["replicas"], "args": c["args"],
                              "probes": [c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"]],
                              "secret": c["env"][0]["valueFrom"]["secretKeyRef"]["name"]}))
            """, file])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: Any])
        #expect(doc["replicas"] as? Int == 2)
        #expect(doc["probes"] as? [String] == ["/healthz", "/readyz"])
        #expect((doc["kinds"] as? [String])?.contains("Secret") == true)
        var args = try #require(doc["args"] as? [String])
        // The cluster's values, swapped for local ones; every flag stays.
        let repo = try FleetRepo()
        try repo.dir.write("webhook-secret", "local-secret\n")
        args = args.map { arg in
            if arg.hasPrefix("--repo=") { return "--repo=" + repo.path }
            if arg.hasPrefix("--state=") { return "--state=sqlite:.meridian/state.db" }
            if arg.hasPrefix("--webhook-secret-file=") { return "--webhook-secret-file=webhook-secret" }
            if arg.hasPrefix("--cache-dir=") { return "--cache-dir=" + repo.path + "/cache" }
            return arg
        }
        #expect(args.first == "controller")
        #expect(args.contains { $0.hasPrefix("--listen=") } && args.contains { $0.hasPrefix("--holder=") })
        // The harness gives its own --listen (a free port) and --holder.
        args = args.filter { !$0.hasPrefix("--listen=") && !$0.hasPrefix("--holder=") }
        let p = try ControllerProcess(Array(args.dropFirst()), in: repo.path, name: "pod")
        #expect(try HTTP.request(p.base + "/healthz").0 == 200)
        #expect(eventually(30) { (try? HTTP.request(p.base + "/readyz").0) == 200 }, "\(p.log)")
        #expect(p.log.contains(#""msg":"listening""#), "--log-format=json writes JSON lines: \(p.log)")
        p.signal(SIGTERM)
        p.process.waitUntilExit()
        #expect(p.process.terminationStatus == 0)
    }
}
