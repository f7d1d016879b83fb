import Foundation
import MeridianAdapters
import MeridianCore
import MeridianEngine
import MeridianManifests

// `swift run -c release meridian-bench [large|small] [FLEET OPTIONS] [--json FILE] [--agents N] [--apply-placements N] [--skip-apply] [--skip-pyyaml] [--keep] [--parallelism N]`
// `meridian-bench [large|small] [FLEET OPTIONS] --generate DIR`: only write the fleet's repository
// and its half-converged snapshot into DIR (for trying `meridian` on it), and describe it.
// FLEET OPTIONS override the preset's: `--jurisdictions N --regions N --base-artifacts N
// --artifacts N --max-parents N --lineage-depth N --models N --topologies N --placements N
// --objects-per-file N`.
// `meridian-bench --apply-only [--agents N] [--apply-placements N]`: only (g) (for a profiler).
// `meridian-bench large --plan-loop N`: only plan, N times, alternately against the converged and
// the half-converged state (for a profiler). `--checks-loop N`: only the fence analysis and checks
// and the structural checks, N times (for a profiler).
//
// Generates a synthetic fleet into a real git repository, with an observed snapshot that is half
// converged, and measures side by side: (a) the floor (every blob read with libgit2 and scanned
// with libyaml's event API, one thread), (b) a cold validate, (c) a cold plan against the
// snapshot, (d) an incremental re-plan after a one-file commit with the blob cache warm, (e) peak
// RSS of `meridian plan` on the fleet, (f) PyYAML's CSafeLoader on the same files, (g) apply
// throughput against N agents on loopback, and the executor's own cost per action.

@main
struct MeridianBench {
    static func main() async throws {
        var args = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
            let v = args[i + 1]
            args.removeSubrange(i ... i + 1)
            return v
        }
        func flag(_ name: String) -> Bool {
            guard let i = args.firstIndex(of: name) else { return false }
            args.remove(at: i)
            return true
        }
        /// Bad usage: said on stderr, exit status 2 (as `meridian` does), nothing run.
        func usage(_ problems: [String]) -> Never {
            for p in problems { FileHandle.standardError.write(Data("meridian-bench: \(p)\n".utf8)) }
            FileHandle.standardError.write(Data("usage: meridian-bench [large|small] [--jurisdictions N] [--regions N] [--base-artifacts N] [--artifacts N] [--max-parents N] [--lineage-depth N] [--models N] [--topologies N] [--placements N] [--objects-per-file N] [--generate DIR | --json FILE --agents N --apply-placements N --parallelism N --skip-apply --skip-pyyaml --keep --plan-loop N --checks-loop N --load-loop N --fleet DIR | --apply-only | --agent-scale N]\n".utf8))
            exit(2)
        }
        var problems: [String] = []
        func integer(_ name: String) -> Int? {
            guard let text = option(name) else { return nil }
            guard let n = Int(text) else {
                problems.append("\(name): expected a whole number, got '\(text)'")
                return nil
            }
            return n
        }
        let jsonOut = option("--json")
        let generateInto = option("--generate")
        // For a profiler that cannot start processes (valgrind): the loops read a fleet an
        // earlier `--generate DIR` made (same preset and options), instead of committing one.
        let fleetDir = option("--fleet")
        let small = args.contains("small")
        let agentCount = integer("--agents") ?? (small ? 4 : 50)
        let applyPlacements = integer("--apply-placements") ?? (small ? 40 : 500)
        let skipApply = flag("--skip-apply")
        let skipPyYAML = flag("--skip-pyyaml")
        let keep = flag("--keep") || generateInto != nil
        var parameters: FleetGenerator.Parameters = small ? .small : .large
        parameters.jurisdictions = integer("--jurisdictions") ?? parameters.jurisdictions
        parameters.regions = integer("--regions") ?? parameters.regions
        parameters.baseArtifacts = integer("--base-artifacts") ?? parameters.baseArtifacts
        parameters.artifacts = integer("--artifacts") ?? parameters.artifacts
        parameters.maxParents = integer("--max-parents") ?? parameters.maxParents
        parameters.lineageDepth = integer("--lineage-depth") ?? parameters.lineageDepth
        parameters.models = integer("--models") ?? parameters.models
        parameters.topologies = integer("--topologies") ?? parameters.topologies
        parameters.placements = integer("--placements") ?? parameters.placements
        parameters.objectsPerFile = integer("--objects-per-file") ?? parameters.objectsPerFile
        let planLoop = integer("--plan-loop")
        let checksLoop = integer("--checks-loop")
        let loadLoop = integer("--load-loop")
        let applyParallelism = integer("--parallelism") ?? 128
        let applyOnly = flag("--apply-only")
        let agentScale = integer("--agent-scale")
        problems += parameters.problems()
        if !(1 ... 1_000).contains(agentCount) { problems.append("--agents \(agentCount): must be from 1 to 1000") }
        if !(1 ... 1_000_000).contains(applyPlacements) { problems.append("--apply-placements \(applyPlacements): must be from 1 to 1000000") }
        if !(1 ... 10_000).contains(applyParallelism) { problems.append("--parallelism \(applyParallelism): must be from 1 to 10000") }
        if let n = planLoop, !(1 ... 10_000).contains(n) { problems.append("--plan-loop \(n): must be from 1 to 10000") }
        if let n = checksLoop, !(1 ... 10_000).contains(n) { problems.append("--checks-loop \(n): must be from 1 to 10000") }
        if let n = loadLoop, !(1 ... 10_000).contains(n) { problems.append("--load-loop \(n): must be from 1 to 10000") }
        let presets = args.filter { $0 == "large" || $0 == "small" }
        if presets.count > 1 { problems.append("name one preset, large or small") }
        for a in args where a != "large" && a != "small" { problems.append(a.hasPrefix("-") ? "unknown option '\(a)' (or it lacks its value)" : "unexpected argument '\(a)'") }
        if let n = agentScale, !(10 ... 1_000_000).contains(n) { problems.append("--agent-scale \(n): must be from 10 to 1000000") }
        if agentScale != nil && (applyOnly || generateInto != nil) { problems.append("--agent-scale runs alone: leave out --apply-only and --generate") }
        if let dir = fleetDir {
            if planLoop == nil && checksLoop == nil && loadLoop == nil { problems.append("--fleet \(dir): only for --plan-loop, --checks-loop or --load-loop") }
            if generateInto != nil { problems.append("--fleet and --generate: name one") }
            if !FileManager.default.fileExists(atPath: dir + "/repo/.git") { problems.append("--fleet \(dir): no repository made by --generate there") }
        }
        if applyOnly && generateInto != nil { problems.append("--generate and --apply-only: the apply benchmark generates a fleet of its own; name one") }
        if let dir = generateInto, let existing = try? FileManager.default.contentsOfDirectory(atPath: dir), !existing.isEmpty {
            problems.append("--generate \(dir): the directory is not empty")
        }
        if !problems.isEmpty { usage(problems) }
        if let count = agentScale {
            // One agent, its region growing by one artifact per command: the time per command,
            // block by block, alone, after a whole observation, and after the scoped one the
            // executor takes before every action.
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("meridian").path
            for observe in AgentScale.Observe.allCases {
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-bench-scale-\(UUID().uuidString.prefix(8))").path
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let blocks = try await AgentScale.run(binary: binary, dir: dir, count: count, observe: observe)
                print(String(format: "one agent, %d stage-artifact commands%@: ms per command, block by block of %d: ", count / 10 * 10, observe.label, count / 10)
                      + blocks.map { String(format: "%.2f", $0) }.joined(separator: " "))
            }
            return
        }
        if applyOnly {
            // For a profiler: only (g), against agents started from this binary's sibling.
            let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-bench-apply-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let token = "bench-token-\(UUID().uuidString)"
            let agents = try Agents(count: agentCount, binary: binDir.appendingPathComponent("meridian").path, dir: dir, token: token)
            defer { agents.stop() }
            let fleet = ManifestLoader.load(ApplyFleet.files(regions: agentCount, placements: applyPlacements, url: { agents.urls[$0] }))
            let adapters = RegionAdapters(for: fleet.state, environment: ["MERIDIAN_BENCH_TOKEN": token])
            let h = try await ApplyFleet.run(fleet, adapters: adapters, stateDir: dir, parallelism: applyParallelism)
            print(String(format: "(g) apply, %d agents: %d actions in %.2f s, %.0f actions/s, %d failed", agentCount, h.actions, h.seconds,
                         Double(h.actions) / h.seconds, h.failed))
            return
        }
        // A preset with any parameter changed is described as custom (the JSON keeps the preset
        // it started from, and the fleet's own counts).
        let preset = small ? "small" : "large"
        let label = parameters == (small ? .small : .large) ? preset : "custom (from \(preset))"
        let runs = small ? 1 : 3

        func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let start = Clock.monotonic()
            let r = try body()
            return (r, Clock.monotonic() - start)
        }
        func best<T>(_ n: Int, _ body: () throws -> T) rethrows -> (T, Double) {
            var out: (T, Double)?
            for _ in 0 ..< n {
                let r = try time(body)
                if out == nil || r.1 < out!.1 { out = r }
            }
            return out!
        }
        func ms(_ s: Double) -> String { String(format: "%.1f ms", s * 1000) }

        var generator = FleetGenerator(parameters)
        let files = generator.files()
        let yamlBytes = files.reduce(0) { $0 + $1.bytes.count }

        // The fleet, committed to a real repository.
        let work = (generateInto ?? fleetDir).map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("meridian-bench-\(UUID().uuidString.prefix(8))")
        let repo = work.appendingPathComponent("repo")
        defer { if !keep && fleetDir == nil { try? FileManager.default.removeItem(at: work) } }
        if keep && generateInto == nil { FileHandle.standardError.write(Data("bench: keeping the fleet in \(work.path)\n".utf8)) }
        for file in files where fleetDir == nil {
            let url = repo.appendingPathComponent(file.path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(file.bytes).write(to: url)
        }
        @discardableResult
        func sh(_ argv: [String], in dir: URL, env: [String: String] = [:]) throws -> (Int32, String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = argv
            p.currentDirectoryURL = dir
            var e = ProcessInfo.processInfo.environment
            for (k, v) in env { e[k] = v }
            p.environment = e
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        func git(_ a: String...) throws { try sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"] + a, in: repo) }
        if fleetDir == nil {
            try git("init", "-q", "-b", "main")
            try git("add", "-A")
            try git("commit", "-q", "-m", "fleet")
        }

        // (a) The floor: libgit2 blob reads plus libyaml events, one thread.
        func floorRun() throws -> Int {
            let source = GitSource(repository: repo.path)
            let blobs = try source.files(commit: try source.resolve("main"), path: "fleet")
            return blobs.reduce(0) { $0 + (YAMLEventScan.count($1.bytes) ?? 0) }
        }
        // (b) Cold validate: a new source and an empty parse cache each time. The cache keeps
        // nothing, as `meridian validate` and `meridian plan` (without `--base`) have it: a
        // cache that keeps the parsed files is the controller's, for its next load, and the
        // index must then copy every object out of them instead of moving it.
        func validateRun() throws -> LoadResult {
            let source = GitSource(repository: repo.path, parseCache: ParseCache(retains: false))
            return try source.load(commit: try source.resolve("main"), path: "fleet")
        }
        FileHandle.standardError.write(Data("bench: loading the fleet once\n".utf8))
        let loaded = try validateRun()
        guard loaded.isValid else {
            print(loaded.diagnostics.prefix(10).map(\.description).joined(separator: "\n"))
            exit(1)
        }
        if let loops = loadLoop {
            // For a profiler: the floor and the cold validate, in turn (an instruction count
            // of each, and of the load's parts, in one run).
            for _ in 0 ..< loops {
                let t0 = Clock.monotonic()
                let (events, tf) = try time { try floorRun() }
                let t1 = Clock.monotonic()
                let (result, tv) = try time { try validateRun() }
                // The windows on CLOCK_MONOTONIC, for `perf record -k CLOCK_MONOTONIC` and `perf report --time`.
                print(String(format: "floor: %d events in %.1f ms (%.6f to %.6f); validate: %d objects in %.1f ms (%.6f to %.6f; %.2f× the floor)",
                             events, tf * 1000, t0, t0 + tf, result.state.objectCount, tv * 1000, t1, t1 + tv, tv / tf))
            }
            return
        }
        let (_, fences) = best(runs) { FenceCheck.check(FenceAnalysis(loaded.state)) }
        // The structural checks run beside the fences, on the other core: the longer of the two
        // is what a load waits for after indexing.
        let (_, structural) = best(runs) { loaded.state.structuralDiagnostics() }
        if let loops = checksLoop {
            // For a profiler: nothing but the checks that follow the parse, one after the other.
            for _ in 0 ..< loops {
                let (f, tf) = time { FenceCheck.check(FenceAnalysis(loaded.state)) }
                let (s, ts) = time { loaded.state.structuralDiagnostics() }
                // As after a jurisdiction is added: which fences apply and the lineage taken over.
                let (a, ta) = time { FenceAnalysis(loaded.state, earlier: loaded.fences) }
                precondition(a.lineageTakenOver)
                print(String(format: "fence analysis + checks: %d diagnostics in %.1f ms; structural checks: %d in %.1f ms; analysis with the lineage taken over: %.1f ms",
                             f.count, tf * 1000, s.count, ts * 1000, ta * 1000))
            }
            return
        }

        FileHandle.standardError.write(Data("bench: The observed snap\n".utf8))
        // The observed snapshot, half converged: the plan from nothing applied to half the regions.
        let source0 = PlanSource(commit: nil, digest: loaded.digest, path: "fleet")
        let (fromNothing, planFromNothing) = time { PlanParts.plan(loaded.state, fences: loaded.fences, observed: ObservedState(), source: source0) }
        let half = Set(loaded.state.regionList.prefix(loaded.state.regionList.count / 2).map(\.name))
        let halfPlan = Plan(source: source0, observedGenerations: [:], actions: fromNothing.actions.filter { $0.regions.allSatisfy(half.contains) }, unserved: [])
        let snapshot = PlanSimulator.apply(halfPlan, to: ObservedState(), state: loaded.state)
        let snapshotPath = work.appendingPathComponent("observed.json").path
        try Data(ObservedSnapshot.encode(snapshot).utf8).write(to: URL(fileURLWithPath: snapshotPath))
        // The fleet as generated (the counts are the state's: per-jurisdiction shares round).
        let st = loaded.state
        let fleet: [String: Any] = [
            "jurisdictions": st.jurisdictionList.count, "regions": st.regionList.count, "artifacts": st.artifacts.count,
            "baseArtifacts": parameters.baseArtifacts, "maxParents": parameters.maxParents, "lineageDepth": generator.maxLineageDepth,
            "models": st.modelList.count, "topologies": st.topologyList.count, "placements": st.placementList.count,
            "objects": st.objectCount, "files": files.count, "yamlBytes": yamlBytes,
        ]
        let fleetLine = "\(st.jurisdictionList.count) jurisdictions, \(st.regionList.count) regions, \(st.artifacts.count) artifacts (\(parameters.baseArtifacts) base, lineage \(generator.maxLineageDepth) deep), \(st.modelList.count) models, \(st.topologyList.count) topologies, \(st.placementList.count) placements"
        if generateInto != nil {
            print("generated: \(label) fleet, \(st.objectCount) objects in \(files.count) files, \(String(format: "%.1f", Double(yamlBytes) / 1e6)) MB of YAML")
            print("fleet: \(fleetLine)")
            print("repository: \(repo.path) (ref main, path fleet)")
            print("observed snapshot, half converged: \(snapshotPath)")
            print("try: meridian plan --repo \(repo.path) --ref main --path fleet --observed \(snapshotPath)")
            if let jsonOut {
                let doc: [String: Any] = ["preset": preset, "fleet": fleet, "repository": repo.path, "observed": snapshotPath]
                try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: jsonOut))
            }
            return
        }
        let converged = PlanSimulator.apply(fromNothing, to: ObservedState(), state: loaded.state)
        let (convergedPlan, planConverged) = best(runs) { PlanParts.plan(loaded.state, fences: loaded.fences, observed: converged, source: source0) }
        precondition(convergedPlan.isEmpty, "the converged fleet re-plans to \(convergedPlan.actions.count) actions")
        // Planning by parts (on both cores) must give the whole planner's plan, byte for byte:
        // checked here on the benchmark's own fleet, against the half-converged snapshot.
        precondition(PlanJSON.render(PlanParts.plan(loaded.state, fences: loaded.fences, observed: snapshot, source: source0))
            == PlanJSON.render(Planner.plan(loaded.state, fences: loaded.fences, observed: snapshot, source: source0)),
            "planning by parts differs from the whole planner")
        if let loops = planLoop {
            // For a profiler: nothing but planning, against the converged and the half-converged state.
            let halfObserved = snapshot
            for i in 0 ..< loops {
                let t0 = Clock.monotonic()
                let (p, t) = time { PlanParts.plan(loaded.state, fences: loaded.fences, observed: i % 2 == 0 ? converged : halfObserved, source: source0) }
                // The window on CLOCK_MONOTONIC, for `perf record -k CLOCK_MONOTONIC` and `perf report --time`.
                print(String(format: "plan %@: %d actions in %.1f ms (%.6f to %.6f)", i % 2 == 0 ? "converged" : "half", p.actions.count, t * 1000, t0, t0 + t))
            }
            return
        }

        // (c) Cold plan: read the commit, decode the snapshot, plan, re-check every action. As
        // `meridian plan --observed` does, the snapshot is decoded on another thread while the
        // manifests load; "wait for the snapshot" below is how long the plan then still waited.
        var planActions = 0
        var coldParts = (snapshot: 0.0, plan: 0.0, verify: 0.0)
        let (_, snapshotAlone) = try best(runs) { try ObservedSnapshot.load(path: snapshotPath) }
        // What a run made (the fleet, the snapshot, the plan) is handed back out of the timed
        // closure and let go after the clock stops, as (b)'s load is: freeing it is not part of
        // having a checked plan, and the CLI leaves it to the process's exit. (Freed inside, it
        // added about 0.3 s of releases to (c).)
        struct Made { let result: LoadResult; let observed: ObservedState; let plan: Plan }
        func coldPlanRun() throws -> (actions: Int, parts: (snapshot: Double, plan: Double, verify: Double), made: Made) {
            let prefetch = Prefetch { try ObservedSnapshot.load(path: snapshotPath) }
            // As `meridian plan --observed` has it: a parse cache that keeps nothing (see (b)).
            let source = GitSource(repository: repo.path, parseCache: ParseCache(retains: false))
            let result = try source.load(commit: try source.resolve("main"), path: "fleet")
            let t0 = Clock.monotonic()
            let observed = try prefetch.value()
            let t1 = Clock.monotonic()
            let plan = PlanParts.plan(result.state, fences: result.fences, observed: observed, source: PlanSource(commit: nil, digest: result.digest, path: "fleet"))
            let t2 = Clock.monotonic()
            precondition(PlanCheck.verify(plan, state: result.state, fences: result.fences, observed: observed).isEmpty)
            let t3 = Clock.monotonic()
            return (plan.actions.count, (t1 - t0, t2 - t1, t3 - t2), Made(result: result, observed: observed, plan: plan))
        }

        // (f) PyYAML's C loader on the same files, timed by the script itself.
        func pyyamlRun() throws -> Double? {
            let script = """
                import glob, time, yaml
                files = sorted(glob.glob("fleet/*.yaml"))
                start = time.perf_counter()
                n = 0
                for f in files:
                    with open(f, "rb") as h:
                        n += sum(1 for _ in yaml.load_all(h, Loader=yaml.CSafeLoader))
                print(time.perf_counter() - start, n)
                """
            let (status, out) = try sh(["python3", "-c", script], in: repo)
            guard status == 0, let s = Double(out.split(separator: " ").first ?? "") else { return nil }
            return s
        }

        // (a), (b), (c) and (f) in interleaved rounds, best of each: this machine's speed drifts
        // by a third over minutes, and the ratios compare figures taken under the same
        // conditions (with PyYAML measured once, apart, its ratio to the plan swung from 2.8 to 5.2).
        var floor = Double.infinity, validate = Double.infinity, coldPlan = Double.infinity
        var floorEvents = 0
        var pyyaml: Double?
        for round in 1 ... runs {
            FileHandle.standardError.write(Data("bench: (a) (b) (c)\(skipPyYAML ? "" : " (f)"), round \(round) of \(runs)\n".utf8))
            let ta = Clock.monotonic()
            let (events, tf) = try time(floorRun)
            floorEvents = events
            floor = min(floor, tf)
            let tb = Clock.monotonic()
            let (_, tv) = try time(validateRun)
            validate = min(validate, tv)
            let tc0 = Clock.monotonic()
            let (c, tc) = try time(coldPlanRun)
            // The windows on CLOCK_MONOTONIC, for `perf record -k CLOCK_MONOTONIC` and `perf script --time`.
            FileHandle.standardError.write(Data(String(format: "bench: round %d windows: (a) %.6f,%.6f (b) %.6f,%.6f (c) %.6f,%.6f (CLOCK_MONOTONIC)\n",
                                                       round, ta, ta + tf, tb, tb + tv, tc0, tc0 + tc).utf8))
            if tc < coldPlan { (planActions, coldParts) = (c.actions, c.parts) }
            coldPlan = min(coldPlan, tc)
            if !skipPyYAML, let p = try pyyamlRun() { pyyaml = min(pyyaml ?? p, p) }
        }

        FileHandle.standardError.write(Data("bench: (d) Incremental\n".utf8))
        // (d) Incremental: a one-file commit, then a re-plan in the same process, as the
        // controller does it: blob cache warm, and the last plan's parts in a `PlanMemo`, so
        // that only the parts whose inputs changed are planned again. Two kinds of commit, each
        // in its own file, best of the rounds of each: one object added (a jurisdiction nothing
        // names: a real change, which every artifact with no fence reads, since it may now
        // live there too), and one placement's replicas changed (its part is planned again).
        let warm = GitSource(repository: repo.path)
        let observedOnce = try ObservedSnapshot.load(path: snapshotPath)
        let memo = PlanMemo()
        do {
            let primed = try warm.load(commit: try warm.resolve("main"), path: "fleet")
            let plan = PlanParts.plan(primed.state, fences: primed.fences, observed: observedOnce, source: source0, memo: memo)
            precondition(PlanCheck.verify(plan, state: primed.state, fences: primed.fences, observed: observedOnce, memo: memo).isEmpty)
        }
        struct Incremental {
            var seconds = Double.infinity
            var parts = (load: 0.0, plan: 0.0, verify: 0.0)
            var planParts = (total: 0, reused: 0)
            /// Whether the load took the last load's fence analysis over (a placement edit
            /// leaves every input of it as it was; a jurisdiction added does not).
            var fencesReused = false
            /// How many of the load's tables (one per kind with objects) were taken over.
            var tablesReused = 0
            /// How many were patched (their names and index taken over, the changed objects put in).
            var tablesPatched = 0
            /// How many of the eight groups of structural checks, and of the three parts of the
            /// fence checks, were taken over.
            var checksReused = 0
            var fenceChecksReused = 0
            /// How many groups and parts were patched: run for the replaced placements alone.
            var checksPatched = 0
            /// How the plan's parts were merged (see `PlanMemo.Merge`).
            var merge = "none"
            var fenceChecksPatched = 0
            /// How many parts of the fence checks were carried over: they found nothing, and
            /// the new analysis decides each of their checks alike (`FenceChecks.carried`).
            var fenceChecksCarried = 0
            /// Of the plan's actions, how many the re-check checked (it took the others over
            /// from the check before: see `PlanCheck.verify(…, memo:)`).
            var checked = (actions: 0, of: 0)
        }
        enum Edit { case jurisdiction, placement }
        // The files each kind of edit takes in turn, from the middle of the fleet on (round
        // after round, wrapping around in a fleet of few files), read as they are now.
        let middle = files.count / 2
        let jurisdictionFiles = (0 ..< files.count).map { files[(middle + $0) % files.count] }
        let placementFiles = jurisdictionFiles.filter { String(decoding: $0.bytes, as: UTF8.self).contains("kind: Placement\nmetadata: {name: ") }
        var edits = 0
        func incrementalRounds(_ edit: Edit) throws -> Incremental? {
            let candidates = edit == .jurisdiction ? jurisdictionFiles : placementFiles
            guard !candidates.isEmpty else { return nil }
            var best = Incremental()
            for round in 0 ..< max(runs, 2) {
                edits += 1
                let url = repo.appendingPathComponent(candidates[round % candidates.count].path)
                let text = try String(contentsOf: url, encoding: .utf8)
                let changed: String
                let check: (LoadResult) -> Bool
                switch edit {
                case .jurisdiction:
                    let name = "bench-edit-\(edits)"
                    changed = text + "---\napiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: \(name)}\nspec: {description: added by an incremental round}\n"
                    check = { $0.state.jurisdictions[JurisdictionName(name)] != nil }
                case .placement:
                    // The file's first placement gets 10 + round replicas (the generator gives 1
                    // to 3, and a file taken again gets another count).
                    let doc = text.range(of: "kind: Placement\nmetadata: {name: ")!
                    let name = String(text[doc.upperBound...].prefix { $0 != "}" })
                    let field = text.range(of: "replicas: ", range: doc.upperBound ..< text.endIndex)!
                    let digits = text[field.upperBound...].prefix { $0.isNumber }
                    let replicas = 10 + round
                    changed = text.replacingCharacters(in: field.upperBound ..< text.index(field.upperBound, offsetBy: digits.count), with: "\(replicas)")
                    check = { $0.state.placements[PlacementName(name)]?.replicas == replicas }
                }
                try changed.write(to: url, atomically: true, encoding: .utf8)
                try git("commit", "-q", "-am", "one file")
                let parsesBefore = warm.parseCache.parses
                let (made, t) = try time { () throws -> (parts: (Double, Double, Double), window: (Double, Double), made: Made) in
                    let t0 = Clock.monotonic()
                    let result = try warm.load(commit: try warm.resolve("main"), path: "fleet")
                    precondition(result.isValid && check(result), "the incremental load missed the edit")
                    precondition(result.fencesReused == (edit == .placement), "fences taken over: \(result.fencesReused) after a \(edit) edit")
                    // The artifacts' checks read artifacts, regions and fences, which neither edit changes.
                    precondition(result.structuralChecks.reused.contains(.artifacts), "the artifacts' checks were run again after a \(edit) edit")
                    // A jurisdiction nothing names, in a valid fleet (no fence is empty): the
                    // fence checks found nothing and decide alike, so every part is carried over.
                    precondition(edit == .placement || result.fenceChecks.carried == FenceCheck.Part.allCases,
                                 "the fence checks were run again after a jurisdiction nothing names was added")
                    // A placement's replicas changed: its table is patched, and the placements'
                    // checks run for it alone.
                    precondition(edit == .jurisdiction || (result.structuralChecks.patched == [.placements] && result.fenceChecks.patched == [.placements]),
                                 "the placements' checks were not patched after a placement edit")
                    let t1 = Clock.monotonic()
                    let plan = PlanParts.plan(result.state, fences: result.fences, observed: observedOnce, source: source0, memo: memo)
                    let t2 = Clock.monotonic()
                    precondition(PlanCheck.verify(plan, state: result.state, fences: result.fences, observed: observedOnce, memo: memo).isEmpty)
                    let t3 = Clock.monotonic()
                    // Let go after the clock stops, as in (c).
                    return ((t1 - t0, t2 - t1, t3 - t2), (t0, t3), Made(result: result, observed: observedOnce, plan: plan))
                }
                FileHandle.standardError.write(Data(String(format: "bench: (d) %@ round %d re-planned between %.6f and %.6f (CLOCK_MONOTONIC)\n",
                                                           "\(edit)", round, made.window.0, made.window.1).utf8))
                precondition(warm.parseCache.parses - parsesBefore == 1, "the incremental load parsed \(warm.parseCache.parses - parsesBefore) files, not 1")
                // The parts taken over from the last plan make exactly the whole planner's plan.
                let whole = Planner.plan(made.made.result.state, fences: made.made.result.fences, observed: observedOnce, source: source0)
                precondition(PlanJSON.render(made.made.plan) == PlanJSON.render(whole), "the incremental plan differs from the whole planner's")
                // And the re-check that took the last one over agrees with checking every action.
                precondition(PlanCheck.verify(made.made.plan, state: made.made.result.state, fences: made.made.result.fences, observed: observedOnce).isEmpty)
                if t < best.seconds {
                    (best.seconds, best.parts, best.planParts) = (t, made.parts, memo.lastParts)
                    (best.fencesReused, best.tablesReused) = (made.made.result.fencesReused, made.made.result.tablesReused.rawValue.nonzeroBitCount)
                    best.tablesPatched = made.made.result.tablesPatched.rawValue.nonzeroBitCount
                    best.checksReused = made.made.result.structuralChecks.reused.count
                    best.fenceChecksReused = made.made.result.fenceChecks.reused.count
                    best.checksPatched = made.made.result.structuralChecks.patched.count
                    switch memo.lastMerge {
                    case .gathered?: best.merge = "every action copied into place"
                    case let .inPlace(parts)?: best.merge = "the last plan's actions kept in place, \(parts) part\(parts == 1 ? "" : "s") written"
                    case let .rearranged(parts)?: best.merge = "the last plan's actions moved and renamed, \(parts) part\(parts == 1 ? "" : "s") copied"
                    case .takenOver?: best.merge = "the last plan taken over whole"
                    case .whole?: best.merge = "planned whole"
                    case nil: best.merge = "none"
                    }
                    best.fenceChecksPatched = made.made.result.fenceChecks.patched.count
                    best.fenceChecksCarried = made.made.result.fenceChecks.carried.count
                    best.checked = memo.lastCheck.map { ($0.checked, $0.total) } ?? (0, 0)
                }
            }
            return best
        }
        let incrementalObject = try incrementalRounds(.jurisdiction)!
        // Nil for a fleet without placements (`--placements 0`).
        let incrementalPlacement = try incrementalRounds(.placement)

        FileHandle.standardError.write(Data("bench: (e) Peak RSS\n".utf8))
        // (e) Peak RSS of the real CLI planning the fleet, and its wall time.
        let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let meridian = binDir.appendingPathComponent("meridian").path
        var cliRSS = 0, cliSeconds = 0.0, prSeconds = 0.0
        if FileManager.default.isExecutableFile(atPath: meridian) {
            // Measured from a small parent (python3), not from here. A child started with
            // posix_spawn shares this process's memory until it execs, and Linux carries that
            // address space's high-water mark into the child's ru_maxrss: measured from here, the
            // figure was this benchmark's own footprint (about 1 GB), not `meridian plan`'s.
            let script = """
                import resource, subprocess, sys, time
                start = time.perf_counter()
                subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                """
            let argv = ["python3", "-c", script, meridian, "plan", "--repo", repo.path, "--ref", "main", "--path", "fleet",
                        "--observed", snapshotPath, "--format", "json", "--out", "/dev/null"]
            let (status, out) = try sh(argv, in: work)
            let fields = out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard status == 0, fields.count == 2, let seconds = Double(fields[0]), let kb = Int(fields[1]) else {
                throw BenchError("meridian plan under python3 failed (status \(status)): \(out)")
            }
            cliSeconds = seconds
            cliRSS = kb * 1024
            // The pull-request comment for the last one-file commit of (d): both sides loaded,
            // planned and fence-checked, and every single-region failure drilled on both.
            let start = Clock.monotonic()
            let (prStatus, prOut) = try sh([meridian, "plan", "--repo", repo.path, "--ref", "main", "--base", "main~1", "--path", "fleet",
                                            "--observed", snapshotPath, "--format", "markdown", "--out", "/dev/null"], in: work)
            guard prStatus == 0 else { throw BenchError("meridian plan --base failed (status \(prStatus)): \(prOut)") }
            prSeconds = Clock.monotonic() - start
        }

        FileHandle.standardError.write(Data("bench: (g) Apply through\n".utf8))
        // (g) Apply throughput against agents on loopback, and the executor's own cost per action.
        var applyFigures: (agents: Int, actions: Int, seconds: Double)?
        var applyRuns: [Double] = []
        var overhead: (actions: Int, seconds: Double)?
        if !skipApply {
            let dir = work.appendingPathComponent("apply").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let memoryFiles = ApplyFleet.files(regions: agentCount, placements: applyPlacements, url: { _ in nil })
            let memoryFleet = ManifestLoader.load(memoryFiles)
            var memory: [RegionName: any RegionAdapter] = [:]
            for r in memoryFleet.state.regionList { memory[r.name] = MemoryRegion(r.name, jurisdiction: "zone") }
            let m = try await ApplyFleet.run(memoryFleet, adapters: RegionAdapters(adapters: memory), stateDir: dir, parallelism: 64)
            precondition(m.failed == 0, "\(m.failed) actions failed against in-memory regions")
            overhead = (m.actions, m.seconds)
            if FileManager.default.isExecutableFile(atPath: meridian) {
                // Best of `runs`, like every other figure, each against new agents with empty
                // stores (a second apply to the same agents would have nothing to do); every
                // run's figure is printed too.
                for run in 0 ..< runs {
                    let runDir = dir + "/run-\(run)"
                    try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
                    let token = "bench-token-\(UUID().uuidString)"
                    let agents = try Agents(count: agentCount, binary: meridian, dir: runDir, token: token)
                    defer { agents.stop() }
                    let httpFleet = ManifestLoader.load(ApplyFleet.files(regions: agentCount, placements: applyPlacements, url: { agents.urls[$0] }))
                    let adapters = RegionAdapters(for: httpFleet.state, environment: ["MERIDIAN_BENCH_TOKEN": token])
                    let h = try await ApplyFleet.run(httpFleet, adapters: adapters, stateDir: runDir, parallelism: applyParallelism)
                    precondition(h.failed == 0, "\(h.failed) actions failed against the agents")
                    applyRuns.append(Double(h.actions) / h.seconds)
                    if applyFigures.map({ h.seconds < $0.seconds }) ?? true { applyFigures = (agentCount, h.actions, h.seconds) }
                }
            }
        }

        FileHandle.standardError.write(Data("bench: Report.\n".utf8))
        // Report.
        let ratio = { (s: Double) in s / floor }
        print("Meridian benchmark: \(label) fleet, \(loaded.state.objectCount) objects in \(files.count) files, \(String(format: "%.1f", Double(yamlBytes) / 1e6)) MB of YAML, \(floorEvents) YAML events")
        print("fleet: \(fleetLine)")
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(ProcessInfo.processInfo.physicalMemory >> 30) GiB; best of \(runs)")
        print("")
        func row(_ name: String, _ value: String, _ r: String, _ target: String) {
            print(name.padding(toLength: 46, withPad: " ", startingAt: 0) + value.padding(toLength: 14, withPad: " ", startingAt: 0) + r.padding(toLength: 13, withPad: " ", startingAt: 0) + target)
        }
        row("figure", "value", "× floor", "target")
        row("(a) floor: libgit2 + libyaml events, 1 thread", ms(floor), "1.00", "")
        row("(b) cold validate", ms(validate), String(format: "%.2f", ratio(validate)), "")
        row("    of which fence analysis + checks", ms(fences), String(format: "%.2f", ratio(fences)), "")
        row("    beside them, structural checks", ms(structural), String(format: "%.2f", ratio(structural)), "")
        row("(c) cold plan vs half-converged snapshot", ms(coldPlan), String(format: "%.2f", ratio(coldPlan)), String(format: "≤ 1.00× floor: %@", ratio(coldPlan) <= 1 ? "met" : "MISSED"))
        print("    of which: wait for the snapshot \(ms(coldParts.snapshot)) (decoding it alone: \(ms(snapshotAlone)), overlapped with the load), plan \(ms(coldParts.plan)), re-check \(ms(coldParts.verify)); the rest is the load")
        row("    plan vs full converged snapshot", ms(planConverged), String(format: "%.2f", ratio(planConverged)), "")
        row("    plan from nothing (\(fromNothing.actions.count) actions)", ms(planFromNothing), String(format: "%.2f", ratio(planFromNothing)), "")
        for (label, d) in [("(d) incremental: one-file commit, re-plan", incrementalObject), ("    the same, a placement's replicas changed", incrementalPlacement)] {
            guard let d else {
                print("    (no placement to edit: the fleet has none)")
                continue
            }
            row(label, ms(d.seconds), String(format: "%.2f", ratio(d.seconds)), String(format: "≤ 50 ms: %@", d.seconds <= 0.05 ? "met" : "MISSED"))
            print("    of which: load (one blob read and parsed, the rest cached; \(d.tablesReused) tables taken over and \(d.tablesPatched) patched, \(d.fencesReused ? "the fences" : "not the fences"), \(d.checksReused) of 8 groups of structural checks and \(d.fenceChecksReused) of 3 parts of the fence checks taken over, \(d.checksPatched) and \(d.fenceChecksPatched) patched\(d.fenceChecksCarried > 0 ? ", \(d.fenceChecksCarried) of the fence checks' parts carried over (they found nothing, and the new analysis decides each of their checks alike)" : "")) \(ms(d.parts.load)), plan \(ms(d.parts.plan)) (\(d.planParts.reused) of \(d.planParts.total) parts taken over; \(d.merge)), re-check \(ms(d.parts.verify)) (\(d.checked.actions) of \(d.checked.of) actions checked, the rest taken over from the last check)")
        }
        if cliRSS > 0 {
            let x = Double(cliRSS) / Double(yamlBytes)
            row("(e) peak RSS of `meridian plan`", String(format: "%.0f MB", Double(cliRSS) / 1e6), String(format: "%.2f×YAML", x), String(format: "≤ 3× YAML: %@", x <= 3 ? "met" : "MISSED"))
            row("    its wall time", ms(cliSeconds), String(format: "%.2f", ratio(cliSeconds)), "")
            row("PR comment: plan --base, \(st.regionList.count) drills ×2", ms(prSeconds), String(format: "%.2f", ratio(prSeconds)), "")
        }
        if let pyyaml {
            row("(f) PyYAML CSafeLoader, same files", ms(pyyaml), String(format: "%.2f", ratio(pyyaml)), String(format: "≥ 3× Meridian's plan: %.1f× %@", pyyaml / coldPlan, pyyaml / coldPlan >= 3 ? "met" : "MISSED"))
        }
        if let overhead {
            row("    executor alone (in-memory regions)", String(format: "%.3f ms/act", overhead.seconds * 1000 / Double(overhead.actions)), String(format: "%.2f", ratio(overhead.seconds)), String(format: "< 1 ms/action: %@ (%d actions)", overhead.seconds / Double(overhead.actions) < 0.001 ? "met" : "MISSED", overhead.actions))
        }
        if let a = applyFigures {
            let rate = Double(a.actions) / a.seconds
            row("(g) apply, \(a.agents) agents on loopback", String(format: "%.0f act/s", rate), String(format: "%.2f", ratio(a.seconds)), String(format: "≥ 1,000 actions/s: %@ (%d actions)", rate >= 1000 ? "met" : "MISSED", a.actions))
            if applyRuns.count > 1 {
                print("    each run: " + applyRuns.map { String(format: "%.0f", $0) }.joined(separator: ", ") + " act/s; met in \(applyRuns.filter { $0 >= 1000 }.count) of \(applyRuns.count)")
            }
        }

        func incrementalJSON(_ d: Incremental) -> [String: Any] {
            ["seconds": d.seconds, "ratioToFloor": ratio(d.seconds), "target": 0.05, "met": d.seconds <= 0.05,
             "loadSeconds": d.parts.load, "planSeconds": d.parts.plan, "recheckSeconds": d.parts.verify,
             "planParts": d.planParts.total, "planPartsReused": d.planParts.reused, "fencesReused": d.fencesReused,
             "tablesReused": d.tablesReused, "tablesPatched": d.tablesPatched, "structuralChecksReused": d.checksReused, "fenceChecksReused": d.fenceChecksReused,
             "structuralChecksPatched": d.checksPatched, "merge": d.merge, "fenceChecksPatched": d.fenceChecksPatched, "fenceChecksCarried": d.fenceChecksCarried,
             "recheckChecked": d.checked.actions, "recheckActions": d.checked.of]
        }
        if let jsonOut {
            var figures: [String: Any] = [
                "floor": ["seconds": floor, "ratioToFloor": 1.0],
                "validate": ["seconds": validate, "ratioToFloor": ratio(validate)],
                "fences": ["seconds": fences, "ratioToFloor": ratio(fences)],
                "structuralChecks": ["seconds": structural, "ratioToFloor": ratio(structural)],
                "coldPlan": ["seconds": coldPlan, "ratioToFloor": ratio(coldPlan), "actions": planActions, "target": 1.0, "met": ratio(coldPlan) <= 1,
                     "snapshotWaitSeconds": coldParts.snapshot, "snapshotDecodeSeconds": snapshotAlone, "planSeconds": coldParts.plan, "recheckSeconds": coldParts.verify],
                "planConverged": ["seconds": planConverged, "ratioToFloor": ratio(planConverged)],
                "planFromNothing": ["seconds": planFromNothing, "ratioToFloor": ratio(planFromNothing), "actions": fromNothing.actions.count],
                "incremental": incrementalJSON(incrementalObject),
                "incrementalPlacement": incrementalPlacement.map(incrementalJSON) ?? NSNull(),
            ]
            if cliRSS > 0 {
                figures["peakRSS"] = ["bytes": cliRSS, "ratioToYAML": Double(cliRSS) / Double(yamlBytes), "target": 3.0, "met": Double(cliRSS) / Double(yamlBytes) <= 3]
                figures["cliPlan"] = ["seconds": cliSeconds, "ratioToFloor": ratio(cliSeconds)]
                figures["pullRequestComment"] = ["seconds": prSeconds, "ratioToFloor": ratio(prSeconds), "drillsPerSide": st.regionList.count]
            }
            if let pyyaml { figures["pyyaml"] = ["seconds": pyyaml, "ratioToFloor": ratio(pyyaml), "timesMeridianPlan": pyyaml / coldPlan, "target": 3.0, "met": pyyaml / coldPlan >= 3] }
            if let overhead { figures["executorOverhead"] = ["secondsPerAction": overhead.seconds / Double(overhead.actions), "actions": overhead.actions,
                                                        "seconds": overhead.seconds, "ratioToFloor": ratio(overhead.seconds), "target": 0.001, "met": overhead.seconds / Double(overhead.actions) < 0.001] }
            if let a = applyFigures { figures["apply"] = ["agents": a.agents, "actions": a.actions, "seconds": a.seconds, "ratioToFloor": ratio(a.seconds), "actionsPerSecond": Double(a.actions) / a.seconds, "runsActionsPerSecond": applyRuns, "target": 1000, "met": Double(a.actions) / a.seconds >= 1000] }
            let doc: [String: Any] = [
                "preset": preset, "objects": loaded.state.objectCount, "files": files.count, "yamlBytes": yamlBytes, "yamlEvents": floorEvents,
                "machine": ["cores": ProcessInfo.processInfo.activeProcessorCount, "memoryBytes": ProcessInfo.processInfo.physicalMemory],
                "runs": runs, "figures": figures, "fleet": fleet,
            ]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: jsonOut))
        }

    }
}

/// A value computed on its own thread, waited for later (what the CLI does with a detached task).
final class Prefetch<T: Sendable>: @unchecked Sendable {
    private var result: Result<T, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try body() }
            done.signal()
        }
        thread.start()
    }

    func value() throws -> T {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
