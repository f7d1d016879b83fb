import Foundation
import MeridianAdapters
import MeridianCore
import MeridianEngine
import MeridianManifests
import Testing

@Suite("apply on local regions")
struct LocalApplyTests {
    @Test("the example fleet converges locally, and a second apply has no changes")
    func exampleFleet() throws {
        let dir = try TempDir()
        try FileManager.default.copyItem(at: Meridian.root.appendingPathComponent("manifests"), to: dir.url.appendingPathComponent("manifests"))
        let first = try Meridian.run(["apply", "manifests", "--auto-approve"], in: dir.path)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("Apply complete"), "\(first)")
        #expect(!first.stdout.contains(" 0 done"), "\(first)")
        let second = try Meridian.run(["apply", "manifests", "--auto-approve"], in: dir.path)
        #expect(second.status == 0, "\(second)")
        #expect(second.stdout.contains("No changes"), "\(second)")
        let plan = try Meridian.run(["plan", "manifests", "--detailed-exitcode"], in: dir.path)
        #expect(plan.status == 0, "\(plan)")
        // observe writes a snapshot that plans to nothing.
        let observe = try Meridian.run(["observe", "manifests", "--out", "snap.json"], in: dir.path)
        #expect(observe.status == 0, "\(observe)")
        let snapshot = try ObservedSnapshot.load(path: dir.path + "/snap.json")
        #expect(snapshot.regions.count == 15)
        #expect(snapshot.regions.values.allSatisfy { $0.reachable && $0.generation > 0 || $0.deployments.isEmpty && $0.artifacts.isEmpty })
        let replan = try Meridian.run(["plan", "manifests", "--observed", "snap.json", "--detailed-exitcode"], in: dir.path)
        #expect(replan.status == 0, "\(replan)")
        let verify = try Meridian.run(["ledger", "verify"], in: dir.path)
        #expect(verify.status == 0 && verify.stdout.contains("1 entries"), "\(verify)")
    }

    @Test("a saved plan applies; once a region it touches changed, it is refused as stale and nothing is applied")
    func savedPlans() throws {
        let dir = try TempDir()
        try Fleet.write(into: dir)
        let plan = try Meridian.run(["plan", "manifests", "--out", "plan.json"], in: dir.path)
        #expect(plan.status == 0, "\(plan)")
        let saved = try SavedPlan.load(path: dir.path + "/plan.json")
        #expect(!saved.actions.isEmpty)
        #expect(throws: SavedPlan.Error.self) { try SavedPlan.load(path: dir.path + "/manifests") }
        let notAFile = try Meridian.run(["apply", "--plan", "manifests", "--auto-approve", "manifests"], in: dir.path)
        #expect(notAFile.status != 0 && notAFile.stderr.contains("manifests: is a directory, not a saved plan file"), "\(notAFile)")
        // A second plan, saved now, goes stale when the first is applied.
        #expect(try Meridian.run(["plan", "manifests", "--out", "plan2.json"], in: dir.path).status == 0)
        let apply = try Meridian.run(["apply", "--plan", "plan.json", "--auto-approve", "manifests"], in: dir.path)
        #expect(apply.status == 0, "\(apply)")
        let stale = try Meridian.run(["apply", "--plan", "plan2.json", "--auto-approve", "manifests"], in: dir.path)
        #expect(stale.status == 1, "\(stale)")
        #expect(stale.stderr.contains("stale plan"), "\(stale)")
        #expect(stale.stderr.contains("generation"), "\(stale)")
        // A changed source makes a plan stale too.
        #expect(try Meridian.run(["plan", "manifests", "--out", "plan3.json", "--allow-empty"], in: dir.path).status == 0)
        try dir.write("manifests/extra.yaml", "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: gb}\nspec: {countries: [GB]}\n")
        let changed = try Meridian.run(["apply", "--plan", "plan3.json", "--auto-approve", "manifests"], in: dir.path)
        #expect(changed.status == 1 && changed.stderr.contains("the manifests changed"), "\(changed)")
        let ledger = try Meridian.run(["ledger", "verify"], in: dir.path)
        #expect(ledger.stdout.contains("1 entries"), "only the one applied plan is in the ledger: \(ledger)")
    }

    @Test("a plan that removes more than the destroy budget is shown and not applied without --allow-destroy")
    func destroyBudget() throws {
        let dir = try TempDir()
        try Fleet.write(into: dir)
        #expect(try Meridian.run(["apply", "--auto-approve", "manifests"], in: dir.path).status == 0)
        // Drop the EU placement: its deployments and copies go.
        var serving = try dir.read("manifests/serving.yaml")
        serving = serving.components(separatedBy: "---\n").filter { !$0.contains("name: eu-chat}") }.joined(separator: "---\n")
        try dir.write("manifests/serving.yaml", serving)
        let refused = try Meridian.run(["apply", "--auto-approve", "manifests"], in: dir.path)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("destroy budget"), "\(refused)")
        #expect(refused.stdout.contains("undeploy"), "the plan is shown: \(refused)")
        let before = try LocalRegionAdapter(region: RegionName("eu-a"), directory: dir.path + "/.meridian/regions/eu-a", jurisdiction: "eu", accelerators: [:]).state()
        #expect(before.observation.deployments["eu-chat"] != nil, "nothing was applied")
        let allowed = try Meridian.run(["apply", "--auto-approve", "--allow-destroy", "manifests"], in: dir.path)
        #expect(allowed.status == 0, "\(allowed)")
        let after = try LocalRegionAdapter(region: RegionName("eu-a"), directory: dir.path + "/.meridian/regions/eu-a", jurisdiction: "eu", accelerators: [:]).state()
        #expect(after.observation.deployments["eu-chat"] == nil)
    }

    @Test("without --auto-approve and without a terminal, apply refuses; an empty source is refused")
    func approvals() throws {
        let dir = try TempDir()
        try Fleet.write(into: dir)
        let r = try Meridian.run(["apply", "manifests"], in: dir.path)
        #expect(r.status == 1 && r.stderr.contains("--auto-approve"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/.meridian/regions/eu-a/region.json"))
        try FileManager.default.createDirectory(atPath: dir.path + "/empty", withIntermediateDirectories: true)
        let empty = try Meridian.run(["apply", "empty", "--auto-approve"], in: dir.path)
        #expect(empty.status == 1 && empty.stderr.contains("no manifests"), "\(empty)")
    }

    @Test("a second apply on the same SQLite state is refused while the first holds it")
    func singleWriter() throws {
        let dir = try TempDir()
        let first = try SQLiteStateStore(path: dir.path + "/state.db")
        #expect(throws: StoreError.self) { _ = try SQLiteStateStore(path: dir.path + "/state.db") }
        _ = first
    }

    @Test("an exec adapter that exits without reading its request: meridian is not killed by the broken pipe, and names the region")
    func execAdapterClosesStdin() throws {
        let dir = try TempDir()
        // `true` exits at once, its stdin unread: the request meets a closed pipe (SIGPIPE).
        try Fleet.write(into: dir, adapter: { name in name == "eu-b" ? "type: exec\ncommand: [/bin/true]" : nil })
        for _ in 0 ..< 5 {
            let plan = try Meridian.run(["plan", "manifests"], in: dir.path)
            #expect(plan.status == 0, "\(plan)")
            #expect(plan.stderr.contains("eu-b: cannot be observed") && plan.stderr.contains("/bin/true printed an invalid observation"), "\(plan.stderr)")
        }
    }

    @Test("exec regions (adapters/file-region) converge through the exec protocol")
    func execAdapter() throws {
        let dir = try TempDir()
        let script = Meridian.root.appendingPathComponent("adapters/file-region").path
        try Fleet.write(into: dir, adapter: { name in
            let j = name.hasPrefix("eu") ? "eu" : "us"
            return "type: exec\ncommand: [\(script), --state, .meridian/exec/\(name), --jurisdiction, \(j), --accelerator, h100=16]"
        })
        let first = try Meridian.run(["apply", "--auto-approve", "manifests"], in: dir.path)
        #expect(first.status == 0, "\(first)")
        let second = try Meridian.run(["plan", "--detailed-exitcode", "manifests"], in: dir.path)
        #expect(second.status == 0, "\(second)")
        let state = try dir.read(".meridian/exec/eu-b/state.json")
        #expect(state.contains("eu-ft") && state.contains("eu-chat"))
        #expect(!(try dir.read(".meridian/exec/us-a/state.json")).contains("eu-ft"), "the EU fine-tune never reaches us-a")
    }
}
