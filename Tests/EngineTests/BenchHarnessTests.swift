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
        for name in ["validate", "coldPlan", "incremental", "planConverged", "pyyaml", "cliPlan"] {
            let f = try #require(figures[name], "\(name) is reported")
            let seconds = try #require(f["seconds"] as? Double)
            let ratio = try #require(f["ratioToFloor"] as? Double)
            #expect(seconds > 0 && abs(ratio - seconds / floor) < 1e-9, "\(name): \(f)")
        }
        #expect((figures["peakRSS"]?["bytes"] as? Int ?? 0) > 1_000_000)
        #expect((figures["apply"]?["actions"] as? Int ?? 0) > 100, "the apply benchmark ran a real plan against agents")
        #expect((figures["apply"]?["actionsPerSecond"] as? Double ?? 0) > 0)
        #expect((figures["executorOverhead"]?["secondsPerAction"] as? Double ?? 0) > 0)
    }
}
