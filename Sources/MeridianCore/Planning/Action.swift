/// One step of a plan (SPEC §4).
public struct Action: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        case purge
        case stageArtifact = "stage-artifact"
        case deploy
        case setTraffic = "set-traffic"
        case undeploy
        case deleteArtifact = "delete-artifact"

        /// The order SPEC §4 lists them in, which is also the order of the plan's phases.
        public var rank: Int {
            switch self {
            case .purge: 0
            case .stageArtifact: 1
            case .deploy: 2
            case .setTraffic: 3
            case .undeploy: 4
            case .deleteArtifact: 5
            }
        }
    }

    public var id: String
    /// Nil only for `set-traffic`, which names its regions in `weights`.
    public let region: RegionName?
    public let artifact: ArtifactName?
    public let placement: PlacementName?
    /// `stage-artifact`: the in-fence region copied from; nil when the region is the artifact's
    /// origin and the copy is only registered.
    public let from: RegionName?
    public let model: ModelName?
    public let version: String?
    public let weights: [RegionName: Int]?
    public var dependsOn: [String]
    /// Why the action is in the plan; kept with the plan's other reasons (see `ReasonText`).
    public let reasonText: ReasonText
    public var reason: String { reasonText.string }
    // The short fields last, where they share the tail: 8 bytes less per action.
    public let replicas: Int?
    public let kind: Kind

    public init(id: String = "", kind: Kind, region: RegionName? = nil, artifact: ArtifactName? = nil, placement: PlacementName? = nil,
                from: RegionName? = nil, model: ModelName? = nil, version: String? = nil, replicas: Int? = nil,
                weights: [RegionName: Int]? = nil, dependsOn: [String] = [], reason: String) {
        self.init(id: id, kind: kind, region: region, artifact: artifact, placement: placement, from: from, model: model,
                  version: version, replicas: replicas, weights: weights, dependsOn: dependsOn, reason: ReasonText(reason))
    }

    public init(id: String = "", kind: Kind, region: RegionName? = nil, artifact: ArtifactName? = nil, placement: PlacementName? = nil,
                from: RegionName? = nil, model: ModelName? = nil, version: String? = nil, replicas: Int? = nil,
                weights: [RegionName: Int]? = nil, dependsOn: [String] = [], reason: ReasonText) {
        self.id = id
        self.kind = kind
        self.region = region
        self.artifact = artifact
        self.placement = placement
        self.from = from
        self.model = model
        self.version = version
        self.replicas = replicas
        self.weights = weights
        self.dependsOn = dependsOn
        self.reasonText = reason
    }

    /// Every region the action acts on.
    public var regions: [RegionName] {
        if let region { return [region] }
        return (weights ?? [:]).keys.sorted()
    }
}

public struct Unserved: Sendable, Hashable {
    public let placement: PlacementName
    public let reason: String

    public init(placement: PlacementName, reason: String) {
        self.placement = placement
        self.reason = reason
    }
}

/// Where the desired state came from: a commit, or a content digest of a directory.
public struct PlanSource: Sendable, Hashable {
    public let commit: String?
    public let digest: String
    public let path: String

    public init(commit: String?, digest: String, path: String) {
        self.commit = commit
        self.digest = digest
        self.path = path
    }
}

/// A DAG of actions, in an order that respects every dependency.
public struct Plan: Sendable, Hashable {
    public var source: PlanSource
    public var observedGenerations: [RegionName: Int]
    public var actions: [Action]
    public var unserved: [Unserved]

    public init(source: PlanSource, observedGenerations: [RegionName: Int], actions: [Action], unserved: [Unserved]) {
        self.source = source
        self.observedGenerations = observedGenerations
        self.actions = actions
        self.unserved = unserved
    }

    public var isEmpty: Bool { actions.isEmpty }

    /// How many actions are of `kind`. Each kind is read in place: a `reduce` copied (and
    /// retained) every field of every action.
    public func count(_ kind: Action.Kind) -> Int {
        actions.withUnsafeBufferPointer { actions in
            var n = 0
            for i in actions.indices where actions[i].kind == kind { n += 1 }
            return n
        }
    }
}
