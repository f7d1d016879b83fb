public import MeridianCore

/// Where Meridian keeps its own state: the journal of every apply, and the evidence ledger.
/// SQLite by default (`.meridian/state.db`); PostgreSQL for the controller's HA.
public protocol StateStore: Sendable {
    /// A run that was started and never finished (a crash, a kill), to resume.
    func unfinishedRun() async throws(StoreError) -> JournalRun?
    func beginRun(plan: String, planDigest: String, commit: String?, sourceDigest: String, startedAt: String) async throws(StoreError) -> JournalRun
    /// Records an action's state: before it is dispatched, and after it completes.
    func record(run: JournalRun, entry: JournalEntry) async throws(StoreError)
    func entries(run: JournalRun) async throws(StoreError) -> [String: JournalEntry]
    func finishRun(_ run: JournalRun, status: JournalRun.Status) async throws(StoreError)
    /// Appends to the hash chain; the store fills in `seq`, `prevHash` and `hash`.
    func appendLedger(_ body: LedgerBody) async throws(StoreError) -> LedgerEntry
    func ledger() async throws(StoreError) -> (entries: [LedgerEntry], head: LedgerHead?)

    /// Leadership: takes or renews the lease and returns the fencing token, or nil when another
    /// replica leads. A single-writer store (SQLite, under its file lock) always leads.
    func acquireOrRenew(ttl: Double) async throws(StoreError) -> Int64?
    /// Gives leadership up, so a standby takes over at once.
    func release() async
    /// The controller's status document, and whether reconciling is suspended.
    func writeStatus(_ json: String) async throws(StoreError)
    func status() async throws(StoreError) -> (body: String, suspended: Bool)
    func setSuspended(_ suspended: Bool) async throws(StoreError)
    /// A webhook that reached a standby asks the leader for a cycle; the leader takes the request.
    func requestCycle() async throws(StoreError)
    func takeCycleRequest() async throws(StoreError) -> Bool
    /// Whether the store answers (for `/readyz`).
    func ping() async -> Bool
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One apply of one plan. `nonce` makes its idempotency keys unique to it, and the same after a resume.
public struct JournalRun: Sendable, Hashable {
    public enum Status: String, Sendable, Codable {
        case running, done, failed, abandoned
    }

    public let id: Int64
    public let nonce: String
    public let plan: String
    public let planDigest: String
    public let commit: String?
    public let sourceDigest: String
    public let startedAt: String

    public init(id: Int64, nonce: String, plan: String, planDigest: String, commit: String?, sourceDigest: String, startedAt: String) {
        self.id = id
        self.nonce = nonce
        self.plan = plan
        self.planDigest = planDigest
        self.commit = commit
        self.sourceDigest = sourceDigest
        self.startedAt = startedAt
    }
}

/// The journal's line for one action.
public struct JournalEntry: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Recorded before the action is dispatched.
        case started
        case done, failed
        /// Not run: a dependency failed, or its region is behind a circuit breaker.
        case skipped
    }

    public var action: String
    public var status: Status
    public var attempts: Int
    public var detail: String
    /// For purges: what was found where (artifact, digest, region, attested jurisdiction).
    public var evidence: PurgeEvidence?
    public var startedAt: String
    public var finishedAt: String?

    public init(action: String, status: Status, attempts: Int, detail: String, evidence: PurgeEvidence? = nil, startedAt: String, finishedAt: String? = nil) {
        self.action = action
        self.status = status
        self.attempts = attempts
        self.detail = detail
        self.evidence = evidence
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// The entry as the journal stores it: compact JSON, keys sorted, absent fields left out
    /// (what `JSONEncoder` with `.sortedKeys` writes, except that `/` is not escaped; both read
    /// back the same). Written with `JSONWriter`: `JSONEncoder` was about a twentieth of an
    /// apply's CPU, two entries per action.
    public var json: String {
        var w = JSONWriter(pretty: false)
        w.beginObject()
        w.key("action"); w.string(action)
        w.key("attempts"); w.int(attempts)
        w.key("detail"); w.string(detail)
        if let e = evidence {
            w.key("evidence")
            w.beginObject()
            func field(_ k: String, _ v: String?) { if let v { w.key(k); w.string(v) } }
            field("artifact", e.artifact)
            field("attestedJurisdiction", e.attestedJurisdiction)
            field("declaredJurisdiction", e.declaredJurisdiction)
            field("digest", e.digest)
            field("model", e.model)
            field("placement", e.placement)
            field("region", e.region)
            field("version", e.version)
            w.endObject()
        }
        if let finishedAt { w.key("finishedAt"); w.string(finishedAt) }
        w.key("startedAt"); w.string(startedAt)
        w.key("status"); w.string(status.rawValue)
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// What a purge found, recorded before the purge removes it.
public struct PurgeEvidence: Sendable, Hashable, Codable {
    /// What `purge` finds in `observed` (the region's latest observation, nil when none).
    public init(purge a: Action, region r: RegionName, observed o: RegionObservation?, state: DesiredState) {
        self.init(region: r.rawValue, declaredJurisdiction: state.regions[r]?.jurisdiction.value.rawValue ?? "(undeclared)",
                  attestedJurisdiction: o?.jurisdiction, artifact: a.artifact?.rawValue,
                  digest: a.artifact.flatMap { o?.artifacts[$0.rawValue]?.digest }, placement: a.placement?.rawValue,
                  model: a.placement.flatMap { o?.deployments[$0.rawValue]?.model },
                  version: a.placement.flatMap { o?.deployments[$0.rawValue]?.version })
    }

    public var region: String
    public var declaredJurisdiction: String
    public var attestedJurisdiction: String?
    public var artifact: String?
    public var digest: String?
    public var placement: String?
    public var model: String?
    public var version: String?

    public init(region: String, declaredJurisdiction: String, attestedJurisdiction: String?, artifact: String? = nil, digest: String? = nil,
                placement: String? = nil, model: String? = nil, version: String? = nil) {
        self.region = region
        self.declaredJurisdiction = declaredJurisdiction
        self.attestedJurisdiction = attestedJurisdiction
        self.artifact = artifact
        self.digest = digest
        self.placement = placement
        self.model = model
        self.version = version
    }
}

/// SPEC §5's destroy budget: a plan whose undeploy and delete-artifact actions exceed it is not
/// applied without an explicit allowance. Purges are outside it: residency wins.
public struct DestroyBudget: Sendable {
    public let destroys: Int
    public let budget: Int
    /// The deployments and artifact copies observed, of which the default budget is 25%.
    public let observed: Int
    public let explicit: Bool

    public init(_ plan: Plan, observed: ObservedState, maxDestroy: Int?) {
        destroys = plan.count(.undeploy) + plan.count(.deleteArtifact)
        self.observed = observed.regions.values.reduce(0) { $0 + $1.deployments.count + $1.artifacts.count }
        budget = maxDestroy ?? self.observed / 4
        explicit = maxDestroy != nil
    }

    public var exceeded: Bool { destroys > budget }

    public var description: String {
        "the plan removes \(destroys) deployments and artifact copies, over the destroy budget of \(budget) (\(explicit ? "--max-destroy" : "25% of the \(observed) observed"))"
    }
}
