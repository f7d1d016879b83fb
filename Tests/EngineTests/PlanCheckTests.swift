import MeridianCore
import MeridianEngine
import MeridianManifests
import Testing

/// The re-check on several threads gives exactly the single-threaded answer.
@Suite("Plan re-check on every core")
struct PlanCheckTests {
    @Test("split into 1 to 7 parts, the violations are the single-threaded ones, in plan order")
    func sameAsOneThread() throws {
        var docs = ["apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: zone}\nspec: {}\n",
                    "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: other}\nspec: {}\n",
                    "apiVersion: meridian/v1\nkind: ResidencyFence\nmetadata: {name: zone-only}\nspec: {allow: [zone]}\n"]
        let regions = 12
        for r in 0 ..< regions {
            docs.append("apiVersion: meridian/v1\nkind: Region\nmetadata: {name: r\(r)}\nspec:\n  jurisdiction: zone\n  capacity: {accelerators: [{type: h100, count: 64}]}\n")
        }
        for p in 0 ..< 120 {
            let hex = String(p, radix: 16)
            let digest = "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
            docs.append("apiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: x\(p)}\nspec: {type: weights, digest: \"\(digest)\", origin: r\((p + 1) % regions), fences: [zone-only]}\n")
            docs.append("apiVersion: meridian/v1\nkind: Model\nmetadata: {name: m\(p)}\nspec: {version: \"1.0.0\", artifacts: [x\(p)], accelerator: {type: h100, count: 1}}\n")
            docs.append("apiVersion: meridian/v1\nkind: Topology\nmetadata: {name: t\(p)}\nspec: {mode: active-active, regions: [{name: r\(p % regions), weight: 50}, {name: r\((p + 5) % regions), weight: 50}]}\n")
            docs.append("apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: p\(p)}\nspec: {model: m\(p), topology: t\(p), replicas: 2}\n")
        }
        let loaded = ManifestLoader.load([ManifestFile(path: "fleet.yaml", bytes: Array(docs.joined(separator: "---\n").utf8))])
        #expect(loaded.isValid, "\(loaded.diagnostics)")
        let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: ObservedState(), source: PlanSource(commit: nil, digest: "t", path: "fleet"))
        #expect(plan.actions.count > 500)
        // Checked against regions that now attest another jurisdiction: every action into them
        // (or copying from them) breaks the fence.
        var tampered = ObservedState()
        for r in stride(from: 0, to: regions, by: 4) {
            tampered.regions["r\(r)"] = RegionObservation(reachable: true, generation: 1, jurisdiction: "other")
        }
        let one = PlanVerifier.verify(plan, state: loaded.state, fences: loaded.fences, observed: tampered)
        #expect(one.count > 50 && one.count < plan.actions.count, "\(one.count) of \(plan.actions.count)")
        #expect(PlanVerifier.verify(plan, state: loaded.state, fences: loaded.fences, observed: ObservedState()).isEmpty)
        for threads in 1 ... 7 {
            #expect(PlanCheck.verify(plan, state: loaded.state, fences: loaded.fences, observed: tampered, threads: threads, minimumPart: 1) == one,
                    "\(threads) parts")
        }
        // By default a plan this small is checked on one thread.
        #expect(PlanCheck.verify(plan, state: loaded.state, fences: loaded.fences, observed: tampered) == one)
    }
}
