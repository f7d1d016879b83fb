import Foundation
import MeridianAdapters
import MeridianCore
import MeridianEngine
import Testing

/// Real `meridian agent` processes on loopback, driven by the real `meridian apply`.
final class AgentFleet: @unchecked Sendable {
    let dir: TempDir
    let token = "test-token-\(UUID().uuidString)"
    var agents: [String: AgentProcess] = [:]
    var env: [String: String] { ["MERIDIAN_AGENT_TOKEN": token] }

    /// `only`: extra flags for one agent.
    init(extra: [String] = [], readyAfter: Double = 0, only: [String: [String]] = [:]) throws {
        dir = try TempDir("meridian-agents")
        try dir.write("token", token + "\n")
        for (name, j, _) in Fleet.regions {
            try FileManager.default.createDirectory(atPath: dir.path + "/agents/\(name)", withIntermediateDirectories: true)
            let agent = AgentProcess(region: name, jurisdiction: j, data: dir.path + "/agents/\(name)", tokenFile: dir.path + "/token",
                                     extra: extra + (only[name] ?? []) + (readyAfter > 0 ? ["--ready-after", String(readyAfter)] : []))
            try agent.start()
            agents[name] = agent
        }
        try writeManifests()
    }

    func writeManifests() throws {
        try Fleet.write(into: dir, adapter: { name in "type: http\nurl: \(self.agents[name]!.url)\ntokenEnv: MERIDIAN_AGENT_TOKEN" })
    }

    func adapter(_ name: String, token: String? = nil) -> HTTPRegionAdapter {
        HTTPRegionAdapter(region: RegionName(name), url: agents[name]!.url, token: token ?? self.token, requestTimeout: 5)
    }

    func apply(_ extra: [String] = []) throws -> Meridian.Result {
        try Meridian.run(["apply", "--auto-approve", "manifests"] + extra, in: dir.path, env: env)
    }

    /// Every idempotency key took effect exactly once in every agent.
    func duplicateEffects() async throws -> [String] {
        var duplicates: [String] = []
        for (name, _) in agents.sorted(by: { $0.key < $1.key }) {
            for (key, e) in try await adapter(name).executions() where e.applied != 1 {
                duplicates.append("\(name) \(key): applied \(e.applied) times")
            }
        }
        return duplicates
    }

    deinit { for a in agents.values { a.kill9() } }
}

@Suite("region agents on loopback", .serialized)
struct AgentTests {
    @Test("four agents converge through apply; a second plan is empty; no key has two effects")
    func converge() async throws {
        let fleet = try AgentFleet()
        let r = try fleet.apply()
        #expect(r.status == 0, "\(r)")
        let plan = try Meridian.run(["plan", "--detailed-exitcode", "manifests"], in: fleet.dir.path, env: fleet.env)
        #expect(plan.status == 0, "\(plan)")
        let eu = try await fleet.adapter("eu-b").observe()
        #expect(eu.deployments["eu-chat"]?.ready == 4, "active-active: every active region runs the placement's replicas")
        #expect(eu.traffic["eu-chat"] == 50)
        #expect(eu.artifacts["eu-ft"] != nil)
        let us = try await fleet.adapter("us-a").observe()
        #expect(us.artifacts["eu-ft"] == nil && us.artifacts["eu-data"] == nil)
        #expect(try await fleet.duplicateEffects().isEmpty)
    }

    @Test("a request without the token, or with a wrong one, gets 401 and changes nothing")
    func tokens() async throws {
        let fleet = try AgentFleet()
        let before = try await fleet.adapter("eu-a").observe()
        let command = RegionCommand(type: .stageArtifact, region: "eu-a", actionID: "x1", artifact: "eu-data",
                                    digest: "sha256:" + String(repeating: "b", count: 64), fence: ["eu"])
        for token in [nil, "wrong-token-of-some-length", fleet.token + "x"] as [String?] {
            let adapter = HTTPRegionAdapter(region: RegionName("eu-a"), url: fleet.agents["eu-a"]!.url, token: token)
            await #expect(throws: AdapterError.self) { _ = try await adapter.execute(command, idempotencyKey: "k-\(token ?? "none")") }
            do throws(AdapterError) {
                _ = try await adapter.observe()
                Issue.record("observe without the right token succeeded")
            } catch {
                #expect(error.kind == .permanent && error.message.contains("401"), "\(error)")
            }
        }
        let after = try await fleet.adapter("eu-a").observe()
        #expect(after == before)
        #expect(try await fleet.adapter("eu-a").executions().isEmpty)
    }

    @Test("observations are cached per generation on both ends, and every change shows at once")
    func observationCaches() async throws {
        let fleet = try AgentFleet()
        let eu = fleet.adapter("eu-a")  // one adapter: its decoded-observation cache is in play
        let first = try await eu.observe()
        #expect(try await eu.observe() == first, "the same generation reads the same")
        let digest = "sha256:" + String(repeating: "d", count: 64)
        for (i, artifact) in ["eu-data", "eu-ft"].enumerated() {
            let stage = RegionCommand(type: .stageArtifact, region: "eu-a", actionID: "c\(i)", artifact: artifact, digest: digest, fence: ["eu"])
            _ = try await eu.execute(stage, idempotencyKey: "cache-\(i)")
            let after = try await eu.observe()
            #expect(after.generation == first.generation + i + 1, "each change raises the generation: \(after)")
            #expect(after.artifacts[artifact]?.digest == digest, "the change is in the very next observation: \(after)")
            // A fresh adapter (no client cache) reads exactly what the cached one did.
            #expect(try await fleet.adapter("eu-a").observe() == after)
        }
    }

    @Test("an agent refuses to stage or deploy what its fence keeps out, whatever it is told")
    func fenceDefence() async throws {
        let fleet = try AgentFleet()
        let us = fleet.adapter("us-a")
        let stage = RegionCommand(type: .stageArtifact, region: "us-a", actionID: "a1", artifact: "eu-ft",
                                  digest: "sha256:" + String(repeating: "c", count: 64), fence: ["eu"])
        do throws(AdapterError) {
            _ = try await us.execute(stage, idempotencyKey: "k1")
            Issue.record("us-a staged an EU-only artifact")
        } catch {
            #expect(error.kind == .permanent && error.message.contains("refused"), "\(error)")
        }
        let deploy = RegionCommand(type: .deploy, region: "us-a", actionID: "a2", placement: "p", model: "eu-model", version: "1",
                                   replicas: 1, accelerator: AcceleratorDemand(type: "h100", count: 1), fence: nil)
        await #expect(throws: AdapterError.self) { _ = try await us.execute(deploy, idempotencyKey: "k2") }
        let o = try await us.observe()
        #expect(o.artifacts.isEmpty && o.deployments.isEmpty && o.generation == 0)
    }

    @Test("agents that fail requests (before or after the effect) and answer slowly still converge, with no duplicate effects")
    func faultInjection() async throws {
        // Every second execute request an agent gets fails for certain (alternately after and before
        // its effect, starting with after, so every agent with two requests loses an answer), and a
        // further 20% at random.
        let fleet = try AgentFleet(extra: ["--fail-every", "2", "--fail-rate", "0.2", "--delay", "0.01"])
        // An attempt that lands on an agent's failing turn fails for certain, so under load (the
        // other suites in parallel shuffle which action gets which turn) an attempt fails with
        // probability up to 0.6: with 12 attempts one action in about 500 ran out, and one full
        // run in six failed. 30 attempts make that about 2e-7 per action; a typical action still
        // succeeds within three.
        let r = try fleet.apply(["--attempts", "30"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("retrying"), "faults were injected and retried: \(r)")
        var replays = 0
        for name in fleet.agents.keys { replays += try await fleet.adapter(name).executions().values.filter { $0.requests > 1 }.count }
        #expect(replays > 0, "a command whose answer was lost was sent again and answered as a replay")
        let plan = try Meridian.run(["plan", "--detailed-exitcode", "manifests"], in: fleet.dir.path, env: fleet.env)
        #expect(plan.status == 0, "\(plan)")
        #expect(try await fleet.duplicateEffects().isEmpty)
    }

    @Test("deploys pass the health gate only once ready; traffic moves after it")
    func healthGate() async throws {
        let fleet = try AgentFleet(readyAfter: 0.4)
        let r = try fleet.apply()
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("ready after 0.") || r.stderr.contains("ready after 1."), "\(r)")
        let tight = try AgentFleet(readyAfter: 30)
        let failed = try tight.apply(["--health-timeout", "0.5"])
        #expect(failed.status == 1, "\(failed)")
        #expect(failed.stderr.contains("health gate"), "\(failed)")
        for name in ["eu-a", "eu-b", "us-a"] {
            #expect(try await tight.adapter(name).observe().traffic.isEmpty, "no traffic moved onto \(name) before its deploy was ready")
        }
    }

    @Test("an agent killed mid-apply fails only its own region's actions; after a restart the next apply converges")
    func agentKilled() async throws {
        // eu-b answers slowly (a second per request), so its first action cannot be done when it is killed.
        let fleet = try AgentFleet(extra: ["--delay", "0.02"], only: ["eu-b": ["--delay", "1"]])
        let p = Meridian.process(["apply", "--auto-approve", "manifests", "--attempts", "2"], in: fleet.dir.path, env: fleet.env)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        try await Task.sleep(nanoseconds: 1_500_000_000)
        fleet.agents["eu-b"]!.kill9()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderr = String(decoding: errData, as: UTF8.self), stdout = String(decoding: outData, as: UTF8.self)
        #expect(p.terminationStatus == 1, "\(stdout)\n\(stderr)")
        #expect(stdout.contains("Apply incomplete"), "\(stdout)")
        // The other regions carried on.
        let us = try await fleet.adapter("us-a").observe()
        #expect(us.deployments["us-chat"]?.ready == 2, "\(stderr)")
        let port = fleet.agents["eu-b"]!.port
        try fleet.agents["eu-b"]!.start(port: port)
        let again = try fleet.apply()
        #expect(again.status == 0, "\(again)")
        let plan = try Meridian.run(["plan", "--detailed-exitcode", "manifests"], in: fleet.dir.path, env: fleet.env)
        #expect(plan.status == 0, "\(plan)")
        #expect(try await fleet.duplicateEffects().isEmpty)
    }

    @Test("kill -9 of apply at random points, then a resume, converges with zero duplicate executions")
    func killAndResume() async throws {
        var resumed = 0
        for round in 0 ..< 4 {
            // Slow agents make the apply last about two seconds, so the kill lands inside it.
            let fleet = try AgentFleet(extra: ["--delay", "0.1"])
            let p = Meridian.process(["apply", "--auto-approve", "manifests", "--per-region", "1"], in: fleet.dir.path, env: fleet.env)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let wait = UInt64.random(in: 500_000_000 ... 1_400_000_000)
            try await Task.sleep(nanoseconds: wait)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let r = try fleet.apply()
            #expect(r.status == 0, "round \(round), killed after \(wait / 1_000_000) ms: \(r)")
            if r.stderr.contains("resuming run") { resumed += 1 }
            let plan = try Meridian.run(["plan", "--detailed-exitcode", "manifests"], in: fleet.dir.path, env: fleet.env)
            #expect(plan.status == 0, "round \(round): \(plan)")
            #expect(try await fleet.duplicateEffects().isEmpty, "round \(round)")
            let ledger = try Meridian.run(["ledger", "verify"], in: fleet.dir.path)
            #expect(ledger.status == 0, "\(ledger)")
        }
        #expect(resumed > 0, "at least one kill landed mid-run and was resumed")
    }
}

@Suite("agent observation encoding")
struct AgentEncodingTests {
    /// A region with random contents, names that need escaping included.
    static func randomRegion() -> SimulatedRegion {
        let names = ["a", "b-1", "quote\"d", "back\\slash", "tab\tline\n", "é", "x/y"]
        var r = SimulatedRegion(name: names.randomElement()!, jurisdiction: names.randomElement()!, accelerators: ["h100": Int.random(in: 0 ... 64)])
        r.observation.reachable = Bool.random()
        r.observation.generation = Int.random(in: 0 ... 1_000_000)
        if Bool.random() { r.observation.jurisdiction = nil }
        if Bool.random() { r.observation.capacity = nil } else { r.observation.capacity?["a100"] = AcceleratorCapacity(total: 8, free: Int.random(in: -2 ... 8)) }
        for _ in 0 ..< Int.random(in: 0 ... 6) {
            r.observation.artifacts[names.randomElement()! + String(Int.random(in: 0 ... 9))] = ObservedArtifact(digest: "sha256:" + String(Int.random(in: 0 ... 999)))
            r.observation.deployments[names.randomElement()!] = ObservedDeployment(model: names.randomElement()!, version: "1.0.\(Int.random(in: 0 ... 9))",
                                                                                 replicas: Int.random(in: 0 ... 9), ready: Int.random(in: 0 ... 9))
            r.observation.traffic[names.randomElement()!] = Int.random(in: 0 ... 100)
            r.held[names.randomElement()!] = AcceleratorDemand(type: names.randomElement()!, count: Int.random(in: 0 ... 9))
            let key = names.randomElement()! + UUID().uuidString
            r.executions[key] = SimulatedRegion.Execution(applied: 1, requests: Int.random(in: 1 ... 3), generation: Int.random(in: 0 ... 99))
            r.keyOrder.append(key)
        }
        return r
    }

    @Test("the hand-written observation JSON decodes, through Foundation, to exactly what was written (500 random regions)")
    func roundTrip() throws {
        for _ in 0 ..< 500 {
            let r = Self.randomRegion()
            let observation = try JSONDecoder().decode(RegionObservation.self, from: Data(r.observation.json().utf8))
            #expect(observation == r.observation)
        }
    }
}
