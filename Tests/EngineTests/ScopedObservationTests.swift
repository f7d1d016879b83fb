import Foundation
@testable import MeridianAdapters
import MeridianCore
import MeridianEngine
import MeridianManifests
import Testing

/// `GET /v1/observation?scope=named&artifact=…&placement=…` against a real agent: what the
/// executor's check before each action reads, at a cost that does not grow with the region.
@Suite("scoped observations", .serialized)
struct ScopedObservationTests {
    /// Names that need percent-encoding in a query, and one that needs none.
    static let artifacts = ["plain", "a b", "x&y=z", "é/ü", "100%", "plus+sign", "q?s#h"]
    static let placements = ["chat & co", "embed=1", "ütf"]

    @Test("the agent answers a scoped observation with exactly the named keys, whatever characters they hold; the rest of the observation is whole")
    func agentAnswersTheScope() async throws {
        let fleet = try AgentFleet()
        let eu = fleet.adapter("eu-a")
        let digest = "sha256:" + String(repeating: "e", count: 64)
        for (i, a) in Self.artifacts.enumerated() {
            _ = try await eu.execute(RegionCommand(type: .stageArtifact, region: "eu-a", actionID: "s\(i)", artifact: a, digest: digest, fence: ["eu"]),
                                     idempotencyKey: "scoped-s\(i)")
        }
        for (i, p) in Self.placements.enumerated() {
            _ = try await eu.execute(RegionCommand(type: .deploy, region: "eu-a", actionID: "d\(i)", placement: p, model: "m", version: "1", replicas: 1,
                                                   accelerator: AcceleratorDemand(type: "h100", count: 2), fence: ["eu"]), idempotencyKey: "scoped-d\(i)")
            _ = try await eu.execute(RegionCommand(type: .setTraffic, region: "eu-a", actionID: "t\(i)", placement: p, weight: 10 + i, fence: ["eu"]),
                                     idempotencyKey: "scoped-t\(i)")
        }
        let whole = try await eu.observe()
        #expect(whole.artifacts.count == Self.artifacts.count && whole.deployments.count == Self.placements.count && whole.traffic.count == Self.placements.count)
        let scopes: [([String], [String])] = [
            (["x&y=z"], ["chat & co"]), ([], []), (["plain", "100%", "never-staged"], []), ([], ["embed=1", "never-deployed"]),
            (Self.artifacts, Self.placements),
        ]
        for (artifacts, placements) in scopes {
            let query = (["scope=named"] + artifacts.map { "artifact=" + HTTPRegionAdapter.percentEncoded($0) }
                + placements.map { "placement=" + HTTPRegionAdapter.percentEncoded($0) }).joined(separator: "&")
            // The agent's own answer, before the client restricts anything.
            let answered = try RegionObservation(json: try await eu.get("/v1/observation?" + query))
            #expect(Set(answered.artifacts.keys) == Set(artifacts).intersection(whole.artifacts.keys), "\(query)")
            #expect(Set(answered.deployments.keys) == Set(placements).intersection(whole.deployments.keys), "\(query)")
            #expect(Set(answered.traffic.keys) == Set(placements).intersection(whole.traffic.keys), "\(query)")
            for (a, copy) in answered.artifacts { #expect(whole.artifacts[a] == copy) }
            for (p, d) in answered.deployments { #expect(whole.deployments[p] == d) }
            for (p, w) in answered.traffic { #expect(whole.traffic[p] == w) }
            #expect(answered.reachable == whole.reachable && answered.generation == whole.generation
                && answered.jurisdiction == whole.jurisdiction && answered.capacity == whole.capacity)
            #expect(try await eu.observe(artifacts: artifacts, placements: placements) == answered)
            #expect(answered == whole.restricted(artifacts: artifacts, placements: placements))
        }
    }

    @Test("an unknown scope, or more names than the agent takes, is refused for good (400)")
    func badScopes() async throws {
        let fleet = try AgentFleet()
        let eu = fleet.adapter("eu-a")
        await #expect(throws: AdapterError.self) { _ = try await eu.get("/v1/observation?scope=everything") }
        do { _ = try await eu.get("/v1/observation?scope=everything") } catch {
            #expect(!error.isTransient && error.message.contains("400") && error.message.contains("unknown scope"), "\(error)")
        }
        let many = (0 ... 1_000).map { "artifact=a\($0)" }.joined(separator: "&")
        do {
            _ = try await eu.get("/v1/observation?scope=named&" + many)
            Issue.record("1,001 names were answered")
        } catch {
            #expect(!error.isTransient && error.message.contains("more than 1000"), "\(error)")
        }
    }

    @Test("an agent that re-attests another jurisdiction between plan and apply gets nothing: the scoped check before each action refuses it")
    func reattestingAgentRefused() async throws {
        let fleet = try AgentFleet()
        let loaded = try DirectorySource(root: fleet.dir.path + "/manifests").load(digest: true)
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        let adapters = RegionAdapters(for: loaded.state, workingDirectory: fleet.dir.path, environment: fleet.env)
        let (observed, warnings) = await adapters.observeAll()
        #expect(warnings.isEmpty, "\(warnings)")
        let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: observed, source: PlanSource(commit: nil, digest: loaded.digest, path: "manifests"))
        let intoEUB = plan.actions.filter { $0.region?.rawValue == "eu-b" && [.stageArtifact, .deploy].contains($0.kind) }
        #expect(!intoEUB.isEmpty)
        // eu-b restarts on the same store and port, now attesting the US.
        let old = fleet.agents["eu-b"]!
        old.stop()
        let moved = AgentProcess(region: "eu-b", jurisdiction: "us", data: old.data, tokenFile: old.tokenFile)
        try moved.start(port: old.port)
        fleet.agents["eu-b"] = moved
        var options = ExecutorOptions()
        options.backoffBase = 0.01
        let store = try SQLiteStateStore(path: fleet.dir.path + "/state.db")
        let report = try await ApplySession.apply(plan, executor: Executor(state: loaded.state, fences: loaded.fences, adapters: adapters, store: store, options: options))
        #expect(!report.succeeded)
        // Each is refused by the check, or skipped because what it depends on was.
        for a in intoEUB {
            let status = report.entries[a.id]?.status
            #expect(status == .failed || status == .skipped, "\(a.id): \(String(describing: status))")
            if status == .failed { #expect(report.entries[a.id]?.detail.contains("fence re-check refused") == true, "\(report.entries[a.id]?.detail ?? "")") }
        }
        #expect(intoEUB.contains { report.entries[$0.id]?.status == .failed })
        let eub = try await fleet.adapter("eu-b").observe()
        #expect(eub.jurisdiction == "us" && eub.artifacts.isEmpty && eub.deployments.isEmpty, "nothing reached eu-b: \(eub)")
        #expect(try await fleet.adapter("eu-b").executions().isEmpty, "no command reached eu-b")
        // The other regions went ahead.
        #expect(try await fleet.adapter("us-a").observe().deployments["us-chat"] != nil)
    }

    @Test("every adapter's scoped observation is its whole observation restricted: a local region's")
    func localDefault() async throws {
        let dir = try TempDir("meridian-scoped")
        let local = LocalRegionAdapter(region: RegionName("r0"), directory: dir.path + "/r0", jurisdiction: "zone", accelerators: ["h100": 8])
        for (i, a) in Self.artifacts.enumerated() {
            _ = try await local.execute(RegionCommand(type: .stageArtifact, region: "r0", actionID: "s\(i)", artifact: a, digest: "sha256:\(i)", fence: ["zone"]),
                                        idempotencyKey: "k\(i)")
        }
        let whole = try await local.observe()
        let scoped = try await local.observe(artifacts: ["a b", "missing"], placements: ["none"])
        #expect(scoped.artifacts == ["a b": whole.artifacts["a b"]!])
        #expect(scoped.deployments.isEmpty && scoped.traffic.isEmpty)
        #expect(scoped.jurisdiction == "zone" && scoped.generation == whole.generation && scoped.capacity == whole.capacity)
    }
}
