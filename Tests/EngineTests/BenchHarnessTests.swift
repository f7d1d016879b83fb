import Foundation
import Testing

@Suite("benchmark harness")
struct BenchHarnessTests {
    @Test("the small preset runs end to end and writes every figure, each with its ratio to the floor")
    func smallPreset() throws {
        let bench = Meridian.binary.deletingLastPathComponent().appendingPathComponent("meridian-bench")
        #expect(FileManager.default.isExecutableFile(atPath: bench.path), "meridian-bench is built next to meridian")
        let dir = try TempDir("meridian-bench-test")
        let json = dir.path + "/bench.json"
        let p = Process()
        p.executableURL = bench
        p.arguments = ["small", "--json", json]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let table = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(table)")
        #expect(table.contains("(a) floor") && table.contains("(g) apply"), "\(table)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect(doc["preset"] as? String == "small")
        #expect((doc["objects"] as? Int ?? 0) > 400)
        let figures = try #require(doc["figures"] as? [String: [String: Any]])
        let floor = try #require(figures["floor"]?["seconds"] as? Double)
        #expect(floor > 0)
        for name in ["validate", "fences", "structuralChecks", "coldPlan", "incremental", "incrementalPlacement", "planConverged", "pyyaml", "cliPlan", "pullRequestComment",
                     "apply", "executorOverhead"] {
            let f = try #require(figures[name], "\(name) is reported")
            let seconds = try #require(f["seconds"] as? Double)
            let ratio = try #require(f["ratioToFloor"] as? Double)
            #expect(seconds > 0 && abs(ratio - seconds / floor) < 1e-9, "\(name): \(f)")
        }
        // A placement edit plans its own part again and takes the others over from the last plan.
        let parts = figures["incrementalPlacement"]?["planParts"] as? Int ?? 0, reused = figures["incrementalPlacement"]?["planPartsReused"] as? Int ?? -1
        #expect(parts > 1 && reused >= 1 && reused < parts, "\(parts) parts, \(reused) taken over")
        // ... and its load takes the last fence analysis over; a jurisdiction added does not.
        #expect(figures["incrementalPlacement"]?["fencesReused"] as? Bool == true)
        #expect(figures["incremental"]?["fencesReused"] as? Bool == false)
        // A placement edit runs only the placements' structural checks again.
        #expect(figures["incrementalPlacement"]?["structuralChecksReused"] as? Int == 7)
        #expect(figures["incrementalPlacement"]?["fenceChecksReused"] as? Int == 2 && figures["incremental"]?["fenceChecksReused"] as? Int == 0)
        #expect((figures["peakRSS"]?["bytes"] as? Int ?? 0) > 1_000_000)
        #expect((figures["apply"]?["actions"] as? Int ?? 0) > 100, "the apply benchmark ran a real plan against agents")
        #expect((figures["apply"]?["actionsPerSecond"] as? Double ?? 0) > 0)
        #expect((figures["executorOverhead"]?["secondsPerAction"] as? Double ?? 0) > 0)
    }

    static var bench: URL { Meridian.binary.deletingLastPathComponent().appendingPathComponent("meridian-bench") }

    /// Runs `meridian-bench` to completion.
    static func runBench(_ arguments: [String]) throws -> Meridian.Result {
        let p = Process()
        p.executableURL = bench
        p.arguments = arguments
        return try Meridian.collect(p)
    }

    @Test("the generator takes its parameters from options: the fleet it writes has those counts and that lineage depth, and validates")
    func generatorParameters() throws {
        let dir = try TempDir("meridian-bench-generate")
        let into = dir.path + "/fleet", json = dir.path + "/fleet.json"
        let r = try Self.runBench(["small", "--generate", into, "--json", json, "--jurisdictions", "3", "--regions", "10", "--base-artifacts", "4",
                                   "--artifacts", "61", "--max-parents", "2", "--lineage-depth", "6", "--models", "10", "--topologies", "7",
                                   "--placements", "11", "--objects-per-file", "7"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("custom (from small) fleet"), "\(r)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let fleet = try #require(doc["fleet"] as? [String: Any])
        // Shares that do not divide evenly go one each to the first jurisdictions: nothing is dropped.
        #expect(fleet["jurisdictions"] as? Int == 3)
        #expect(fleet["regions"] as? Int == 10)
        #expect(fleet["artifacts"] as? Int == 61 + 4)
        #expect(fleet["models"] as? Int == 10)
        #expect(fleet["topologies"] as? Int == 7)
        #expect(fleet["placements"] as? Int == 11)
        #expect(fleet["lineageDepth"] as? Int == 6)

        // The depth, measured on the files written: the longest derivedFrom chain from a base.
        var parents: [String: [String]] = [:]
        var files = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: into + "/repo/fleet") where name.hasSuffix(".yaml") {
            files += 1
            var current: String?
            for line in try String(contentsOfFile: into + "/repo/fleet/" + name, encoding: .utf8).split(separator: "\n") {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("name: a-") { current = String(t.dropFirst(6)) }
                if t.hasPrefix("derivedFrom: ["), let c = current {
                    parents[c] = t.dropFirst(14).dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    current = nil
                }
            }
        }
        #expect(parents.count == 61)
        #expect(files == (3 * 3 + 10 + 4 + 61 + 10 + 7 + 11 + 6) / 7, "every object in files of 7")
        var memo: [String: Int] = [:]
        func depth(_ a: String) -> Int {
            if let d = memo[a] { return d }
            let d = 1 + ((parents[a] ?? []).filter { $0.hasPrefix("a-") }.map(depth).max() ?? 0)
            memo[a] = d
            return d
        }
        #expect(parents.keys.map(depth).max() == 6)

        let valid = try Meridian.run(["validate", "--repo", into + "/repo", "--ref", "main", "--path", "fleet"], in: dir.path)
        #expect(valid.status == 0, "\(valid)")
        // Half converged: the plan has work left, and it plans cleanly.
        let plan = try Meridian.run(["plan", "--repo", into + "/repo", "--ref", "main", "--path", "fleet", "--observed", into + "/observed.json",
                                     "--format", "json", "--detailed-exitcode"], in: dir.path)
        #expect(plan.status == 2, "the half-converged snapshot leaves changes: \(plan)")
    }

    @Test("the large preset is the fleet the benchmark issue asks for: about 100,000 objects and 50 MB of YAML, in at least 5,000 files, in a git repository that validates")
    func largePresetShape() throws {
        let dir = try TempDir("meridian-bench-large")
        let into = dir.path + "/fleet", json = dir.path + "/fleet.json"
        let r = try Self.runBench(["large", "--generate", into, "--json", json])
        #expect(r.status == 0, "\(r)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let fleet = try #require(doc["fleet"] as? [String: Any])
        let objects = try #require(fleet["objects"] as? Int), bytes = try #require(fleet["yamlBytes"] as? Int), files = try #require(fleet["files"] as? Int)
        #expect((95_000 ... 105_000).contains(objects), "\(objects) objects")
        #expect((45_000_000 ... 55_000_000).contains(bytes), "\(bytes) bytes of YAML")
        #expect(files >= 5_000, "\(files) files")
        // Counted on disk, not taken from the generator's word for it.
        let written = try FileManager.default.contentsOfDirectory(atPath: into + "/repo/fleet").filter { $0.hasSuffix(".yaml") }
        #expect(written.count == files)
        let valid = try Meridian.run(["validate", "--repo", into + "/repo", "--ref", "main", "--path", "fleet"], in: dir.path)
        #expect(valid.status == 0, "\(valid)")
        #expect(valid.stdout.contains("\(objects) objects") || valid.stderr.contains("\(objects) objects"), "\(valid)")
    }

    @Test("bad generator parameters are refused with exit 2, naming the option, and nothing is generated")
    func badParameters() throws {
        let dir = try TempDir("meridian-bench-bad")
        let into = dir.path + "/fleet"
        for (args, says) in [(["--lineage-depth", "0"], "--lineage-depth 0"),
                             (["--artifacts", "many"], "--artifacts: expected a whole number"),
                             (["--jurisdictions", "4", "--models", "3"], "--models 3: must be from 4"),
                             (["--lineage-depth", "5", "--max-parents", "0"], "needs --max-parents of at least 1"),
                             (["--artifacts", "20", "--lineage-depth", "30"], "needs 30 artifacts in one jurisdiction"),
                             (["--jurisdictions", "4", "--regions", "11"], "--regions 11: must be from 12"),
                             (["--regions"], "unknown option '--regions'"),
                             (["--frobnicate", "1"], "unknown option '--frobnicate'")] {
            let r = try Self.runBench(["small", "--generate", into] + args)
            #expect(r.status == 2, "\(args): \(r)")
            #expect(r.stderr.contains(says), "\(args): \(r)")
            #expect(!FileManager.default.fileExists(atPath: into), "\(args): nothing is generated")
        }
    }
}
