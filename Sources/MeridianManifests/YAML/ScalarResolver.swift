/// YAML 1.2 core schema resolution of plain scalars (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
/// 1.2, not 1.1: `NO` (Norway), `yes` and `on` are strings, as they are to ruamel.yaml and to
/// editors' YAML language servers, so the JSON Schemas and Meridian read the same values.
///
/// It runs on every plain scalar of every file, so it works on the bytes libyaml hands over and
/// decides most scalars by their first byte: only `~`, `n N t T f F`, `<`, `.`, `+`, `-` and digits
/// can begin anything but a string.
enum ScalarResolver {
    static func resolvePlain(_ s: String) -> YAMLStream.ScalarType {
        var s = s
        return s.withUTF8 { resolvePlain(bytes: $0) }
    }

    static func resolvePlain(bytes b: UnsafeBufferPointer<UInt8>) -> YAMLStream.ScalarType {
        guard let first = b.first else { return .null }
        switch first {
        case 0x7E:  // ~
            return b.count == 1 ? .null : .string
        case 0x6E, 0x4E:  // n N
            return equalsAny(b, ["null", "Null", "NULL"]) ? .null : .string
        case 0x74, 0x54, 0x66, 0x46:  // t T f F
            return equalsAny(b, ["true", "True", "TRUE", "false", "False", "FALSE"]) ? .bool : .string
        case 0x3C:  // <
            return b.count == 2 && b[1] == 0x3C ? .merge : .string
        case 0x2E, 0x2B, 0x2D, 0x30 ... 0x39:  // . + - digits
            if isInt(b) { return .int }
            if isFloat(b) { return .float }
            return .string
        default:
            return .string
        }
    }

    private static func equalsAny(_ b: UnsafeBufferPointer<UInt8>, _ words: [StaticString]) -> Bool {
        words.contains { w in
            w.utf8CodeUnitCount == b.count && UnsafeBufferPointer(start: w.utf8Start, count: w.utf8CodeUnitCount).elementsEqual(b)
        }
    }

    static func isInt(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var b = bytes[...]
        if b.starts(with: "0o".utf8) {
            b = b.dropFirst(2)
            return !b.isEmpty && b.allSatisfy { $0 >= 0x30 && $0 <= 0x37 }
        }
        if b.starts(with: "0x".utf8) {
            b = b.dropFirst(2)
            return !b.isEmpty && b.allSatisfy(isHex)
        }
        if let f = b.first, f == 0x2B || f == 0x2D { b = b.dropFirst() }
        return !b.isEmpty && b.allSatisfy(isDigit)
    }

    static func isFloat(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if equalsAny(b, [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"]) {
            return true
        }
        // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        var i = 0
        if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
        var mantissaDigits = 0
        while i < b.count, isDigit(b[i]) { i += 1; mantissaDigits += 1 }
        if i < b.count, b[i] == 0x2E {
            i += 1
            while i < b.count, isDigit(b[i]) { i += 1; mantissaDigits += 1 }
        }
        guard mantissaDigits > 0 else { return false }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            var expDigits = 0
            while i < b.count, isDigit(b[i]) { i += 1; expDigits += 1 }
            guard expDigits > 0 else { return false }
        }
        return i == b.count
    }

    /// The value of a core-schema integer, nil when it does not fit in 64 bits.
    static func intValue(_ s: String) -> Int? {
        if s.hasPrefix("0o") { return Int(s.dropFirst(2), radix: 8) }
        if s.hasPrefix("0x") { return Int(s.dropFirst(2), radix: 16) }
        if s.hasPrefix("+") { return Int(s.dropFirst()) }
        return Int(s)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
    }
}
