internal import MeridianCore
internal import Foundation
internal import GRDB

/// The journal and ledger in one SQLite file (`.meridian/state.db` unless `--state sqlite:PATH`).
/// One writer at a time: the store holds an exclusive advisory lock on `<path>.lock` for its
/// whole life, so a second `apply` or controller on the same state is refused, not interleaved.
public final class SQLiteStateStore: StateStore, @unchecked Sendable {
    public let path: String
    let queue: DatabaseQueue
    private let lockFD: Int32

    /// `exclusive`: take the writer's lock (apply, controller). Reading the ledger does not need it.
    public init(path: String, exclusive: Bool = true) throws(StoreError) {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var fd: Int32 = -1
        if exclusive {
            fd = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw StoreError("cannot open \(path).lock: \(String(cString: strerror(errno)))") }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                var buf = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buf, 31, 0)
                let holder = n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
                close(fd)
                throw StoreError("\(path) is in use by another Meridian process (pid \(holder)); with SQLite state only one apply or controller may run at a time (use --state postgres://… for several replicas)")
            }
            ftruncate(fd, 0)
            let pid = "\(getpid())\n"
            _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        }
        lockFD = fd
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            queue = try DatabaseQueue(path: path, configuration: config)
            try Self.migrator.migrate(queue)
        } catch {
            if fd >= 0 { close(fd) }
            throw StoreError("\(path): \(error)")
        }
    }

    deinit {
        if lockFD >= 0 {
            flock(lockFD, LOCK_UN)
            close(lockFD)
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    nonce TEXT NOT NULL,
                    plan TEXT NOT NULL,
                    plan_digest TEXT NOT NULL,
                    source_commit TEXT,
                    source_digest TEXT NOT NULL,
                    status TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    finished_at TEXT
                );
                CREATE TABLE journal (
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    action TEXT NOT NULL,
                    entry TEXT NOT NULL,
                    PRIMARY KEY (run_id, action)
                );
                CREATE TABLE ledger (
                    seq INTEGER PRIMARY KEY,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    body TEXT NOT NULL
                );
                CREATE TABLE ledger_head (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL,
                    hash TEXT NOT NULL
                );
                """)
        }
        m.registerMigration("v2-status") { db in
            try db.execute(sql: """
                CREATE TABLE status (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, suspended INTEGER NOT NULL DEFAULT 0);
                INSERT INTO status (id, body) VALUES (1, '{}');
                """)
        }
        return m
    }

    private func run(_ row: Row) -> JournalRun {
        JournalRun(id: row["id"], nonce: row["nonce"], plan: row["plan"], planDigest: row["plan_digest"], commit: row["source_commit"],
                   sourceDigest: row["source_digest"], startedAt: row["started_at"])
    }

    func wrap<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw StoreError("\(path): \(error)") }
    }

    public func unfinishedRun() async throws(StoreError) -> JournalRun? {
        try wrap {
            try queue.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1").map(run)
            }
        }
    }

    public func beginRun(plan: String, planDigest: String, commit: String?, sourceDigest: String, startedAt: String) async throws(StoreError) -> JournalRun {
        let nonce = UUID().uuidString.lowercased()
        return try wrap {
            try queue.write { db in
                try db.execute(sql: "UPDATE runs SET status = 'abandoned' WHERE status = 'running'")
                try db.execute(sql: """
                    INSERT INTO runs (nonce, plan, plan_digest, source_commit, source_digest, status, started_at)
                    VALUES (?, ?, ?, ?, ?, 'running', ?)
                    """, arguments: [nonce, plan, planDigest, commit, sourceDigest, startedAt])
                return JournalRun(id: db.lastInsertedRowID, nonce: nonce, plan: plan, planDigest: planDigest, commit: commit,
                                  sourceDigest: sourceDigest, startedAt: startedAt)
            }
        }
    }

    public func record(run: JournalRun, entry: JournalEntry) async throws(StoreError) {
        let text = entry.json
        try wrap {
            try queue.write { db in
                // Prepared once per connection, not parsed again for every entry.
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO journal (run_id, action, entry) VALUES (?, ?, ?)")
                    .execute(arguments: [run.id, entry.action, text])
            }
        }
    }

    public func entries(run: JournalRun) async throws(StoreError) -> [String: JournalEntry] {
        let rows = try wrap { try queue.read { db in try Row.fetchAll(db, sql: "SELECT entry FROM journal WHERE run_id = ?", arguments: [run.id]) } }
        var out: [String: JournalEntry] = [:]
        for row in rows {
            let text: String = row["entry"]
            guard let e = try? JSONDecoder().decode(JournalEntry.self, from: Data(text.utf8)) else {
                throw StoreError("\(path): a journal entry of run \(run.id) is not readable")
            }
            out[e.action] = e
        }
        return out
    }

    public func finishRun(_ run: JournalRun, status: JournalRun.Status) async throws(StoreError) {
        try wrap {
            try queue.write { db in
                try db.execute(sql: "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                               arguments: [status.rawValue, Clock.now(), run.id])
            }
        }
    }

    public func appendLedger(_ body: LedgerBody) async throws(StoreError) -> LedgerEntry {
        let text = body.canonicalJSON
        return try wrap {
            try queue.write { db in
                let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1")
                let seq: Int64 = (last?["seq"] ?? 0) + 1
                let prev: String = last?["hash"] ?? LedgerEntry.genesis
                let entry = LedgerEntry(seq: seq, prevHash: prev, hash: LedgerEntry.hash(prev: prev, body: text), body: text)
                try db.execute(sql: "INSERT INTO ledger (seq, prev_hash, hash, body) VALUES (?, ?, ?, ?)",
                               arguments: [entry.seq, entry.prevHash, entry.hash, entry.body])
                try db.execute(sql: "INSERT OR REPLACE INTO ledger_head (id, seq, hash) VALUES (1, ?, ?)", arguments: [entry.seq, entry.hash])
                return entry
            }
        }
    }

    public func ledger() async throws(StoreError) -> (entries: [LedgerEntry], head: LedgerHead?) {
        try wrap {
            try queue.read { db in
                let entries = try Row.fetchAll(db, sql: "SELECT seq, prev_hash, hash, body FROM ledger ORDER BY seq").map {
                    LedgerEntry(seq: $0["seq"], prevHash: $0["prev_hash"], hash: $0["hash"], body: $0["body"])
                }
                let head = try Row.fetchOne(db, sql: "SELECT seq, hash FROM ledger_head WHERE id = 1").map {
                    LedgerHead(seq: $0["seq"], hash: $0["hash"])
                }
                return (entries, head)
            }
        }
    }
}

extension SQLiteStateStore {
    /// The file lock taken at init is the lease: the one process that holds it leads.
    public func acquireOrRenew(ttl: Double) async throws(StoreError) -> Int64? { 1 }
    public func release() async {}

    public func writeStatus(_ json: String) async throws(StoreError) {
        try wrap { try queue.write { db in try db.execute(sql: "UPDATE status SET body = ? WHERE id = 1", arguments: [json]) } }
    }

    public func status() async throws(StoreError) -> (body: String, suspended: Bool) {
        try wrap {
            try queue.read { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT body, suspended FROM status WHERE id = 1") else { return ("{}", false) }
                return (row["body"], (row["suspended"] as Int) != 0)
            }
        }
    }

    public func setSuspended(_ suspended: Bool) async throws(StoreError) {
        try wrap { try queue.write { db in try db.execute(sql: "UPDATE status SET suspended = ? WHERE id = 1", arguments: [suspended ? 1 : 0]) } }
    }

    // One replica: its webhook wakes it directly.
    public func requestCycle() async throws(StoreError) {}
    public func takeCycleRequest() async throws(StoreError) -> Bool { false }

    public func ping() async -> Bool { (try? wrap { try queue.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }) == 1 }
}

/// Wall-clock timestamps for records (RFC 3339, UTC, milliseconds).
public enum Clock {
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &t)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }

    /// Seconds on a monotonic clock, for durations.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
