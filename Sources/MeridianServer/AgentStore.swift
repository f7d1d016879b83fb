internal import Foundation
internal import GRDB
internal import MeridianAdapters
internal import MeridianCore

/// The region agent's SQLite schema and its reads and writes. A region is kept as one row per
/// artifact, deployment, route, hold and accelerator type, so a command writes only the rows it
/// changed. (Schema v1 kept the whole region as one JSON document, written again by every
/// command: an execute took 1.5 ms in the first thousand artifacts staged, 18.6 ms in the tenth.)
enum AgentStore {
    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE region (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, state TEXT NOT NULL);
                CREATE TABLE executions (key TEXT PRIMARY KEY, applied INTEGER NOT NULL, requests INTEGER NOT NULL, generation INTEGER NOT NULL);
                """)
        }
        m.registerMigration("v2: one row per object") { db in
            try db.execute(sql: """
                CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL, reachable INTEGER NOT NULL,
                                   generation INTEGER NOT NULL, jurisdiction TEXT, capacity_reported INTEGER NOT NULL);
                CREATE TABLE capacity (type TEXT PRIMARY KEY, total INTEGER NOT NULL, free INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE artifacts (name TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE deployments (placement TEXT PRIMARY KEY, model TEXT NOT NULL, version TEXT NOT NULL,
                                          replicas INTEGER NOT NULL, ready INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE traffic (placement TEXT PRIMARY KEY, weight INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE held (placement TEXT PRIMARY KEY, type TEXT NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID;
                """)
            // A v1 store's region moves into the new tables as it stands.
            if let row = try Row.fetchOne(db, sql: "SELECT state FROM region WHERE id = 1") {
                let r = try JSONDecoder().decode(SimulatedRegion.self, from: Data((row["state"] as String).utf8))
                try insert(r, db)
            }
            try db.execute(sql: "DROP TABLE region")
        }
        return m
    }

    /// The stored region, or nil in a new store.
    static func load(_ db: Database) throws -> SimulatedRegion? {
        guard let meta = try Row.fetchOne(db, sql: "SELECT name, reachable, generation, jurisdiction, capacity_reported FROM meta WHERE id = 1") else {
            return nil
        }
        var r = SimulatedRegion(name: meta["name"], jurisdiction: "", accelerators: [:])
        var o = RegionObservation(reachable: meta["reachable"], generation: meta["generation"], jurisdiction: meta["jurisdiction"])
        if meta["capacity_reported"] as Bool {
            var capacity: [String: AcceleratorCapacity] = [:]
            try each(db, "SELECT type, total, free FROM capacity") { row in
                capacity[row["type"]] = AcceleratorCapacity(total: row["total"], free: row["free"])
            }
            o.capacity = capacity
        }
        try each(db, "SELECT name, digest FROM artifacts") { row in
            o.artifacts[row["name"]] = ObservedArtifact(digest: row["digest"])
        }
        try each(db, "SELECT placement, model, version, replicas, ready FROM deployments") { row in
            o.deployments[row["placement"]] = ObservedDeployment(model: row["model"], version: row["version"], replicas: row["replicas"], ready: row["ready"])
        }
        try each(db, "SELECT placement, weight FROM traffic") { row in
            o.traffic[row["placement"]] = row["weight"]
        }
        try each(db, "SELECT placement, type, count FROM held") { row in
            r.held[row["placement"]] = AcceleratorDemand(type: row["type"], count: row["count"])
        }
        r.observation = o
        return r
    }

    private static func each(_ db: Database, _ sql: String, _ body: (Row) throws -> Void) throws {
        let rows = try Row.fetchCursor(db, sql: sql)
        while let row = try rows.next() { try body(row) }
    }

    /// Writes a whole region into empty tables (a new store, or a v1 store migrating).
    static func insert(_ r: SimulatedRegion, _ db: Database) throws {
        let o = r.observation
        try db.execute(sql: "INSERT INTO meta (id, name, reachable, generation, jurisdiction, capacity_reported) VALUES (1, ?, ?, ?, ?, ?)",
                       arguments: [r.name, o.reachable, o.generation, o.jurisdiction, o.capacity != nil])
        for (type, c) in o.capacity ?? [:] { try putCapacity(type, c, db) }
        for (a, copy) in o.artifacts { try putArtifact(a, copy, db) }
        for (p, d) in o.deployments { try putDeployment(p, d, db) }
        for (p, w) in o.traffic { try putTraffic(p, w, db) }
        for (p, h) in r.held { try putHeld(p, h, db) }
    }

    /// What one change can touch of a region: its scalars and capacity (a handful of values),
    /// and the named artifacts and placements. Taken before and after a change, in O(1) of the
    /// region's size: a whole copy of the region, mutated, would copy its dictionaries.
    struct Slice {
        var reachable: Bool
        var generation: Int
        var jurisdiction: String?
        var capacity: [String: AcceleratorCapacity]?
        var artifacts: [String]
        var copies: [ObservedArtifact?]
        var placements: [String]
        var deployments: [ObservedDeployment?]
        var traffic: [Int?]
        var held: [AcceleratorDemand?]

        init(_ r: SimulatedRegion, artifacts: [String], placements: [String]) {
            let o = r.observation
            (reachable, generation, jurisdiction, capacity) = (o.reachable, o.generation, o.jurisdiction, o.capacity)
            self.artifacts = artifacts
            copies = artifacts.map { o.artifacts[$0] }
            self.placements = placements
            deployments = placements.map { o.deployments[$0] }
            traffic = placements.map { o.traffic[$0] }
            held = placements.map { r.held[$0] }
        }

        /// Puts this slice back into `r` (after a change whose write failed).
        func restore(into r: inout SimulatedRegion) {
            (r.observation.reachable, r.observation.generation, r.observation.jurisdiction, r.observation.capacity) = (reachable, generation, jurisdiction, capacity)
            for (k, a) in artifacts.enumerated() { r.observation.artifacts[a] = copies[k] }
            for (k, p) in placements.enumerated() {
                r.observation.deployments[p] = deployments[k]
                r.observation.traffic[p] = traffic[k]
                r.held[p] = held[k]
            }
        }
    }

    /// Writes what changed from `old` to `new`, two slices of the same names taken before and
    /// after a change that touched nothing else.
    private static func save(_ new: Slice, from old: Slice, _ db: Database) throws {
        precondition(old.artifacts == new.artifacts && old.placements == new.placements, "slices of different names")
        if old.reachable != new.reachable || old.generation != new.generation || old.jurisdiction != new.jurisdiction || (old.capacity == nil) != (new.capacity == nil) {
            try db.cachedStatement(sql: "UPDATE meta SET reachable = ?, generation = ?, jurisdiction = ?, capacity_reported = ? WHERE id = 1")
                .execute(arguments: [new.reachable, new.generation, new.jurisdiction, new.capacity != nil])
        }
        if old.capacity != new.capacity {
            let before = old.capacity ?? [:], after = new.capacity ?? [:]
            for type in Set(before.keys).union(after.keys) where before[type] != after[type] {
                if let c = after[type] { try putCapacity(type, c, db) } else { try delete("capacity", "type", type, db) }
            }
        }
        for (k, a) in new.artifacts.enumerated() where old.copies[k] != new.copies[k] {
            if let copy = new.copies[k] { try putArtifact(a, copy, db) } else { try delete("artifacts", "name", a, db) }
        }
        for (k, p) in new.placements.enumerated() {
            if old.deployments[k] != new.deployments[k] {
                if let d = new.deployments[k] { try putDeployment(p, d, db) } else { try delete("deployments", "placement", p, db) }
            }
            if old.traffic[k] != new.traffic[k] {
                if let w = new.traffic[k] { try putTraffic(p, w, db) } else { try delete("traffic", "placement", p, db) }
            }
            if old.held[k] != new.held[k] {
                if let h = new.held[k] { try putHeld(p, h, db) } else { try delete("held", "placement", p, db) }
            }
        }
    }

    /// Changes `r` in place with `change`, which touches only the named artifacts and placements
    /// (and the scalars and capacity), and writes what changed. If `change` throws or the write
    /// fails, the slice is put back, so `r` is as it was, and the error is thrown.
    static func change<R>(_ r: inout SimulatedRegion, artifacts: [String], placements: [String], _ db: Database,
                          _ change: (inout SimulatedRegion) throws -> R) throws -> R {
        let before = Slice(r, artifacts: artifacts, placements: placements)
        do {
            let result = try change(&r)
            try save(Slice(r, artifacts: artifacts, placements: placements), from: before, db)
            return result
        } catch {
            before.restore(into: &r)
            throw error
        }
    }

    private static func putCapacity(_ type: String, _ c: AcceleratorCapacity, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO capacity (type, total, free) VALUES (?, ?, ?)").execute(arguments: [type, c.total, c.free])
    }

    private static func putArtifact(_ a: String, _ copy: ObservedArtifact, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO artifacts (name, digest) VALUES (?, ?)").execute(arguments: [a, copy.digest])
    }

    private static func putDeployment(_ p: String, _ d: ObservedDeployment, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO deployments (placement, model, version, replicas, ready) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [p, d.model, d.version, d.replicas, d.ready])
    }

    private static func putTraffic(_ p: String, _ w: Int, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO traffic (placement, weight) VALUES (?, ?)").execute(arguments: [p, w])
    }

    private static func putHeld(_ p: String, _ h: AcceleratorDemand, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO held (placement, type, count) VALUES (?, ?, ?)").execute(arguments: [p, h.type, h.count])
    }

    /// `table` and `column` are this file's constants, never input.
    private static func delete(_ table: String, _ column: String, _ key: String, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(column) = ?").execute(arguments: [key])
    }
}
