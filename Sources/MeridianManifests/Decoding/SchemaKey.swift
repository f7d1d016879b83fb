/// The field names of the manifest schema (SPEC §1), each a small number.
///
/// The composer marks every scalar whose text is one of these names, byte for byte, with its
/// number (`YAMLStream.Node.key`). A schema mapping's keys are then matched to its fields, and
/// checked for repeats, by number rather than by comparing text, and such a scalar's text is the
/// name below rather than a string made for it. Any other scalar is marked 0 and keeps its text.
/// The mark is a function of the text alone, so two scalars with the same text have the same
/// mark, and a marked and an unmarked scalar never have the same text.
enum SchemaKey: UInt8, CaseIterable, Sendable {
    // Each case is spelled exactly as its field (its name is the text it matches).
    case apiVersion = 1, kind, metadata, spec
    case name, labels, annotations
    case description, countries
    case provider, location, jurisdiction, state, replicatesTo, capacity, adapter, accelerators
    case type, count, path, url, tokenEnv, command
    case digest, sizeBytes, origin, derivedFrom, fences
    case allow, deny, selector, matchLabels
    case version, artifacts, accelerator
    case mode, regions, standby, failover, weight
    case model, topology, replicas, minReplicas, priority
    case models, allowedVersions

    /// The field's name, as written in a manifest.
    var name: String { Self.names[Int(rawValue)] }

    /// Every name by number; 0 is no name.
    static let names: [String] = {
        var names = [String](repeating: "", count: Int(allCases.last!.rawValue) + 1)
        for key in allCases { names[Int(key.rawValue)] = String(describing: key) }
        return names
    }()

    /// The longest name, in bytes; a scalar longer than this is no name.
    static let maxLength = 15

    /// One slot of the lookup table: a name's bytes as two zero-padded words, its length and
    /// its number (0 for an empty slot).
    private struct Slot {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var length: UInt8 = 0
        var key: UInt8 = 0
    }

    private static let tableSize = 128

    /// Open addressing by a hash of the length and the first and last bytes; linear probing.
    /// Made once and never freed: read through a plain pointer, a lookup (one per scalar)
    /// retains nothing.
    nonisolated(unsafe) private static let table: UnsafePointer<Slot> = {
        let table = UnsafeMutablePointer<Slot>.allocate(capacity: tableSize)
        table.initialize(repeating: Slot(), count: tableSize)
        for key in allCases {
            let bytes = Array(key.name.utf8)
            precondition(!bytes.isEmpty && bytes.count <= maxLength, "schema key '\(key.name)' is longer than \(maxLength) bytes")
            precondition(key.rawValue < 64, "schema keys are numbered below 64 (they are kept as bits of one word)")
            let (low, high) = bytes.withUnsafeBufferPointer { words($0) }
            var i = slot(bytes.count, bytes[0], bytes[bytes.count - 1])
            while table[i].key != 0 { i = (i + 1) & (tableSize - 1) }
            table[i] = Slot(low: low, high: high, length: UInt8(bytes.count), key: key.rawValue)
        }
        return UnsafePointer(table)
    }()

    @inline(__always)
    private static func slot(_ length: Int, _ first: UInt8, _ last: UInt8) -> Int {
        (length &* 41 &+ Int(first) &* 5 &+ Int(last) &* 3) & (tableSize - 1)
    }

    /// Up to 15 bytes as two little-endian words, zero-padded.
    @inline(__always)
    private static func words(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64) {
        var w: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &w) { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
        return w
    }

    /// The number of the name `bytes` spell exactly, or 0.
    static func number(of bytes: UnsafeBufferPointer<UInt8>) -> UInt8 {
        let count = bytes.count
        guard count > 0, count <= maxLength, let base = bytes.baseAddress else { return 0 }
        let table = Self.table
        var i = slot(count, base[0], base[count - 1])
        while true {
            let s = table[i]
            if s.key == 0 { return 0 }
            if Int(s.length) == count {
                let (low, high) = words(bytes)
                if s.low == low && s.high == high { return s.key }
            }
            i = (i + 1) & (tableSize - 1)
        }
    }

    /// The number of the name `text` spells exactly, or 0.
    static func number(of text: String) -> UInt8 {
        var text = text
        return text.withUTF8 { number(of: $0) }
    }
}
