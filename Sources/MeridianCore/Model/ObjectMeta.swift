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

    /// How two lists of objects (two parses of one file) differ, kind by kind, each kind's
    /// objects taken in list order: `differing`, the kinds whose objects differ (compared with
    /// `==`, their source locations included), and of those `renamed`, the kinds whose names
    /// differ (compared byte for byte, as the tables' indexes compare them). A kind in
    /// `differing` but not in `renamed` kept its names, in the same order, however its objects'
    /// specs changed. A kind found in neither list is in neither set.
    public static func changes(_ a: [ManifestObject], _ b: [ManifestObject]) -> (differing: KindSet, renamed: KindSet) {
        var differing: KindSet = [], renamed: KindSet = []
        for bit in 0 ..< 8 {
            let kind = KindSet(rawValue: 1 << bit)
            let x = a.indices.filter { KindSet(a[$0].kind) == kind }, y = b.indices.filter { KindSet(b[$0].kind) == kind }
            if x.count != y.count {
                differing.insert(kind)
                renamed.insert(kind)
            } else if zip(x, y).contains(where: { a[$0.0] != b[$0.1] }) {
                differing.insert(kind)
                if zip(x, y).contains(where: { !UTF8Bytes.equal(a[$0.0].meta.name, b[$0.1].meta.name) }) { renamed.insert(kind) }
            }
        }
        return (differing, renamed)
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
