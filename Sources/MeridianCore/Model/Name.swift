/// A kind of object whose names form their own namespace.
public protocol NameSpace: Sendable {
    static var kindName: String { get }
}

public enum JurisdictionSpace: NameSpace { public static let kindName = "Jurisdiction" }
public enum RegionSpace: NameSpace { public static let kindName = "Region" }
public enum ArtifactSpace: NameSpace { public static let kindName = "Artifact" }
public enum FenceSpace: NameSpace { public static let kindName = "ResidencyFence" }
public enum ModelSpace: NameSpace { public static let kindName = "Model" }
public enum TopologySpace: NameSpace { public static let kindName = "Topology" }
public enum PlacementSpace: NameSpace { public static let kindName = "Placement" }
public enum GuardrailSpace: NameSpace { public static let kindName = "Guardrail" }

/// A typed object name: a `RegionName` can never be passed where an `ArtifactName` is expected.
/// Names compare byte for byte (never with Unicode canonical equivalence), and only DNS labels
/// are valid, so look-alike characters cannot alias two names.
public struct Name<Space: NameSpace>: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    // Bytes, not String's ==, which treats canonically equivalent Unicode as equal: names stay
    // distinct byte for byte. String's hash is consistent with that: byte-equal names are
    // String-equal, so they hash alike.
    public static func == (a: Name, b: Name) -> Bool { UTF8Bytes.equal(a.rawValue, b.rawValue) }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
    public static func < (a: Name, b: Name) -> Bool { UTF8Bytes.less(a.rawValue, b.rawValue) }
}

public typealias JurisdictionName = Name<JurisdictionSpace>
public typealias RegionName = Name<RegionSpace>
public typealias ArtifactName = Name<ArtifactSpace>
public typealias FenceName = Name<FenceSpace>
public typealias ModelName = Name<ModelSpace>
public typealias TopologyName = Name<TopologySpace>
public typealias PlacementName = Name<PlacementSpace>
public typealias GuardrailName = Name<GuardrailSpace>

public enum DNSLabel {
    /// `^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`, checked on bytes.
    public static func isValid(_ s: String) -> Bool {
        if let valid = s.utf8.withContiguousStorageIfAvailable({ isValid(utf8: $0) }) { return valid }
        return isValid(utf8: Array(s.utf8))
    }

    /// The same check on a name's bytes (a decoder's, before any string is made of them).
    public static func isValid(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 63 else { return false }
        @inline(__always) func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard alnum(bytes[0]), alnum(bytes[bytes.count - 1]) else { return false }
        for b in bytes where !alnum(b) && b != 0x2D { return false }
        return true
    }

    private static func isValid(utf8 bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { isValid(utf8: $0) }
    }

    public static let pattern = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
}

/// Byte equality of strings' UTF-8, never Unicode canonical equivalence.
public enum UTF8Bytes {
    /// Eight bytes at a time: names and keys are compared in every lookup the planner and the
    /// composer make, and a generic byte-by-byte loop was a twentieth of a large plan.
    public static func equal(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { p in
            b.utf8.withContiguousStorageIfAvailable { q in equal(p, q) }
        }
        if let fast, let result = fast { return result }
        return a.utf8.elementsEqual(b.utf8)
    }

    /// The string `bytes` spell, or nil if they are not valid UTF-8. ASCII (almost every name,
    /// path and JSON string) is checked here and taken as it is: `String(validating:as:)`
    /// looked its generic types up at run time on every call, a third of reading a snapshot.
    public static func string(validating bytes: UnsafeBufferPointer<UInt8>) -> String? {
        isASCII(bytes) ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
    }

    /// Whether every byte is below 0x80, eight at a time.
    public static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        let n = bytes.count
        var i = 0
        var high: UInt64 = 0
        while i + 8 <= n {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < n {
            high |= UInt64(base[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    /// Byte-wise lexicographic order (a prefix first), eight bytes at a time.
    public static func less(_ a: String, _ b: String) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { p in
            b.utf8.withContiguousStorageIfAvailable { q in less(p, q) }
        }
        if let fast, let result = fast { return result }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    public enum Order { case less, equal, greater }

    /// Byte-wise three-way comparison (a prefix first): one pass where `!=` then `<` made two.
    public static func compare(_ a: String, _ b: String) -> Order {
        let fast = a.utf8.withContiguousStorageIfAvailable { p in
            b.utf8.withContiguousStorageIfAvailable { q in compare(p, q) }
        }
        if let fast, let result = fast { return result }
        if a.utf8.elementsEqual(b.utf8) { return .equal }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? .less : .greater
    }

    @inline(__always)
    public static func compare(_ p: UnsafeBufferPointer<UInt8>, _ q: UnsafeBufferPointer<UInt8>) -> Order {
        let n = min(p.count, q.count)
        if n > 0, let a = p.baseAddress, let b = q.baseAddress {
            let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
            var i = 0
            while i + 8 <= n {
                // Big-endian, so that the first differing byte decides, as in a byte-wise compare.
                let x = ra.loadUnaligned(fromByteOffset: i, as: UInt64.self).bigEndian
                let y = rb.loadUnaligned(fromByteOffset: i, as: UInt64.self).bigEndian
                if x != y { return x < y ? .less : .greater }
                i += 8
            }
            while i < n {
                if a[i] != b[i] { return a[i] < b[i] ? .less : .greater }
                i += 1
            }
        }
        return p.count < q.count ? .less : p.count > q.count ? .greater : .equal
    }

    @inline(__always)
    public static func less(_ p: UnsafeBufferPointer<UInt8>, _ q: UnsafeBufferPointer<UInt8>) -> Bool {
        compare(p, q) == .less
    }

    @inline(__always)
    public static func equal(_ p: UnsafeBufferPointer<UInt8>, _ q: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = p.count
        guard n == q.count else { return false }
        guard n > 0, let a = p.baseAddress, let b = q.baseAddress else { return true }
        if a == b { return true }
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var i = 0
        while i + 8 <= n {
            if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }
}
