import Foundation
import MeridianAdapters
import MeridianCore
import MeridianEngine
import MeridianManifests

/// A region kept in memory, with the same rules as a local or agent region but no IO: a
/// benchmark fake, used only to measure what the executor itself costs per action.
actor MemoryRegion: RegionAdapter {
    nonisolated let region: RegionName
    var state: SimulatedRegion

    init(_ name: RegionName, jurisdiction: String) {
        region = name
        state = SimulatedRegion(name: name.rawValue, jurisdiction: jurisdiction, accelerators: ["h100": 1024])
    }

    func observe() async throws(AdapterError) -> RegionObservation { state.observation }

    func execute(_ command: RegionCommand, idempotencyKey: String) async throws(AdapterError) -> ExecutionResult {
        try state.execute(command, key: idempotencyKey)
    }
}

/// The apply benchmark's fleet: one jurisdiction, `regions` regions, and `placements`
/// single-region placements spread over them, each with its own model and artifact, so a plan
/// from nothing has about four actions per placement (register, copy, deploy, route).
enum ApplyFleet {
    static func files(regions: Int, placements: Int, url: (Int) -> String?) -> [ManifestFile] {
        var docs = ["apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: zone}\nspec: {}\n"]
        for r in 0 ..< regions {
            var doc = "apiVersion: meridian/v1\nkind: Region\nmetadata: {name: r\(r)}\nspec:\n  jurisdiction: zone\n  capacity: {accelerators: [{type: h100, count: 1024}]}\n"
            if let u = url(r) { doc += "  adapter: {type: http, url: \"\(u)\", tokenEnv: MERIDIAN_BENCH_TOKEN}\n" }
            docs.append(doc)
        }
        for p in 0 ..< placements {
            let hex = String(p, radix: 16)
            let digest = "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
            docs.append("apiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: x\(p)}\nspec: {type: weights, digest: \"\(digest)\", origin: r\((p + 1) % regions)}\n")
            docs.append("apiVersion: meridian/v1\nkind: Model\nmetadata: {name: m\(p)}\nspec: {version: \"1.0.0\", artifacts: [x\(p)], accelerator: {type: h100, count: 1}}\n")
            docs.append("apiVersion: meridian/v1\nkind: Topology\nmetadata: {name: t\(p)}\nspec: {mode: single-region, regions: [{name: r\(p % regions)}]}\n")
            docs.append("apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p\(p)}\nspec: {model: m\(p), topology: t\(p), replicas: 1}\n")
        }
        var files: [ManifestFile] = []
        var i = 0
        while i < docs.count {
            files.append(ManifestFile(path: "apply/\(files.count).yaml", bytes: Array(docs[i ..< min(i + 50, docs.count)].joined(separator: "---\n").utf8)))
            i += 50
        }
        return files
    }

    struct Result {
        let actions: Int
        let seconds: Double
        let failed: Int
    }

    static func run(_ result: LoadResult, adapters: RegionAdapters, stateDir: String, parallelism: Int) async throws -> Result {
        let (observed, warnings) = await adapters.observeAll(parallelism: 64)
        if !warnings.isEmpty { throw BenchError(warnings.joined(separator: "\n")) }
        let plan = Planner.plan(result.state, fences: result.fences, observed: observed, source: PlanSource(commit: nil, digest: "bench", path: "apply"))
        let store = try SQLiteStateStore(path: stateDir + "/state-\(UUID().uuidString.prefix(6)).db")
        var options = ExecutorOptions()
        options.parallelism = parallelism
        options.perRegion = 8
        options.backoffBase = 0.01
        let executor = Executor(state: result.state, fences: result.fences, adapters: adapters, store: store, options: options)
        let start = Clock.monotonic()
        let report = try await ApplySession.apply(plan, executor: executor)
        let end = Clock.monotonic()
        let seconds = end - start
        // The timed window on CLOCK_MONOTONIC, for `perf record -k CLOCK_MONOTONIC` and then
        // `perf report --time START,END`: the agents' start-up is not the apply.
        FileHandle.standardError.write(Data(String(format: "bench: (g) applied between %.6f and %.6f (CLOCK_MONOTONIC)\n", start, end).utf8))
        return Result(actions: plan.actions.count, seconds: seconds, failed: plan.actions.count - report.count(.done))
    }
}

/// One agent whose region grows by an artifact with every command: how the time per command
/// changes as the region grows (`--agent-scale N`).
enum AgentScale {
    enum Observe: CaseIterable {
        /// Commands alone.
        case none
        /// The whole observation (fetched and decoded) before each command.
        case whole
        /// The observation of the command's artifact only, as the executor takes before each action.
        case scoped

        var label: String {
            switch self {
            case .none: ""
            case .whole: ", each after a whole observation"
            case .scoped: ", each after an observation of its artifact (the executor's)"
            }
        }
    }

    /// Milliseconds per command in each tenth of `count` commands, sent one after another.
    static func run(binary: String, dir: String, count: Int, observe: Observe) async throws -> [Double] {
        let token = "bench-token-\(UUID().uuidString)"
        let agents = try Agents(count: 1, binary: binary, dir: dir, token: token)
        defer { agents.stop() }
        let agent = HTTPRegionAdapter(region: RegionName("r0"), url: agents.urls[0], token: token)
        let block = count / 10
        var blocks: [Double] = []
        var start = Clock.monotonic()
        for i in 0 ..< block * 10 {
            switch observe {
            case .none: break
            case .whole: _ = try await agent.observe()
            case .scoped: _ = try await agent.observe(artifacts: ["artifact-\(i)"], placements: [])
            }
            let hex = String(i, radix: 16)
            let command = RegionCommand(type: .stageArtifact, region: "r0", actionID: "stage-\(i)", artifact: "artifact-\(i)",
                                        digest: "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex, fence: ["zone"])
            _ = try await agent.execute(command, idempotencyKey: "scale-\(i)")
            if (i + 1) % block == 0 {
                let now = Clock.monotonic()
                blocks.append((now - start) * 1000 / Double(block))
                start = now
            }
        }
        return blocks
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// `meridian agent` child processes on loopback.
final class Agents {
    var processes: [Process] = []
    var urls: [String] = []

    init(count: Int, binary: String, dir: String, token: String) throws {
        try Data(token.utf8).write(to: URL(fileURLWithPath: dir + "/token"))
        for r in 0 ..< count {
            let data = dir + "/agent-\(r)"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["agent", "--region", "r\(r)", "--jurisdiction", "zone", "--accelerator", "h100=1024", "--listen", "127.0.0.1:0",
                           "--data", data, "--token-file", dir + "/token"]
            // The agent's log goes to a file, read by polling: a blocking reader per agent on
            // Dispatch's global queue would take the threads Swift concurrency runs on (50 of
            // them stalled the apply this measures).
            let log = dir + "/agent-\(r).log"
            guard FileManager.default.createFile(atPath: log, contents: nil), let out = FileHandle(forWritingAtPath: log) else {
                throw BenchError("cannot create \(log)")
            }
            p.standardError = out
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            try out.close()
            processes.append(p)
            let deadline = Clock.monotonic() + 20
            var url: String?
            while url == nil {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let range = text.range(of: "listening on "), text[range.upperBound...].contains("\n") {
                    url = "http://" + text[range.upperBound...].prefix { $0 != "\n" }
                } else if !p.isRunning || Clock.monotonic() > deadline {
                    throw BenchError("agent r\(r) did not start: \(text)")
                } else {
                    usleep(5_000)
                }
            }
            urls.append(url!)
        }
    }

    func stop() {
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }
}
