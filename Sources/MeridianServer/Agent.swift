public import MeridianCore
public import MeridianAdapters
internal import Foundation
internal import GRDB
internal import Hummingbird
public import Logging
internal import NIOCore
internal import Synchronization

/// `meridian agent`: one region's side of the HTTP region protocol
/// (`schemas/region-agent.openapi.yaml`). Its state lives in SQLite in its data directory, one
/// row per object (`AgentStore`); every request but `/healthz` needs the bearer token; it
/// refuses, whatever the plan says, to stage, deploy or route anything whose fence leaves its own
/// jurisdiction out.
public final class RegionAgent: Sendable {
    public struct Configuration: Sendable {
        public var region: String
        public var jurisdiction: String
        /// Accelerators on first start (type → count); a restarted agent keeps what its store holds.
        public var accelerators: [String: Int]
        public var dataDirectory: String
        public var token: String
        /// Fault injection: the share of execute requests that fail with 503, half of them before
        /// the command takes effect and half after (a lost answer).
        public var failRate: Double = 0
        /// Fault injection: every Nth execute request fails with 503, alternately after and before
        /// the command takes effect, starting with after (a lost answer), so an agent that gets N
        /// requests has lost one answer (0: never). Deterministic, for tests.
        public var failEvery = 0
        /// Fault injection: seconds added to every request.
        public var delay: Double = 0
        /// Seconds a deployment takes to report its replicas ready.
        public var readyAfter: Double = 0
        /// Idempotency keys remembered: the newest this many, so the store stays bounded. A replay
        /// of an older key is executed again, which is harmless: every command sets state rather
        /// than adding to it (the local region's rule too).
        public var rememberedKeys = SimulatedRegion.rememberedKeys

        public init(region: String, jurisdiction: String, accelerators: [String: Int], dataDirectory: String, token: String) {
            self.region = region
            self.jurisdiction = jurisdiction
            self.accelerators = accelerators
            self.dataDirectory = dataDirectory
            self.token = token
        }
    }

    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    let config: Configuration
    let db: DatabaseQueue
    /// The region as the store holds it; the database queue serialises every change.
    let region: Mutex<SimulatedRegion>
    let pendingReady: Mutex<[String: Double]>
    let executeRequests = Atomic<Int>(0)
    /// The last observation served, encoded, and its generation. Every change to the region
    /// raises its generation (`SimulatedRegion`), so the same generation means the same bytes.
    let encodedObservation = Mutex<(generation: Int, json: Data)?>(nil)

    public static let maxBodyBytes = 1 << 20
    /// The most artifacts and placements one scoped observation may name.
    public static let maxNamedKeys = 1_000

    public init(_ config: Configuration) throws(Error) {
        self.config = config
        do {
            try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
            var c = GRDB.Configuration()
            c.busyMode = .timeout(10)
            c.prepareDatabase { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
            }
            db = try DatabaseQueue(path: config.dataDirectory + "/agent.db", configuration: c)
            try AgentStore.migrator().migrate(db)
            let loaded: SimulatedRegion = try db.write { db in
                if var r = try AgentStore.load(db) {
                    guard r.name == config.region else {
                        throw Error(description: "\(config.dataDirectory) holds region \(r.name), not \(config.region)")
                    }
                    if r.observation.jurisdiction != config.jurisdiction {
                        // The region re-attests: Meridian sees the change and fails closed.
                        try AgentStore.change(&r, artifacts: [], placements: [], db) { r in
                            r.observation.jurisdiction = config.jurisdiction
                            r.observation.generation += 1
                        }
                    }
                    return r
                }
                let r = SimulatedRegion(name: config.region, jurisdiction: config.jurisdiction, accelerators: config.accelerators)
                try AgentStore.insert(r, db)
                return r
            }
            region = Mutex(loaded)
            // Deployments still starting when the agent stopped become ready after a full delay.
            var pending: [String: Double] = [:]
            for (p, d) in loaded.observation.deployments where d.ready < d.replicas { pending[p] = Self.now() + config.readyAfter }
            pendingReady = Mutex(pending)
        } catch let e as Error {
            throw e
        } catch {
            throw Error(description: "\(config.dataDirectory)/agent.db: \(error)")
        }
    }

    // MARK: - Operations (also what tests call directly)

    public func observation() throws(Error) -> RegionObservation {
        let now = Self.now()
        let due = pendingReady.withLock { pending -> [String] in
            let due = pending.filter { $0.value <= now }.map(\.key)
            for k in due { pending.removeValue(forKey: k) }
            return due
        }
        if !due.isEmpty {
            do {
                try db.write { db in
                    try region.withLock { r in
                        try AgentStore.change(&r, artifacts: [], placements: due, db) { r in
                            for p in due.sorted() { r.markReady(p) }
                        }
                    }
                }
            } catch { throw Error(description: "store: \(error)") }
        }
        return region.withLock { $0.observation }
    }

    /// `observation()` as the JSON the agent serves, encoded once per generation.
    func observationJSON() throws(Error) -> Data {
        let o = try observation()
        if let cached = encodedObservation.withLock({ $0 }), cached.generation == o.generation { return cached.json }
        let json = Data(o.json().utf8)
        encodedObservation.withLock { current in
            if (current?.generation ?? -1) < o.generation { current = (o.generation, json) }
        }
        return json
    }

    public enum Fault: Sendable { case none, before, after }

    /// Executes once per key; the key's bookkeeping and the effect commit in one transaction.
    public func execute(_ request: AgentExecuteRequest, fault: Fault = .none) throws(AdapterError) -> ExecutionResult {
        if fault == .before { throw .transient("injected fault before \(request.command.actionID)") }
        let readyAtOnce = config.readyAfter <= 0
        let result: ExecutionResult
        do {
            result = try db.write { db -> ExecutionResult in
                // Statements are prepared once per connection (`cachedStatement`), not parsed
                // again for every request.
                if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT generation FROM executions WHERE key = ?"), arguments: [request.idempotencyKey]) {
                    try db.cachedStatement(sql: "UPDATE executions SET requests = requests + 1 WHERE key = ?").execute(arguments: [request.idempotencyKey])
                    return ExecutionResult(generation: row["generation"], replayed: true)
                }
                // The region changes in place, under its lock: a copy, changed, would copy its
                // dictionaries, and every command would cost in proportion to what the region
                // holds. Only the rows the command changed are written.
                let c = request.command
                return try region.withLock { r in
                    try AgentStore.change(&r, artifacts: c.artifact.map { [$0] } ?? [], placements: c.placement.map { [$0] } ?? [], db) { r in
                        try r.applyOnce(c, readyAtOnce: readyAtOnce)
                        try db.cachedStatement(sql: "INSERT INTO executions (key, applied, requests, generation) VALUES (?, 1, 1, ?)")
                            .execute(arguments: [request.idempotencyKey, r.observation.generation])
                        // Keys are forgotten oldest first (rowids grow with each new key), in
                        // batches: every tenth of the allowance, or every 1,000 keys if fewer.
                        let id = db.lastInsertedRowID, every = Int64(max(1, min(1_000, config.rememberedKeys / 10)))
                        if id % every == 0 {
                            try db.cachedStatement(sql: "DELETE FROM executions WHERE rowid <= ?").execute(arguments: [id - Int64(config.rememberedKeys)])
                        }
                        return ExecutionResult(generation: r.observation.generation, replayed: false,
                                               deployment: c.type == .deploy ? c.placement.flatMap { r.observation.deployments[$0] } : nil)
                    }
                }
            }
        } catch let e as AdapterError {
            throw e
        } catch {
            throw .transient("store: \(error)")
        }
        if !readyAtOnce, request.command.type == .deploy, let p = request.command.placement, !result.replayed {
            let due = Self.now() + config.readyAfter
            pendingReady.withLock { $0[p] = due }
        }
        if fault == .after { throw .transient("injected fault after \(request.command.actionID) took effect") }
        return result
    }

    public func executions() throws(Error) -> [String: SimulatedRegion.Execution] {
        do {
            return try db.read { db in
                var out: [String: SimulatedRegion.Execution] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key, applied, requests, generation FROM executions") {
                    out[row["key"]] = SimulatedRegion.Execution(applied: row["applied"], requests: row["requests"], generation: row["generation"])
                }
                return out
            }
        } catch { throw Error(description: "store: \(error)") }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Constant-time comparison: the time taken does not depend on where the tokens differ.
    static func tokenMatches(_ given: String?, _ expected: String) -> Bool {
        let a = Array((given ?? "").utf8), b = Array(expected.utf8)
        var diff = UInt8(a.count == b.count ? 0 : 1)
        let n = max(a.count, b.count)
        for i in 0 ..< n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0 && !b.isEmpty
    }

    // MARK: - HTTP

    /// Serves until SIGTERM or SIGINT. `onListening` gets the bound port (useful with port 0).
    public func serve(host: String, port: Int, logger: Logger, onListening: @escaping @Sendable (Int) -> Void) async throws {
        let router = Router()
        let agent = self
        let delay = config.delay
        let failRate = config.failRate
        @Sendable func pause() async { if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1e9)) } }
        @Sendable func json(_ status: HTTPResponse.Status, encoded data: Data) -> Response {
            Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        @Sendable func json(_ status: HTTPResponse.Status, _ value: any Encodable) -> Response {
            json(status, encoded: (try? JSONEncoder().encode(value)) ?? Data("{}".utf8))
        }
        @Sendable func authorised(_ request: Request) -> Bool {
            let header = request.headers[.authorization]
            let token = header.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            return Self.tokenMatches(token, agent.config.token)
        }
        let unauthorised: @Sendable () -> Response = { json(.unauthorized, AgentError(error: "missing or wrong bearer token", transient: false)) }
        router.get("/healthz") { _, _ in json(.ok, ["status": "ok", "region": agent.config.region]) }
        router.get("/v1/observation") { request, _ -> Response in
            guard authorised(request) else { return unauthorised() }
            await pause()
            // `scope=named`: only the named artifacts and placements, so what a check before one
            // action costs does not grow with the region.
            let query = request.uri.queryParameters
            if let scope = query["scope"] {
                guard scope == "named" else {
                    return json(.badRequest, AgentError(error: "unknown scope '\(scope)' (the one scope is 'named')", transient: false))
                }
                let artifacts = query.getAll("artifact"), placements = query.getAll("placement")
                guard artifacts.count + placements.count <= Self.maxNamedKeys else {
                    return json(.badRequest, AgentError(error: "more than \(Self.maxNamedKeys) artifacts and placements named", transient: false))
                }
                do {
                    return json(.ok, encoded: Data(try agent.observation().restricted(artifacts: artifacts, placements: placements).json().utf8))
                } catch { return json(.serviceUnavailable, AgentError(error: "\(error)", transient: true)) }
            }
            do { return json(.ok, encoded: try agent.observationJSON()) } catch {
                return json(.serviceUnavailable, AgentError(error: "\(error)", transient: true))
            }
        }
        router.get("/v1/executions") { request, _ -> Response in
            guard authorised(request) else { return unauthorised() }
            do { return json(.ok, try agent.executions()) } catch { return json(.serviceUnavailable, AgentError(error: "\(error)", transient: true)) }
        }
        router.post("/v1/execute") { request, _ -> Response in
            guard authorised(request) else { return unauthorised() }
            await pause()
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: Self.maxBodyBytes) } catch {
                return json(.contentTooLarge, AgentError(error: "request body larger than \(Self.maxBodyBytes) bytes", transient: false))
            }
            let decoded: AgentExecuteRequest
            do { decoded = try AgentExecuteRequest(json: body.readableBytesView) } catch {
                return json(.badRequest, AgentError(error: "the body is not an execute request: \(error)", transient: false))
            }
            var fault = Fault.none
            let n = agent.executeRequests.add(1, ordering: .relaxed).newValue
            if agent.config.failEvery > 0 && n % agent.config.failEvery == 0 {
                fault = (n / agent.config.failEvery) % 2 == 1 ? .after : .before
            } else if failRate > 0 && Double.random(in: 0 ..< 1) < failRate {
                fault = Bool.random() ? .before : .after
            }
            do throws(AdapterError) {
                return json(.ok, encoded: Data(try agent.execute(decoded, fault: fault).json().utf8))
            } catch {
                return json(error.isTransient ? .serviceUnavailable : .unprocessableContent, AgentError(error: error.message, transient: error.isTransient))
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "meridian-agent"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService()
    }
}
