/// The rule a diagnostic reports. Ids are part of the public contract: fixtures, editors and
/// users' scripts match on them.
public struct Rule: Sendable, Hashable, CustomStringConvertible {
    public let id: String
    public init(_ id: String) { self.id = id }
    public var description: String { id }

    // Source: reading bytes.
    public static let sourceRead = Rule("source.read")
    public static let sourceSize = Rule("source.size")
    public static let sourceEmpty = Rule("source.empty")
    public static let sourcePath = Rule("source.path")

    // YAML: syntax and the loader's bounds.
    public static let yamlSyntax = Rule("yaml.syntax")
    public static let yamlEncoding = Rule("yaml.encoding")
    public static let yamlDuplicateKey = Rule("yaml.duplicate-key")
    public static let yamlTag = Rule("yaml.tag")
    public static let yamlAlias = Rule("yaml.alias")
    public static let yamlAliasLimit = Rule("yaml.alias-limit")
    public static let yamlDepth = Rule("yaml.depth")
    public static let yamlSize = Rule("yaml.size")
    public static let yamlMerge = Rule("yaml.merge")
    public static let yamlKey = Rule("yaml.key")

    // Schema: the shape of one document.
    public static let schemaAPIVersion = Rule("schema.api-version")
    public static let schemaKind = Rule("schema.kind")
    public static let schemaUnknownField = Rule("schema.unknown-field")
    public static let schemaRequired = Rule("schema.required")
    public static let schemaType = Rule("schema.type")
    public static let schemaEnum = Rule("schema.enum")
    public static let schemaRange = Rule("schema.range")
    public static let schemaFormat = Rule("schema.format")
    public static let schemaEmpty = Rule("schema.empty")
    public static let schemaUnique = Rule("schema.unique")
    public static let nameInvalid = Rule("name.invalid")

    // References between objects and names.
    public static let nameDuplicate = Rule("name.duplicate")
    public static let refMissing = Rule("ref.missing")

    // Structural rules.
    public static let artifactDigest = Rule("artifact.digest")
    public static let artifactLineageCycle = Rule("artifact.lineage-cycle")
    public static let regionLocation = Rule("region.location")
    public static let regionAdapter = Rule("region.adapter")
    public static let regionReplication = Rule("region.replication")
    public static let topologyWeights = Rule("topology.weights")
    public static let topologyRegions = Rule("topology.regions")
    public static let topologyStandby = Rule("topology.standby")
    public static let placementReplicas = Rule("placement.replicas")
    public static let fenceWildcard = Rule("fence.wildcard")
    public static let guardrailVersion = Rule("guardrail.version")
    public static let modelVersion = Rule("model.version")

    // Residency fences (SPEC §2).
    public static let fenceEmpty = Rule("fence.empty")
    public static let fenceOrigin = Rule("fence.origin")
    public static let fenceModel = Rule("fence.model")
    public static let fencePlacement = Rule("fence.placement")
    public static let fenceRuntime = Rule("fence.runtime")
}
