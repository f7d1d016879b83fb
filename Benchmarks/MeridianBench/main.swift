import Foundation
import MeridianCore
import MeridianManifests

/// `swift run -c release meridian-bench [large|small]`: generates a synthetic fleet in memory and
/// times loading it (libyaml + decoding + structural checks) and the fence invariant alone.
let preset = CommandLine.arguments.dropFirst().first ?? "large"
var generator = FleetGenerator(preset == "small" ? .small : .large)
let files = generator.files()
let bytes = files.reduce(0) { $0 + $1.bytes.count }

func time<T>(_ body: () -> T) -> (T, Double) {
    let clock = ContinuousClock()
    var result: T?
    let d = clock.measure { result = body() }
    return (result!, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}

let (result, load) = time { ManifestLoader.load(files) }
guard result.isValid else {
    print(result.diagnostics.prefix(10).map(\.description).joined(separator: "\n"))
    exit(1)
}
var best = (analysis: Double.infinity, check: Double.infinity)
for _ in 0 ..< 5 {
    let (analysis, a) = time { FenceAnalysis(result.state) }
    let (diagnostics, c) = time { FenceCheck.check(analysis) }
    precondition(diagnostics.isEmpty)
    best = (min(best.analysis, a), min(best.check, c))
}
print("fleet: \(preset), \(files.count) files, \(bytes / 1_000_000) MB YAML, \(result.state.objectCount) objects")
print(String(format: "load (parse + decode + all checks): %.3f s", load))
print(String(format: "fence analysis (effective fences):  %.1f ms (best of 5)", best.analysis * 1000))
print(String(format: "fence check (all invariants):       %.1f ms (best of 5)", best.check * 1000))
print(String(format: "fences total:                       %.1f ms", (best.analysis + best.check) * 1000))

// Planning: from nothing, and against the full snapshot of the converged fleet (no changes).
let planSource = PlanSource(commit: nil, digest: ManifestLoader.digest(of: files), path: "fleet")
let (fromNothing, planCold) = time { Planner.plan(result.state, fences: result.fences, observed: ObservedState(), source: planSource) }
let converged = PlanSimulator.apply(fromNothing, to: ObservedState(), state: result.state)
var planFull = Double.infinity
var replan = fromNothing
for _ in 0 ..< 3 {
    let (p, t) = time { Planner.plan(result.state, fences: result.fences, observed: converged, source: planSource) }
    planFull = min(planFull, t)
    replan = p
}
if !replan.actions.isEmpty {
    print("NOT CONVERGED: \(replan.actions.count) actions, e.g.\n" + PlanText.render(Plan(source: replan.source, observedGenerations: [:], actions: Array(replan.actions.prefix(6)), unserved: []), colour: false))
    exit(1)
}
let (_, verify) = time { PlanVerifier.verify(fromNothing, state: result.state, fences: result.fences, observed: ObservedState()) }
let (json, render) = time { PlanJSON.render(fromNothing) }
print(String(format: "plan from nothing: %.1f ms (%d actions); fence re-check %.1f ms; JSON %.1f ms (%d KB)",
             planCold * 1000, fromNothing.actions.count, verify * 1000, render * 1000, json.utf8.count / 1000))
print(String(format: "plan against the full converged snapshot: %.1f ms (best of 3, 0 actions)", planFull * 1000))

// Git: the same fleet committed to a real repository, read at the commit through libgit2
// (tree walk + blob reads, no checkout) next to reading the same files from a directory.
let repo = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-bench-\(UUID().uuidString.prefix(8))")
defer { try? FileManager.default.removeItem(at: repo) }
for file in files {
    let url = repo.appendingPathComponent(file.path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(file.bytes).write(to: url)
}
func git(_ args: String...) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"] + args
    p.currentDirectoryURL = repo
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
}
try git("init", "-q", "-b", "main")
try git("add", "-A")
try git("commit", "-q", "-m", "fleet")
let source = GitSource(repository: repo.path)
let commit = try source.resolve("main")
var bestGit = Double.infinity, bestDir = Double.infinity
for _ in 0 ..< 3 {
    bestGit = min(bestGit, time { try! source.files(commit: commit, path: "fleet") }.1)
    bestDir = min(bestDir, time { try! DirectorySource(root: repo.appendingPathComponent("fleet").path).read() }.1)
}
print(String(format: "read %d files at a commit (libgit2): %.1f ms; from a directory: %.1f ms", files.count, bestGit * 1000, bestDir * 1000))
