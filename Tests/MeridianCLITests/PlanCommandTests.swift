import Foundation
import MeridianCore
import MeridianManifests
import Testing

@Suite("meridian plan and drill")
struct PlanCommandTests {
    static func temp() throws -> URL {
        let dir = URL(fileURLWithPath: "/tmp/mp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The example fleet's converged state, as a snapshot file.
    static func convergedSnapshot(in dir: URL) throws -> String {
        let loaded = try DirectorySource(root: CLI.root.appendingPathComponent("manifests").path).load()
        let plan = Planner.plan(loaded.state, fences: loaded.fences, observed: ObservedState(),
                                source: PlanSource(commit: nil, digest: "", path: "manifests"))
        let converged = PlanSimulator.apply(plan, to: ObservedState(), state: loaded.state)
        let path = dir.appendingPathComponent("observed.json").path
        try Data(ObservedSnapshot.encode(converged).utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("plan --format json: the SPEC §4 document on stdout; --detailed-exitcode says 2 for changes, 0 for none")
    func json() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.json")
        try Data(#"{"formatVersion": 1, "regions": {}}"#.utf8).write(to: empty)
        let r = try CLI.run(["plan", "--observed", empty.path, "--format", "json", "--detailed-exitcode"])
        #expect(r.status == 2, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(doc["formatVersion"] as? Int == 1)
        let source = try #require(doc["source"] as? [String: Any])
        #expect(source["commit"] is NSNull)
        #expect((source["digest"] as? String)?.hasPrefix("sha256:") == true)
        #expect(source["path"] as? String == "manifests")
        let actions = try #require(doc["actions"] as? [[String: Any]])
        let summary = try #require(doc["summary"] as? [String: Int])
        #expect(summary.values.reduce(0, +) == actions.count)
        #expect(Set(summary.keys) == ["purge", "stage-artifact", "deploy", "set-traffic", "undeploy", "delete-artifact"])
        #expect(actions.allSatisfy { $0["id"] is String && $0["dependsOn"] is [String] && $0["reason"] is String })

        let again = try CLI.run(["plan", "--observed", empty.path, "--format", "json"])
        #expect(again.stdout == r.stdout, "byte-identical")

        let converged = try Self.convergedSnapshot(in: dir)
        let none = try CLI.run(["plan", "--observed", converged, "--detailed-exitcode"])
        #expect(none.status == 0)
        #expect(none.stdout.hasPrefix("No changes"))
    }

    @Test("a snapshot region no manifest declares is named in a warning with what it holds; nothing is planned there and the plan is unchanged")
    func undeclaredObservedRegion() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let converged = try Self.convergedSnapshot(in: dir)
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: converged))) as? [String: Any])
        var regions = try #require(doc["regions"] as? [String: Any])
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        regions["mars-1"] = ["reachable": true, "generation": 3, "jurisdiction": "eu",
                             "artifacts": ["eu-assistant-lora": ["digest": digest], "scratch": ["digest": digest]],
                             "deployments": ["eu-assistant": ["model": "eu-assistant", "version": "1", "replicas": 1, "ready": 1]],
                             "traffic": [:] as [String: Any]] as [String: Any]
        regions["moon-2"] = ["reachable": true, "artifacts": [:] as [String: Any], "deployments": [:] as [String: Any], "traffic": [:] as [String: Any]] as [String: Any]
        doc["regions"] = regions
        let extra = dir.appendingPathComponent("extra.json")
        try JSONSerialization.data(withJSONObject: doc).write(to: extra)
        let r = try CLI.run(["plan", "--observed", extra.path, "--detailed-exitcode"])
        #expect(r.status == 0, "nothing to do in the declared regions: \(r)")
        #expect(r.stdout.hasPrefix("No changes"), "\(r.stdout)")
        #expect(r.stderr.contains("warning: \(extra.path): region 'mars-1' is observed but no manifest declares it, so Meridian cannot reach it and plans nothing there; what it holds stays as it is: 2 artifacts (eu-assistant-lora, scratch), 1 deployment"), "\(r.stderr)")
        #expect(r.stderr.contains("region 'moon-2' is observed but no manifest declares it, so Meridian cannot reach it and plans nothing there; it holds nothing"), "\(r.stderr)")
        let json = try CLI.run(["plan", "--observed", extra.path, "--format", "json"])
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((plan["actions"] as? [Any])?.isEmpty == true)
        #expect((plan["observedGenerations"] as? [String: Int])?["mars-1"] == nil, "a plan records only regions it touches")
        // A snapshot of declared regions alone warns of nothing.
        let clean = try CLI.run(["plan", "--observed", converged])
        #expect(!clean.stderr.contains("no manifest declares"), "\(clean.stderr)")
    }

    @Test("--out writes the plan to a file and nothing to stdout")
    func outFile() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("plan.md")
        let r = try CLI.run(["plan", "--observed", try Self.convergedSnapshot(in: dir), "--format", "markdown", "--out", out.path])
        #expect(r.status == 0 && r.stdout.isEmpty)
        #expect(try String(contentsOf: out, encoding: .utf8).hasPrefix("## Meridian plan"))
    }

    @Test("--out writes through a symbolic link and into a FIFO, and replaces neither")
    func outSpecialFiles() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let snapshot = try Self.convergedSnapshot(in: dir)
        // A symbolic link: the target gets the plan, the link stays a link.
        let real = dir.appendingPathComponent("real.json"), link = dir.appendingPathComponent("link.json")
        try Data("old".utf8).write(to: real)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: real.path)
        let r = try CLI.run(["plan", "--observed", snapshot, "--format", "json", "--out", link.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == real.path)
        #expect(try String(contentsOf: real, encoding: .utf8).contains("\"formatVersion\": 1"))
        // A FIFO (what `--out /dev/stdout` or a shell's `>(...)` is): a reader gets the plan and
        // the FIFO is still a FIFO, as /dev/null stays a device.
        let fifo = dir.appendingPathComponent("plan.fifo"), captured = dir.appendingPathComponent("captured.json")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/sh")
        reader.arguments = ["-c", "cat '\(fifo.path)' > '\(captured.path)'"]
        try reader.run()
        let f = try CLI.run(["plan", "--observed", snapshot, "--format", "json", "--out", fifo.path])
        reader.waitUntilExit()
        #expect(f.status == 0, "\(f.stderr)")
        let kind = try FileManager.default.attributesOfItem(atPath: fifo.path)[.type] as? FileAttributeType
        #expect(kind != nil && kind != .typeRegular, "the FIFO was replaced by a \(String(describing: kind))")
        #expect(try String(contentsOf: captured, encoding: .utf8).contains("\"formatVersion\": 1"))
        // A regular file is replaced whole (through a temporary file beside it, renamed over it),
        // and nothing else is left in the directory; a directory that cannot take the file fails
        // with exit 3 and leaves nothing behind.
        let plain = dir.appendingPathComponent("plain.json")
        try Data("old".utf8).write(to: plain)
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        let p = try CLI.run(["plan", "--observed", snapshot, "--format", "json", "--out", plain.path])
        #expect(p.status == 0, "\(p.stderr)")
        let written = try Data(contentsOf: plain)
        #expect((try JSONSerialization.jsonObject(with: written) as? [String: Any])?["formatVersion"] as? Int == 1)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == before)
        let missing = dir.appendingPathComponent("no-such-dir/plan.json")
        let m = try CLI.run(["plan", "--observed", snapshot, "--format", "json", "--out", missing.path])
        #expect(m.status == 3 && m.stderr.contains("no-such-dir/plan.json"), "\(m.status) \(m.stderr)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)) == before)
    }

    @Test("drill --fail: the primary's failure promotes its standby; an unknown region is an error")
    func drill() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let snapshot = try Self.convergedSnapshot(in: dir)
        let r = try CLI.run(["drill", "--fail", "eu-west", "--observed", snapshot])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("scale eu-assistant in eu-central from 1 to 4 replicas (standby promoted because primary eu-west is down (drill))"))
        #expect(r.stdout.contains("deploy"))
        let sa = try CLI.run(["drill", "--fail", "sa-dammam,sa-jeddah", "--observed", snapshot])
        #expect(sa.stdout.contains("sa-assistant: 1 of 1 replicas for sa-dammam cannot be placed"))
        let bad = try CLI.run(["drill", "--fail", "mars-1"])
        #expect(bad.status == 64 && bad.stderr.contains("no such region: mars-1"), "a usage error, not invalid manifests: \(bad)")
    }

    @Test("an empty source is refused unless --allow-empty; invalid manifests and a bad snapshot plan nothing")
    func refusals() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = try CLI.run(["plan", dir.path])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("holds no manifests; refusing"))
        #expect(try CLI.run(["plan", dir.path, "--allow-empty"]).status == 0)

        try Data("apiVersion: meridian/v1\nkind: Region\nmetadata: {name: r}\nspec: {}\n".utf8).write(to: dir.appendingPathComponent("r.yaml"))
        let invalid = try CLI.run(["plan", dir.path])
        #expect(invalid.status == 1 && invalid.stdout.isEmpty && invalid.stderr.contains("nothing was planned"))

        let snapshot = dir.appendingPathComponent("bad.json")
        try Data(#"{"formatVersion": 2, "regions": {}}"#.utf8).write(to: snapshot)
        let bad = try CLI.run(["plan", "--observed", snapshot.path])
        #expect(bad.status == 3 && bad.stderr.contains("formatVersion 2 is not supported"))
        let directory = try CLI.run(["plan", "--observed", dir.path])
        #expect(directory.status == 3 && directory.stderr.contains("\(dir.path): is a directory, not a snapshot file"), "\(directory)")
    }

    @Test("plan --base: the pull-request comment names a change that leaves a placement with no in-fence failover")
    func pullRequest() throws {
        let dir = try ValidateRepoCommandTests.repository()
        defer { try? FileManager.default.removeItem(at: dir) }
        let topologies = dir.appendingPathComponent("fleet/topologies.yaml")
        let text = try String(contentsOf: topologies, encoding: .utf8).replacingOccurrences(of: "  failover: [sa-jeddah]\n", with: "")
        try Data(text.utf8).write(to: topologies)
        for args in [["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "drop sa failover"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git"] + args
            p.currentDirectoryURL = dir
            try p.run()
            p.waitUntilExit()
        }
        let empty = dir.appendingPathComponent("empty.json")
        try Data(#"{"formatVersion": 1, "regions": {}}"#.utf8).write(to: empty)
        let r = try CLI.run(["plan", "--repo", dir.path, "--ref", "main", "--base", "main~1", "--path", "fleet",
                             "--observed", empty.path, "--format", "markdown"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("## Meridian plan for this change"))
        #expect(r.stdout.contains("### Failover drill"))
        #expect(r.stdout.contains("⚠️ **This change leaves placements without an in-fence failover:**"))
        #expect(r.stdout.contains("- if sa-dammam fails, **sa-assistant**"))
        // Only the dropped failover is a regression: the base plan already deployed the rest.
        #expect(!r.stdout.contains("if eu-west fails, **eu-assistant**"))
        // Markdown is the pull request's default (SPEC §6: "as a markdown comment"), even with --out.
        let comment = dir.appendingPathComponent("comment.md")
        let byDefault = try CLI.run(["plan", "--repo", dir.path, "--ref", "main", "--base", "main~1", "--path", "fleet",
                                     "--observed", empty.path, "--out", comment.path])
        #expect(byDefault.status == 0, "\(byDefault.stderr)")
        #expect(try String(contentsOf: comment, encoding: .utf8) == r.stdout)
        // Text on request, with the change it describes on top.
        let asText = try CLI.run(["plan", "--repo", dir.path, "--ref", "main", "--base", "main~1", "--path", "fleet",
                                "--observed", empty.path, "--format", "text"])
        #expect(asText.status == 0, "\(asText.stderr)")
        #expect(asText.stdout.hasPrefix("Change `main~1` ("), "\(asText.stdout.prefix(300))")
        #expect(asText.stdout.contains("fences checked on both sides.\n\nPlan for fleet"), "\(asText.stdout.prefix(300))")
        #expect(!asText.stdout.contains("## Meridian plan"))
    }
}

@Suite("plan text colour")
struct PlanColourTests {
    /// Runs `meridian plan` under a pseudo-terminal (util-linux `script`), as a person would.
    func planOnTTY(noColor: Bool) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let env = noColor ? "NO_COLOR=1 " : ""
        p.arguments = ["-qec", "\(env)\(CLI.binary.path) plan manifests", "/dev/null"]
        // A directory of its own: the checkout may hold local regions a demo converged.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-tty-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: CLI.root.appendingPathComponent("manifests"), to: dir.appendingPathComponent("manifests"))
        p.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = nil
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("colour on a terminal, none with NO_COLOR, none when piped")
    func colour() throws {
        #expect(try planOnTTY(noColor: false).contains("\u{1B}[32mdeploy"))
        let plain = try planOnTTY(noColor: true)
        #expect(plain.contains("deploy") && !plain.contains("\u{1B}["))
        #expect(!(try CLI.run(["plan"]).stdout.contains("\u{1B}[")))
    }
}
