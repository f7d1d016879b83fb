internal import MeridianCore
internal import Foundation
public import Logging
internal import PostgresNIO
internal import Synchronization

/// The journal, the ledger and the leader's lease in PostgreSQL, for a controller with several
/// replicas. Exactly one replica leads: the one holding the lease row. Taking the lease over
/// raises its fencing token, which only grows; every journal and ledger write checks, in its own
/// transaction and under a row lock on the lease, that the writer still holds the token it was
/// given. A deposed leader (paused, partitioned, too slow to renew) therefore cannot write.
public final class PostgresStateStore: StateStore, Sendable {
    public let url: String
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger: Logger
    /// Who this replica is, and the token it holds (0: not leading).
    public let holder: String
    let token = Atomic<Int64>(0)

    public var fencingToken: Int64 { token.load(ordering: .acquiring) }

    /// `url`: postgres://user:password@host:port/database (TLS is not negotiated: use a local or
    /// tunnelled server).
    /// `leaseTTL`: the server ends a session left idle inside a transaction for half of it, and
    /// a lock is waited for at most a third of it, so a paused or partitioned replica never
    /// holds the lease row's lock past its lease.
    public init(url: String, holder: String, logger: Logger, leaseTTL: Double = 15) async throws(StoreError) {
        guard let c = URLComponents(string: url), let host = c.host, ["postgres", "postgresql"].contains(c.scheme ?? "") else {
            throw StoreError("\(url): expected postgres://user:password@host:port/database")
        }
        let database = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        var config = PostgresClient.Configuration(host: host, port: c.port ?? 5432, username: c.user ?? "postgres", password: c.password,
                                                  database: database.isEmpty ? nil : database, tls: .disable)
        config.options.connectTimeout = .seconds(5)
        config.options.maximumConnections = 4
        let idle = max(500, Int(leaseTTL * 500)), lock = max(300, Int(leaseTTL * 1000 / 3))
        config.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "\(idle)"), ("lock_timeout", "\(lock)"), ("statement_timeout", "\(max(5000, lock * 3))"),
            ("application_name", "meridian \(holder)"),
        ]
        self.url = url
        self.holder = holder
        self.logger = logger
        client = PostgresClient(configuration: config)
        let client = self.client
        runner = Task { await client.run() }
        do {
            try await client.withTransaction(logger: logger) { conn in
                // Two replicas starting at once must not race on CREATE TABLE.
                try await conn.query("SELECT pg_advisory_xact_lock(7220417)", logger: logger)
                for statement in Self.schema { try await conn.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            }
        } catch {
            runner.cancel()
            throw StoreError("\(Self.redact(url)): \(String(reflecting: error))")
        }
    }

    deinit { runner.cancel() }

    static let schema = [
        "CREATE TABLE IF NOT EXISTS meridian_lease (id INT PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, token BIGINT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)",
        "INSERT INTO meridian_lease (id, holder, token, expires_at) VALUES (1, '', 0, now()) ON CONFLICT (id) DO NOTHING",
        """
        CREATE TABLE IF NOT EXISTS meridian_runs (id BIGSERIAL PRIMARY KEY, nonce TEXT NOT NULL, plan TEXT NOT NULL, plan_digest TEXT NOT NULL,
            source_commit TEXT, source_digest TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, token BIGINT NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS meridian_journal (run_id BIGINT NOT NULL, action TEXT NOT NULL, entry TEXT NOT NULL, token BIGINT NOT NULL, PRIMARY KEY (run_id, action))",
        "CREATE TABLE IF NOT EXISTS meridian_ledger (seq BIGINT PRIMARY KEY, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL, token BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS meridian_ledger_head (id INT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS meridian_status (id INT PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, suspended BOOLEAN NOT NULL DEFAULT false)",
        "INSERT INTO meridian_status (id, body) VALUES (1, '{}') ON CONFLICT (id) DO NOTHING",
        "ALTER TABLE meridian_status ADD COLUMN IF NOT EXISTS cycle_requested BOOLEAN NOT NULL DEFAULT false",
    ]

    static func redact(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return "postgres://…" }
        if c.password != nil { c.password = "***" }
        return c.string ?? "postgres://…"
    }

    @discardableResult
    private func wrap<T>(_ body: () async throws -> T) async throws(StoreError) -> T {
        do { return try await body() } catch let e as StoreError { throw e } catch {
            throw StoreError("\(Self.redact(url)): \(String(reflecting: error))")
        }
    }

    // MARK: - The lease

    /// Takes the lease when it is free or expired (raising the fencing token), or renews it when
    /// this replica holds it. Returns the token held, or nil when another replica leads.
    public func acquireOrRenew(ttl: Double) async throws(StoreError) -> Int64? {
        let mine = fencingToken
        let holder = self.holder
        let ms = Int64(ttl * 1000)
        let logger = self.logger
        let got: Int64? = try await wrap {
            try await client.withTransaction(logger: logger) { conn -> Int64? in
                let rows = try await conn.query("SELECT holder, token, expires_at < clock_timestamp() FROM meridian_lease WHERE id = 1 FOR UPDATE", logger: logger)
                var current: (String, Int64, Bool)?
                for try await row in rows.decode((String, Int64, Bool).self) { current = row }
                guard let (h, t, expired) = current else { throw StoreError("the lease row is missing") }
                if h == holder && t == mine && mine > 0 && !expired {
                    try await conn.query("UPDATE meridian_lease SET expires_at = clock_timestamp() + make_interval(secs => \(Double(ms) / 1000)) WHERE id = 1", logger: logger)
                    return t
                }
                guard expired || h.isEmpty else { return nil }
                let next = t + 1
                try await conn.query("UPDATE meridian_lease SET holder = \(holder), token = \(next), expires_at = clock_timestamp() + make_interval(secs => \(Double(ms) / 1000)) WHERE id = 1", logger: logger)
                return next
            }
        }
        token.store(got ?? 0, ordering: .releasing)
        return got
    }

    /// Gives the lease up (on shutdown), so a standby takes over at once.
    public func release() async {
        let mine = fencingToken
        guard mine > 0 else { return }
        token.store(0, ordering: .releasing)
        _ = try? await client.query("UPDATE meridian_lease SET holder = '', expires_at = clock_timestamp() - interval '1 second' WHERE id = 1 AND token = \(mine)", logger: logger)
    }

    /// Runs `body` in a transaction that first checks, under a lock on the lease row, that this
    /// replica still holds its fencing token. A deposed leader's write fails here.
    @discardableResult
    private func fenced<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection, Int64) async throws -> T) async throws(StoreError) -> T {
        // `logger` is in scope for the bodies below through this property.
        let mine = fencingToken
        let holder = self.holder
        let logger = self.logger
        return try await wrap {
            try await client.withTransaction(logger: logger) { conn -> T in
                let rows = try await conn.query("SELECT holder, token, expires_at > clock_timestamp() FROM meridian_lease WHERE id = 1 FOR SHARE", logger: logger)
                var current: (String, Int64, Bool)?
                for try await row in rows.decode((String, Int64, Bool).self) { current = row }
                guard let (h, t, live) = current, mine > 0, h == holder, t == mine, live else {
                    throw StoreError("fenced: \(what) refused, this replica (\(holder), token \(mine)) no longer holds the lease (held by \(current?.0 ?? "nobody"), token \(current?.1 ?? 0))")
                }
                return try await body(conn, mine)
            }
        }
    }

    // MARK: - StateStore

    public func unfinishedRun() async throws(StoreError) -> JournalRun? {
        let logger = self.logger
        return try await wrap {
            let rows = try await client.query("SELECT id, nonce, plan, plan_digest, source_commit, source_digest, started_at FROM meridian_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1", logger: logger)
            for try await (id, nonce, plan, digest, commit, source, started) in rows.decode((Int64, String, String, String, String?, String, String).self) {
                return JournalRun(id: id, nonce: nonce, plan: plan, planDigest: digest, commit: commit, sourceDigest: source, startedAt: started)
            }
            return nil
        }
    }

    public func beginRun(plan: String, planDigest: String, commit: String?, sourceDigest: String, startedAt: String) async throws(StoreError) -> JournalRun {
        let nonce = UUID().uuidString.lowercased()
        let logger = self.logger
        return try await fenced("begin a run") { conn, token in
            try await conn.query("UPDATE meridian_runs SET status = 'abandoned' WHERE status = 'running'", logger: logger)
            let rows = try await conn.query("""
                INSERT INTO meridian_runs (nonce, plan, plan_digest, source_commit, source_digest, status, started_at, token)
                VALUES (\(nonce), \(plan), \(planDigest), \(commit), \(sourceDigest), 'running', \(startedAt), \(token)) RETURNING id
                """, logger: logger)
            var id: Int64 = 0
            for try await (x) in rows.decode(Int64.self) { id = x }
            return JournalRun(id: id, nonce: nonce, plan: plan, planDigest: planDigest, commit: commit, sourceDigest: sourceDigest, startedAt: startedAt)
        }
    }

    public func record(run: JournalRun, entry: JournalEntry) async throws(StoreError) {
        let text = entry.json
        let runID = run.id, action = entry.action
        let logger = self.logger
        try await fenced("journal \(action)") { conn, token in
            try await conn.query("""
                INSERT INTO meridian_journal (run_id, action, entry, token) VALUES (\(runID), \(action), \(text), \(token))
                ON CONFLICT (run_id, action) DO UPDATE SET entry = EXCLUDED.entry, token = EXCLUDED.token
                """, logger: logger)
        }
    }

    public func entries(run: JournalRun) async throws(StoreError) -> [String: JournalEntry] {
        let logger = self.logger
        let texts: [String] = try await wrap {
            var out: [String] = []
            let rows = try await client.query("SELECT entry FROM meridian_journal WHERE run_id = \(run.id)", logger: logger)
            for try await (text) in rows.decode(String.self) { out.append(text) }
            return out
        }
        var out: [String: JournalEntry] = [:]
        for text in texts {
            guard let e = try? JSONDecoder().decode(JournalEntry.self, from: Data(text.utf8)) else {
                throw StoreError("a journal entry of run \(run.id) is not readable")
            }
            out[e.action] = e
        }
        return out
    }

    public func finishRun(_ run: JournalRun, status: JournalRun.Status) async throws(StoreError) {
        let id = run.id, s = status.rawValue, now = Clock.now()
        let logger = self.logger
        try await fenced("finish run \(id)") { conn, _ in
            try await conn.query("UPDATE meridian_runs SET status = \(s), finished_at = \(now) WHERE id = \(id)", logger: logger)
        }
    }

    public func appendLedger(_ body: LedgerBody) async throws(StoreError) -> LedgerEntry {
        let text = body.canonicalJSON
        let logger = self.logger
        return try await fenced("append to the ledger") { conn, token in
            let rows = try await conn.query("SELECT seq, hash FROM meridian_ledger ORDER BY seq DESC LIMIT 1 FOR UPDATE", logger: logger)
            var last: (Int64, String)?
            for try await row in rows.decode((Int64, String).self) { last = row }
            let seq = (last?.0 ?? 0) + 1
            let prev = last?.1 ?? LedgerEntry.genesis
            let entry = LedgerEntry(seq: seq, prevHash: prev, hash: LedgerEntry.hash(prev: prev, body: text), body: text)
            try await conn.query("INSERT INTO meridian_ledger (seq, prev_hash, hash, body, token) VALUES (\(entry.seq), \(entry.prevHash), \(entry.hash), \(entry.body), \(token))", logger: logger)
            try await conn.query("""
                INSERT INTO meridian_ledger_head (id, seq, hash) VALUES (1, \(entry.seq), \(entry.hash))
                ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash
                """, logger: logger)
            return entry
        }
    }

    public func ledger() async throws(StoreError) -> (entries: [LedgerEntry], head: LedgerHead?) {
        let logger = self.logger
        return try await wrap {
            var entries: [LedgerEntry] = []
            for try await (seq, prev, hash, body) in try await client.query("SELECT seq, prev_hash, hash, body FROM meridian_ledger ORDER BY seq", logger: logger)
                .decode((Int64, String, String, String).self) {
                entries.append(LedgerEntry(seq: seq, prevHash: prev, hash: hash, body: body))
            }
            var head: LedgerHead?
            for try await (seq, hash) in try await client.query("SELECT seq, hash FROM meridian_ledger_head WHERE id = 1", logger: logger).decode((Int64, String).self) {
                head = LedgerHead(seq: seq, hash: hash)
            }
            return (entries, head)
        }
    }

    // MARK: - Controller status

    public func writeStatus(_ json: String) async throws(StoreError) {
        let logger = self.logger
        try await fenced("write status") { conn, _ in
            try await conn.query("UPDATE meridian_status SET body = \(json) WHERE id = 1", logger: logger)
        }
    }

    public func status() async throws(StoreError) -> (body: String, suspended: Bool) {
        let logger = self.logger
        return try await wrap {
            for try await row in try await client.query("SELECT body, suspended FROM meridian_status WHERE id = 1", logger: logger).decode((String, Bool).self) {
                return row
            }
            return ("{}", false)
        }
    }

    public func setSuspended(_ suspended: Bool) async throws(StoreError) {
        let logger = self.logger
        try await wrap { try await client.query("UPDATE meridian_status SET suspended = \(suspended) WHERE id = 1", logger: logger) }
    }

    public func requestCycle() async throws(StoreError) {
        let logger = self.logger
        try await wrap { try await client.query("UPDATE meridian_status SET cycle_requested = true WHERE id = 1", logger: logger) }
    }

    public func takeCycleRequest() async throws(StoreError) -> Bool {
        let logger = self.logger
        return try await wrap {
            let rows = try await client.query("UPDATE meridian_status SET cycle_requested = false WHERE id = 1 AND cycle_requested RETURNING id", logger: logger)
            for try await _ in rows.decode(Int.self) { return true }
            return false
        }
    }

    /// The store answers (for `/readyz`).
    public func ping() async -> Bool {
        (try? await client.query("SELECT 1", logger: logger)) != nil
    }
}
