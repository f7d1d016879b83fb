internal import Foundation

// The libFuzzer entry of `scripts/fuzz.sh`, compiled with the sources of MeridianCore and
// MeridianManifests into one module (the script drops their imports of MeridianCore). Not a
// package target: it needs `-sanitize=fuzzer`, which the package's other targets must not get.
//
// FUZZ_TARGET=manifests: the bytes are one manifest file. Whatever they are, loading must end
// with a result, never a crash or a hang; where the fast path decodes them from libyaml's events,
// it must give exactly the objects of the full path (composer and decoder), which must report
// nothing; when they make a valid fleet, it is planned against
// nothing, by parts and whole (byte-identical), and the plan is checked against the fences.
// FUZZ_TARGET=snapshot: the bytes are an observed snapshot (SPEC §3). Whatever they are,
// decoding must end with a state or an error; a state is planned against the example fleet in
// FUZZ_MANIFESTS (default `manifests`), by parts and whole, and checked against the fences.
// FUZZ_TARGET=plan: the bytes are a saved plan for `apply --plan` (SPEC §4). Whatever they are,
// reading must end with a plan or an error; a plan is digested, checked for staleness and checked
// against the example fleet's fences action by action, as `apply --plan` does before it runs one.
// A failed check stops the run with the input saved: a fence violation is the worst bug there is.

let target = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? "manifests"
let example: LoadResult = {
    let root = ProcessInfo.processInfo.environment["FUZZ_MANIFESTS"] ?? "manifests"
    // Read as `meridian validate` reads a directory; an unreadable root is a fleet of nothing.
    let loaded = (try? DirectorySource(root: root).load()) ?? ManifestLoader.load([])
    precondition(target == "manifests" || (loaded.isValid && loaded.state.objectCount > 0), "FUZZ_MANIFESTS=\(root) is not a valid fleet")
    return loaded
}()
let source = PlanSource(commit: nil, digest: "sha256:fuzz", path: "fuzz")

func planAndCheck(_ state: DesiredState, _ fences: FenceAnalysis, _ observed: ObservedState) {
    let whole = Planner.plan(state, fences: fences, observed: observed, source: source)
    let parts = PlanPartition.plan(state, fences: fences, observed: observed, source: source)
    let json = PlanJSON.render(whole)
    if json != PlanJSON.render(parts) { fatalError("planning by parts differs from the whole planner:\n\(json)") }
    let violations = PlanVerifier.verify(whole, state: state, fences: fences, observed: observed)
    if !violations.isEmpty { fatalError("fence violation: \(violations)\n\(json)") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if target == "plan" {
        guard let plan = try? SavedPlan.decode(bytes, source: "fuzz.json") else { return 0 }
        _ = SavedPlan.digest(plan)
        _ = SavedPlan.staleness(of: plan, source: source, observed: ObservedState())
        _ = PlanVerifier.verify(plan, state: example.state, fences: example.fences, observed: ObservedState())
    } else if target == "snapshot" {
        guard let observed = try? ObservedSnapshot.decode(bytes, source: "fuzz.json") else { return 0 }
        planAndCheck(example.state, example.fences, observed)
    } else {
        // The fast path (decoding from events) must give the full path's objects whenever it
        // gives any, and only for a file the full path has nothing to say about.
        let file = ManifestFile(path: "fuzz.yaml", bytes: bytes)
        if let fast = StreamDecoder.decode(bytes, file: file.path, limits: YAMLLimits(), labels: LabelInterner()) {
            let full = ManifestLoader.parseInFull(file, labels: LabelInterner())
            if !full.diagnostics.isEmpty { fatalError("the fast path read a file the full path reports: \(full.diagnostics)") }
            if fast != full.objects || fast.map({ Array($0.meta.name.utf8) }) != full.objects.map({ Array($0.meta.name.utf8) }) {
                fatalError("the fast path's objects differ from the full path's:\n\(fast)\n\(full.objects)")
            }
        }
        let loaded = ManifestLoader.load([file])
        guard loaded.isValid, loaded.state.objectCount < 500 else { return 0 }
        planAndCheck(loaded.state, loaded.fences, ObservedState())
    }
    return 0
}
