/// The kinds a manifest document may declare.
public enum Kind: String, Sendable, Hashable, CaseIterable, Comparable {
    case jurisdiction = "Jurisdiction"
    case region = "Region"
    case artifact = "Artifact"
    case residencyFence = "ResidencyFence"
    case model = "Model"
    case topology = "Topology"
    case placement = "Placement"
    case guardrail = "Guardrail"

    public static func < (a: Kind, b: Kind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What every object carries besides its spec.
public struct ObjectMeta: Sendable, Hashable {
    // The one-byte kind last: first, it took eight bytes of every object, padded.
    public let name: String
    /// Where `metadata.name` is written.
    public let nameLocation: SourceLocation
    /// Where the document starts.
    public let location: SourceLocation
    public let labels: [String: String]
    public let kind: Kind

    public init(kind: Kind, name: String, nameLocation: SourceLocation, location: SourceLocation, labels: [String: String]) {
        self.kind = kind
        self.name = name
        self.nameLocation = nameLocation
        self.location = location
        self.labels = labels
    }
}
