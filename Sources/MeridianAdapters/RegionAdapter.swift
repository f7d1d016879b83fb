public import MeridianCore

/// How Meridian reaches one region (SPEC §3): it reports what the region holds, and carries out one
/// region's share of a plan action. Implementations: `LocalRegionAdapter` (a directory),
/// `HTTPRegionAdapter` (the region agent), `ExecRegionAdapter` (a user's program).
public protocol RegionAdapter: Sendable {
    var region: RegionName { get }

    /// The region's state now, including its `generation`. A region that cannot be reached throws
    /// a transient error; the caller reports it as `reachable: false`.
    func observe() async throws(AdapterError) -> RegionObservation

    /// The region's state now, with its artifacts, deployments and traffic only for the named
    /// artifacts and placements: `observe().restricted(artifacts:placements:)`, which is what
    /// every adapter gives unless it can ask its region for less. The executor's check before
    /// each action reads no more (reachability, the attested jurisdiction, the action's own
    /// artifact and placement), and a whole observation costs in proportion to the region.
    func observe(artifacts: [String], placements: [String]) async throws(AdapterError) -> RegionObservation

    /// Carries out `command`. The same `idempotencyKey` twice has one effect: the second call
    /// returns the first result with `replayed` set.
    func execute(_ command: RegionCommand, idempotencyKey: String) async throws(AdapterError) -> ExecutionResult
}

extension RegionAdapter {
    public func observe(artifacts: [String], placements: [String]) async throws(AdapterError) -> RegionObservation {
        try await observe().restricted(artifacts: artifacts, placements: placements)
    }
}

extension RegionObservation {
    /// This observation with its artifacts, deployments and traffic only for the named artifacts
    /// and placements; everything else (reachability, generation, jurisdiction, capacity) whole.
    public func restricted(artifacts: [String], placements: [String]) -> RegionObservation {
        var o = RegionObservation(reachable: reachable, generation: generation, jurisdiction: jurisdiction, capacity: capacity)
        for a in artifacts { o.artifacts[a] = self.artifacts[a] }
        for p in placements {
            o.deployments[p] = deployments[p]
            o.traffic[p] = traffic[p]
        }
        return o
    }
}

/// An adapter's failure. Transient ones (a timeout, a 503, a refused connection) are retried with
/// backoff; permanent ones (a refused fence, bad credentials, a malformed answer) are not.
public struct AdapterError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable {
        case transient, permanent
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public static func transient(_ message: String) -> AdapterError { AdapterError(.transient, message) }
    public static func permanent(_ message: String) -> AdapterError { AdapterError(.permanent, message) }

    public var isTransient: Bool { kind == .transient }
    public var description: String { message }
}

/// What a region reports after carrying out a command.
public struct ExecutionResult: Sendable, Hashable, Codable {
    /// The region's generation after the command.
    public var generation: Int
    /// True when the idempotency key had been executed before, so nothing was done this time.
    public var replayed: Bool
    /// deploy: the deployment as the region holds it right after the command, so a deploy that is
    /// ready at once passes the health gate without another observation.
    public var deployment: ObservedDeployment?

    public init(generation: Int, replayed: Bool, deployment: ObservedDeployment? = nil) {
        self.generation = generation
        self.replayed = replayed
        self.deployment = deployment
    }
}

/// Accelerators one replica of a model needs.
public struct AcceleratorDemand: Sendable, Hashable, Codable {
    public var type: String
    public var count: Int

    public init(type: String, count: Int) {
        self.type = type
        self.count = count
    }
}

/// One region's share of a plan action, as adapters receive it (the exec protocol's and the agent's
/// wire format). It carries the fence the region must be inside, so a region can refuse, as
/// defence in depth, to hold what it may not.
public struct RegionCommand: Sendable, Hashable, Codable {
    public var type: Action.Kind
    public var region: String
    public var actionID: String
    public var artifact: String?
    /// stage-artifact: the digest the region will hold.
    public var digest: String?
    public var from: String?
    public var placement: String?
    public var model: String?
    public var version: String?
    public var replicas: Int?
    public var accelerator: AcceleratorDemand?
    /// set-traffic: this region's weight (0 takes the placement's traffic off it).
    public var weight: Int?
    /// stage-artifact, deploy, set-traffic: the jurisdictions the artifact or model may live in.
    public var fence: [String]?

    public init(type: Action.Kind, region: String, actionID: String, artifact: String? = nil, digest: String? = nil, from: String? = nil,
                placement: String? = nil, model: String? = nil, version: String? = nil, replicas: Int? = nil,
                accelerator: AcceleratorDemand? = nil, weight: Int? = nil, fence: [String]? = nil) {
        self.type = type
        self.region = region
        self.actionID = actionID
        self.artifact = artifact
        self.digest = digest
        self.from = from
        self.placement = placement
        self.model = model
        self.version = version
        self.replicas = replicas
        self.accelerator = accelerator
        self.weight = weight
        self.fence = fence
    }
}

