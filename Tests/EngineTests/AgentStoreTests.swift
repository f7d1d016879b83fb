import Foundation
import GRDB
import MeridianAdapters
import MeridianCore
@testable import MeridianServer
import Synchronization
import Testing

/// The region agent's SQLite store (`AgentStore`): what it holds after any sequence of commands,
/// how much one command writes, and a v1 store's migration.
@Suite("agent store")
struct AgentStoreTests {
    static let artifacts = ["a", "b-1", "quote\"d", "é", "x/y", "w0", "w1", "w2"]
    static let placements = ["p", "q-1", "chat", "embed", "tab\tname", "r"]

    /// A random command for region r0 in jurisdiction zone: mostly inside its fence, sometimes
    /// not (refused), sometimes more than its accelerators hold (refused), sometimes traffic
    /// onto a deployment that is not ready (refused).
    static func randomCommand(_ n: Int) -> RegionCommand {
        let fence = Int.random(in: 0 ..< 10) == 0 ? ["elsewhere"] : ["zone"]
        let a = artifacts.randomElement()!, p = placements.randomElement()!
        var c = RegionCommand(type: .stageArtifact, region: "r0", actionID: "act-\(n)", fence: fence)
        switch Int.random(in: 0 ..< 7) {
        case 0, 1:
            c.artifact = a
            c.digest = "sha256:" + String(Int.random(in: 0 ... 3))
        case 2:
            c.type = .deleteArtifact
            c.artifact = a
        case 3:
            c.type = .purge
            if Bool.random() { c.artifact = a }
            if Bool.random() || c.artifact == nil { c.placement = p }
        case 4:
            c.type = .deploy
            c.placement = p
            c.model = "m-" + p
            c.version = "1.0.\(Int.random(in: 0 ... 2))"
            c.replicas = Int.random(in: 0 ... 3)
            if Bool.random() { c.accelerator = AcceleratorDemand(type: "h100", count: Int.random(in: 1 ... 2)) }
        case 5:
            c.type = .undeploy
            c.placement = p
        default:
            c.type = .setTraffic
            c.placement = p
            c.weight = Int.random(in: 0 ... 3) == 0 ? 0 : Int.random(in: 1 ... 100)
        }
        return c
    }

    static func config(_ dir: TempDir, readyAfter: Double) -> RegionAgent.Configuration {
        var c = RegionAgent.Configuration(region: "r0", jurisdiction: "zone", accelerators: ["h100": 8, "a100": 2],
                                          dataDirectory: dir.path + "/data", token: "store-test-token-0123456789")
        c.readyAfter = readyAfter
        return c
    }

    @Test("after every command of 40 random sequences the store holds exactly the region in memory, and a restarted agent starts from it")
    func storeFollowsEveryCommand() throws {
        var refused = 0, applied = 0, readied = 0
        for round in 0 ..< 40 {
            let dir = try TempDir("meridian-agent-store")
            // Half the rounds make deployments ready later, through `observation()`'s own write.
            let config = Self.config(dir, readyAfter: round % 2 == 0 ? 0 : 0.000_001)
            var memory: SimulatedRegion
            do {
                let agent = try RegionAgent(config)
                for n in 0 ..< 60 {
                    let request = AgentExecuteRequest(idempotencyKey: "key-\(round)-\(n % 50)", command: Self.randomCommand(n))
                    do {
                        _ = try agent.execute(request)
                        applied += 1
                    } catch { refused += 1 }
                    if Bool.random() {
                        let before = agent.region.withLock { $0 }
                        _ = try agent.observation()
                        if agent.region.withLock({ $0 }) != before { readied += 1 }
                    }
                    memory = agent.region.withLock { $0 }
                    let stored = try agent.db.read { try AgentStore.load($0) }
                    #expect(stored == memory, "round \(round), after command \(n): \(request.command)")
                }
                memory = agent.region.withLock { $0 }
            }
            let restarted = try RegionAgent(config)
            #expect(restarted.region.withLock { $0 } == memory, "round \(round): the restarted agent's region")
        }
        // The sequences did what they are for: effects, refusals, and later readiness.
        #expect(applied > 500 && refused > 100 && readied > 20, "applied \(applied), refused \(refused), readied \(readied)")
    }

    @Test("one command in a region of 2,000 artifacts writes only its own rows")
    func oneCommandWritesItsRows() throws {
        let dir = try TempDir("meridian-agent-store")
        let queue = try DatabaseQueue(path: dir.path + "/agent.db")
        try AgentStore.migrator().migrate(queue)
        var r = SimulatedRegion(name: "r0", jurisdiction: "zone", accelerators: ["h100": 8])
        for i in 0 ..< 2_000 { r.observation.artifacts["held-\(i)"] = ObservedArtifact(digest: "sha256:\(i)") }
        try queue.write { try AgentStore.insert(r, $0) }

        func rowsWritten(_ command: RegionCommand) throws -> Int {
            try queue.write { db in
                let start = db.totalChangesCount
                try AgentStore.change(&r, artifacts: command.artifact.map { [$0] } ?? [], placements: command.placement.map { [$0] } ?? [], db) {
                    try $0.applyOnce(command)
                }
                return db.totalChangesCount - start
            }
        }
        // The artifact's row, and the generation.
        #expect(try rowsWritten(RegionCommand(type: .stageArtifact, region: "r0", actionID: "s", artifact: "new", digest: "sha256:n", fence: ["zone"])) == 2)
        // The deployment, what it holds, the free count of its accelerator type, the generation.
        #expect(try rowsWritten(RegionCommand(type: .deploy, region: "r0", actionID: "d", placement: "p", model: "m", version: "1", replicas: 2,
                                              accelerator: AcceleratorDemand(type: "h100", count: 1), fence: ["zone"])) == 4)
        // A command that changes nothing writes nothing.
        #expect(try rowsWritten(RegionCommand(type: .deleteArtifact, region: "r0", actionID: "x", artifact: "never-held")) == 0)
        #expect(try queue.read { try AgentStore.load($0) } == r)
    }

    @Test("a change that fails, before or after it has changed the region, leaves the region and the store as they were")
    func failedChangeRestores() throws {
        struct Injected: Error {}
        let dir = try TempDir("meridian-agent-store")
        let queue = try DatabaseQueue(path: dir.path + "/agent.db")
        try AgentStore.migrator().migrate(queue)
        for _ in 0 ..< 50 {
            var r = AgentEncodingTests.randomRegion()
            r.executions = [:]
            r.keyOrder = []
            try queue.write { db in
                try db.execute(sql: "DELETE FROM meta; DELETE FROM capacity; DELETE FROM artifacts; DELETE FROM deployments; DELETE FROM traffic; DELETE FROM held")
                try AgentStore.insert(r, db)
            }
            let original = r
            let a = r.observation.artifacts.keys.randomElement() ?? "none", p = r.held.keys.randomElement() ?? "none"
            #expect(throws: Injected.self) {
                try queue.write { db in
                    try AgentStore.change(&r, artifacts: [a], placements: [p], db) { r in
                        r.observation.artifacts[a] = nil
                        r.observation.deployments[p] = ObservedDeployment(model: "m", version: "2", replicas: 9, ready: 0)
                        r.observation.traffic[p] = 7
                        r.held[p] = nil
                        r.observation.capacity = ["z100": AcceleratorCapacity(total: 1, free: 0)]
                        r.observation.generation += 1
                        r.observation.jurisdiction = "moved"
                        throw Injected()
                    }
                }
            }
            #expect(r == original)
            #expect(try queue.read { try AgentStore.load($0) } == original)
        }
    }

    @Test("applyOnce raises the generation exactly when the observation changed (2,000 random commands)")
    func generationFollowsTheObservation() throws {
        var r = SimulatedRegion(name: "r0", jurisdiction: "zone", accelerators: ["h100": 8, "a100": 2])
        var raised = 0, unchanged = 0
        for n in 0 ..< 2_000 {
            let before = r.observation
            do { try r.applyOnce(Self.randomCommand(n)) } catch { #expect(r.observation == before); continue }
            var after = r.observation
            let changed = after.generation != before.generation
            after.generation = before.generation
            #expect(changed == (after != before), "command \(n)")
            if changed { raised += 1 } else { unchanged += 1 }
        }
        #expect(raised > 300 && unchanged > 100, "raised \(raised), unchanged \(unchanged)")
    }

    @Test("the agent remembers only its newest idempotency keys, forgetting the oldest in batches of a tenth of the allowance")
    func keysAreBounded() throws {
        let dir = try TempDir("meridian-agent-store")
        var config = Self.config(dir, readyAfter: 0)
        config.rememberedKeys = 50
        let agent = try RegionAgent(config)
        func stage(_ n: Int) throws -> ExecutionResult {
            try agent.execute(AgentExecuteRequest(idempotencyKey: "key-\(n)", command: RegionCommand(
                type: .stageArtifact, region: "r0", actionID: "a\(n)", artifact: "w\(n % 8)", digest: "sha256:\(n)", fence: ["zone"])))
        }
        for n in 0 ..< 203 { _ = try stage(n) }
        // The 200th key (every fifth is a check) forgot keys 1 to 150; the 53 after them remain.
        #expect(Set(try agent.executions().keys) == Set((150 ..< 203).map { "key-\($0)" }))
        #expect(try stage(202).replayed, "the newest key is still known")
        #expect(try stage(0).replayed == false, "a forgotten key is executed again")
    }

    /// A store as the first agents wrote it: the region as one JSON document.
    static func v1Store(at path: String, region: SimulatedRegion, executions: [String: Int]) throws {
        let queue = try DatabaseQueue(path: path)
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE region (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, state TEXT NOT NULL);
                CREATE TABLE executions (key TEXT PRIMARY KEY, applied INTEGER NOT NULL, requests INTEGER NOT NULL, generation INTEGER NOT NULL);
                """)
        }
        try m.migrate(queue)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO region (id, name, state) VALUES (1, ?, ?)",
                           arguments: [region.name, String(decoding: try JSONEncoder().encode(region), as: UTF8.self)])
            for (key, generation) in executions {
                try db.execute(sql: "INSERT INTO executions (key, applied, requests, generation) VALUES (?, 1, 2, ?)", arguments: [key, generation])
            }
        }
    }

    @Test("a v1 store (the region as one JSON document) migrates: same region, same executions, the old table gone; re-attesting still counts")
    func migratesV1() throws {
        for reattest in [false, true] {
            let dir = try TempDir("meridian-agent-store")
            try FileManager.default.createDirectory(atPath: dir.path + "/data", withIntermediateDirectories: true)
            var region = AgentEncodingTests.randomRegion()
            region.name = "r0"
            region.observation.jurisdiction = reattest ? "old-zone" : "zone"
            // The v1 agent kept idempotency keys in their own table, never in the document.
            region.executions = [:]
            region.keyOrder = []
            try Self.v1Store(at: dir.path + "/data/agent.db", region: region, executions: ["k1": 3, "k2": 4])

            let agent = try RegionAgent(Self.config(dir, readyAfter: 0))
            var expected = region
            if reattest {
                expected.observation.jurisdiction = "zone"
                expected.observation.generation += 1
            }
            #expect(agent.region.withLock { $0 } == expected)
            #expect(try agent.db.read { try AgentStore.load($0) } == expected)
            #expect(try agent.executions() == ["k1": .init(applied: 1, requests: 2, generation: 3), "k2": .init(applied: 1, requests: 2, generation: 4)])
            #expect(try agent.db.read { try $0.tableExists("region") } == false)
        }
    }

    @Test("a store holding another region is refused, by name")
    func refusesAnotherRegion() throws {
        let dir = try TempDir("meridian-agent-store")
        _ = try RegionAgent(Self.config(dir, readyAfter: 0))
        var other = Self.config(dir, readyAfter: 0)
        other.region = "r1"
        #expect(throws: RegionAgent.Error.self) { try RegionAgent(other) }
        do { _ = try RegionAgent(other) } catch { #expect(error.description.contains("holds region r0, not r1"), "\(error)") }
    }
}
