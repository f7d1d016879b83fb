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

/// A set of kinds, one bit each.
public struct KindSet: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let all = KindSet(rawValue: 0xFF)

    public init(_ kind: Kind) {
        rawValue = switch kind {
        case .jurisdiction: 1
        case .region: 2
        case .artifact: 4
        case .residencyFence: 8
        case .model: 16
        case .topology: 32
        case .placement: 64
        case .guardrail: 128
        }
    }

    /// The kinds whose objects differ between two lists (two parses of one file): for each
    /// kind, its objects in list order, compared with `==`, their source locations included.
    /// A kind found in neither is not in the set.
    public static func differing(_ a: [ManifestObject], _ b: [ManifestObject]) -> KindSet {
        var out: KindSet = []
        for bit in 0 ..< 8 {
            let kind = KindSet(rawValue: 1 << bit)
            let x = a.indices.filter { KindSet(a[$0].kind) == kind }, y = b.indices.filter { KindSet(b[$0].kind) == kind }
            if x.count != y.count || zip(x, y).contains(where: { a[$0.0] != b[$0.1] }) { out.insert(kind) }
        }
        return out
    }

    /// Of the kinds in `kinds`, those whose names differ between two lists (two parses of one
    /// file): for each kind, its objects' names in list order. A kind not in this set kept its
    /// names, in the same order, however its objects' specs changed. Names are compared byte
    /// for byte, as the tables' indexes compare them.
    public static func renamed(_ a: [ManifestObject], _ b: [ManifestObject], in kinds: KindSet) -> KindSet {
        var out: KindSet = []
        for bit in 0 ..< 8 where kinds.contains(KindSet(rawValue: 1 << bit)) {
            let kind = KindSet(rawValue: 1 << bit)
            let x = a.indices.filter { KindSet(a[$0].kind) == kind }, y = b.indices.filter { KindSet(b[$0].kind) == kind }
            if x.count != y.count || zip(x, y).contains(where: { !UTF8Bytes.equal(a[$0.0].meta.name, b[$0.1].meta.name) }) { out.insert(kind) }
        }
        return out
    }

    /// The kinds of `objects`, each read in place (a `for in` would copy every object).
    public init(of objects: [ManifestObject]) {
        var bits: UInt8 = 0
        for k in objects.indices { bits |= KindSet(objects[k].kind).rawValue }
        rawValue = bits
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
