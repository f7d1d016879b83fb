public struct Jurisdiction: Sendable, Hashable {
    public let meta: ObjectMeta
    public let description: String?
    /// ISO 3166-1 alpha-2 codes; empty when none are listed.
    public let countries: [Located<String>]

    public var name: JurisdictionName { JurisdictionName(meta.name) }

    public init(meta: ObjectMeta, description: String?, countries: [Located<String>]) {
        self.meta = meta
        self.description = description
        self.countries = countries
    }
}

public enum RegionState: String, Sendable, Hashable, CaseIterable {
    case active, draining, isolated
}

public struct AcceleratorCount: Sendable, Hashable {
    public let type: String
    public let count: Int
    public let location: SourceLocation

    public init(type: String, count: Int, location: SourceLocation) {
        self.type = type
        self.count = count
        self.location = location
    }
}

public enum AdapterSpec: Sendable, Hashable {
    /// A region whose state lives in a directory; nil path means `.meridian/regions/<name>`.
    case local(path: String?)
    case http(url: String, tokenEnv: String?)
    case exec(command: [String])

    public var typeName: String {
        switch self {
        case .local: "local"
        case .http: "http"
        case .exec: "exec"
        }
    }
}

public struct Region: Sendable, Hashable {
    public let meta: ObjectMeta
    public let provider: String?
    public let countryCode: Located<String>?
    public let jurisdiction: Located<JurisdictionName>
    public let state: RegionState
    public let replicatesTo: [Located<RegionName>]
    public let accelerators: [AcceleratorCount]
    public let adapter: AdapterSpec

    public var name: RegionName { RegionName(meta.name) }

    public init(meta: ObjectMeta, provider: String?, countryCode: Located<String>?, jurisdiction: Located<JurisdictionName>,
                state: RegionState, replicatesTo: [Located<RegionName>], accelerators: [AcceleratorCount], adapter: AdapterSpec) {
        self.meta = meta
        self.provider = provider
        self.countryCode = countryCode
        self.jurisdiction = jurisdiction
        self.state = state
        self.replicatesTo = replicatesTo
        self.accelerators = accelerators
        self.adapter = adapter
    }
}

public enum ArtifactType: String, Sendable, Hashable, CaseIterable {
    case weights, adapter, embeddings
    case vectorIndex = "vector-index"
    case dataset, cache, logs

    /// Runtime artifacts of a serving region never leave it (SPEC §2.4).
    public var isRuntime: Bool { self == .cache || self == .logs }
}

/// An artifact's declaration. Its fields are held in one shared, immutable object, so that a copy
/// is one reference: a plan's parts copy the artifacts they hold into tables of their own, and a
/// copy of every field retained each of them (and freeing the copy released each): a tenth of
/// planning the benchmark's fleet.
public struct Artifact: Sendable, Hashable {
    @usableFromInline
    final class Fields: Sendable {
        // In this order, the one-byte type fills the metadata's tail and the optional size comes
        // last.
        @usableFromInline let meta: ObjectMeta
        @usableFromInline let type: ArtifactType
        @usableFromInline let declaredDigest: ArtifactDigest
        @usableFromInline let digestLocation: SourceLocation
        @usableFromInline let origin: Located<RegionName>
        @usableFromInline let derivedFrom: [Located<ArtifactName>]
        @usableFromInline let fences: [Located<FenceName>]
        @usableFromInline let sizeBytes: Int64?

        init(meta: ObjectMeta, type: ArtifactType, declaredDigest: ArtifactDigest, digestLocation: SourceLocation, origin: Located<RegionName>,
             derivedFrom: [Located<ArtifactName>], fences: [Located<FenceName>], sizeBytes: Int64?) {
            self.meta = meta
            self.type = type
            self.declaredDigest = declaredDigest
            self.digestLocation = digestLocation
            self.origin = origin
            self.derivedFrom = derivedFrom
            self.fences = fences
            self.sizeBytes = sizeBytes
        }
    }

    @usableFromInline let fields: Fields

    @inlinable public var meta: ObjectMeta { fields.meta }
    @inlinable public var type: ArtifactType { fields.type }
    /// The declared digest, held compactly (see `ArtifactDigest`); `digest` gives it as text.
    @inlinable public var declaredDigest: ArtifactDigest { fields.declaredDigest }
    @inlinable public var digestLocation: SourceLocation { fields.digestLocation }
    @inlinable public var origin: Located<RegionName> { fields.origin }
    @inlinable public var derivedFrom: [Located<ArtifactName>] { fields.derivedFrom }
    @inlinable public var fences: [Located<FenceName>] { fields.fences }
    @inlinable public var sizeBytes: Int64? { fields.sizeBytes }

    public var name: ArtifactName { ArtifactName(meta.name) }
    /// The digest as written, and where.
    public var digest: Located<String> { Located(declaredDigest.string, at: digestLocation) }

    public init(meta: ObjectMeta, type: ArtifactType, digest: Located<String>, sizeBytes: Int64?, origin: Located<RegionName>,
                derivedFrom: [Located<ArtifactName>], fences: [Located<FenceName>]) {
        fields = Fields(meta: meta, type: type, declaredDigest: ArtifactDigest(digest.value), digestLocation: digest.location, origin: origin,
                        derivedFrom: derivedFrom, fences: fences, sizeBytes: sizeBytes)
    }

    /// The same, with the digest already read (a decoder's, from its bytes).
    public init(meta: ObjectMeta, type: ArtifactType, digest: ArtifactDigest, at digestLocation: SourceLocation, sizeBytes: Int64?,
                origin: Located<RegionName>, derivedFrom: [Located<ArtifactName>], fences: [Located<FenceName>]) {
        fields = Fields(meta: meta, type: type, declaredDigest: digest, digestLocation: digestLocation, origin: origin,
                        derivedFrom: derivedFrom, fences: fences, sizeBytes: sizeBytes)
    }

    /// Equal when every field is (the same shared fields at once).
    public static func == (a: Artifact, b: Artifact) -> Bool {
        a.fields === b.fields
            || (a.meta == b.meta && a.type == b.type && a.declaredDigest == b.declaredDigest && a.digestLocation == b.digestLocation
                && a.origin == b.origin && a.derivedFrom == b.derivedFrom && a.fences == b.fences && a.sizeBytes == b.sizeBytes)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(meta)
        hasher.combine(type)
        hasher.combine(declaredDigest)
        hasher.combine(digestLocation)
        hasher.combine(origin)
        hasher.combine(derivedFrom)
        hasher.combine(fences)
        hasher.combine(sizeBytes)
    }
}

/// One entry of a fence's `allow` or `deny`: a jurisdiction, or `*` for all declared ones.
public enum JurisdictionPattern: Sendable, Hashable, CustomStringConvertible {
    case any
    case named(JurisdictionName)

    public var description: String {
        switch self {
        case .any: "*"
        case .named(let n): n.rawValue
        }
    }
}

public struct ResidencyFence: Sendable, Hashable {
    public let meta: ObjectMeta
    public let allow: [Located<JurisdictionPattern>]
    public let deny: [Located<JurisdictionName>]
    /// `selector.matchLabels`; nil when the fence applies by name only.
    public let matchLabels: [String: String]?

    public var name: FenceName { FenceName(meta.name) }

    public init(meta: ObjectMeta, allow: [Located<JurisdictionPattern>], deny: [Located<JurisdictionName>], matchLabels: [String: String]?) {
        self.meta = meta
        self.allow = allow
        self.deny = deny
        self.matchLabels = matchLabels
    }

    /// Whether the selector matches an artifact's labels. An empty `matchLabels` matches every
    /// artifact, as in Kubernetes.
    public func selects(_ labels: [String: String]) -> Bool {
        guard let matchLabels else { return false }
        return matchLabels.allSatisfy { labels[$0.key] == $0.value }
    }
}

public struct Model: Sendable, Hashable {
    public let meta: ObjectMeta
    public let version: Located<String>
    public let artifacts: [Located<ArtifactName>]
    /// Accelerators per replica; nil for a model that needs none.
    public let accelerator: AcceleratorCount?

    public var name: ModelName { ModelName(meta.name) }

    public init(meta: ObjectMeta, version: Located<String>, artifacts: [Located<ArtifactName>], accelerator: AcceleratorCount?) {
        self.meta = meta
        self.version = version
        self.artifacts = artifacts
        self.accelerator = accelerator
    }
}

public enum TopologyMode: String, Sendable, Hashable, CaseIterable {
    case activeActive = "active-active"
    case activePassive = "active-passive"
    case singleRegion = "single-region"
}

public enum StandbyMode: String, Sendable, Hashable, CaseIterable {
    /// Artifacts staged and `minReplicas` deployed.
    case warm
    /// Artifacts staged only.
    case cold
}

public struct TopologyRegion: Sendable, Hashable {
    public let name: Located<RegionName>
    public let weight: Located<Int>?

    public init(name: Located<RegionName>, weight: Located<Int>?) {
        self.name = name
        self.weight = weight
    }
}

public struct Topology: Sendable, Hashable {
    public let meta: ObjectMeta
    public let mode: TopologyMode
    public let regions: [TopologyRegion]
    /// Meaningful for active-passive only; warm when not written.
    public let standby: StandbyMode
    public let failover: [Located<RegionName>]

    public var name: TopologyName { TopologyName(meta.name) }

    public init(meta: ObjectMeta, mode: TopologyMode, regions: [TopologyRegion], standby: StandbyMode, failover: [Located<RegionName>]) {
        self.meta = meta
        self.mode = mode
        self.regions = regions
        self.standby = standby
        self.failover = failover
    }
}

public struct Placement: Sendable, Hashable {
    public let meta: ObjectMeta
    public let model: Located<ModelName>
    public let topology: Located<TopologyName>
    public let replicas: Int
    public let minReplicas: Int
    public let priority: Int

    public var name: PlacementName { PlacementName(meta.name) }

    public init(meta: ObjectMeta, model: Located<ModelName>, topology: Located<TopologyName>, replicas: Int, minReplicas: Int, priority: Int) {
        self.meta = meta
        self.model = model
        self.topology = topology
        self.replicas = replicas
        self.minReplicas = minReplicas
        self.priority = priority
    }
}

public struct GuardrailRule: Sendable, Hashable {
    public let model: Located<ModelName>
    public let allowedVersions: [Located<String>]

    public init(model: Located<ModelName>, allowedVersions: [Located<String>]) {
        self.model = model
        self.allowedVersions = allowedVersions
    }
}

public struct Guardrail: Sendable, Hashable {
    public let meta: ObjectMeta
    public let models: [GuardrailRule]

    public var name: GuardrailName { GuardrailName(meta.name) }

    public init(meta: ObjectMeta, models: [GuardrailRule]) {
        self.meta = meta
        self.models = models
    }
}

/// One decoded manifest document.
public enum ManifestObject: Sendable, Hashable {
    case jurisdiction(Jurisdiction)
    case region(Region)
    case artifact(Artifact)
    case residencyFence(ResidencyFence)
    case model(Model)
    case topology(Topology)
    case placement(Placement)
    case guardrail(Guardrail)

    /// The object's kind, read from its case alone (`meta.kind` copies the metadata).
    public var kind: Kind {
        switch self {
        case .jurisdiction: .jurisdiction
        case .region: .region
        case .artifact: .artifact
        case .residencyFence: .residencyFence
        case .model: .model
        case .topology: .topology
        case .placement: .placement
        case .guardrail: .guardrail
        }
    }

    public var meta: ObjectMeta {
        switch self {
        case .jurisdiction(let o): o.meta
        case .region(let o): o.meta
        case .artifact(let o): o.meta
        case .residencyFence(let o): o.meta
        case .model(let o): o.meta
        case .topology(let o): o.meta
        case .placement(let o): o.meta
        case .guardrail(let o): o.meta
        }
    }
}
