internal import MeridianCore

/// A string that equals only a byte-for-byte identical string (String's own `==` also equates
/// canonically equivalent Unicode): a key for tables whose entries must stay exactly as written
/// (a large YAML mapping's keys).
struct ExactString: Hashable {
    let value: String
    init(_ value: String) { self.value = value }
    // Byte-equal strings are String-equal, so String's hash agrees with this equality.
    func hash(into hasher: inout Hasher) { hasher.combine(value) }
    static func == (a: ExactString, b: ExactString) -> Bool { UTF8Bytes.equal(a.value, b.value) }
}
