/// A strict JSON reader (RFC 8259) for the region protocol's hot path: the executor reads an
/// observation before every action, and Foundation's `JSONDecoder` was the largest single part
/// of its CPU per action. Bounded: nesting deeper than `maxDepth` is refused, never recursed
/// into. Stricter than `JSONDecoder` where JSON leaves room: a key twice in one object is an
/// error (which value is meant is not said), and text must be valid UTF-8.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits an `Int`.
    case int(Int)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// What the value is, for errors.
    public var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

public struct JSONError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Int {
    /// The integer a number written with a fraction stands for, when that fraction is zero
    /// (`64.0`, `1e3`): JSON Schema counts such a number as an integer (2020-12 §6.1.1), and so do
    /// `JSONDecoder` and the manifests' decoder. Within ±9·10^15, where a double holds every
    /// integer exactly.
    public init?(wholeNumber d: Double) {
        guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        self.init(d)
    }
}

public enum JSONReader {
    public static let maxDepth = 64

    /// A number as an integer, when it is one: written without a fraction, or with one that is
    /// zero (`5.0`, `1e3`, see `Int(wholeNumber:)`).
    public static func integer(_ value: JSONValue) -> Int? {
        switch value {
        case .int(let n): n
        case .double(let d): Int(wholeNumber: d)
        default: nil
        }
    }

    /// Why `value`, read where an integer belongs, is not one.
    static func notInteger(_ value: JSONValue, _ path: String) -> JSONError {
        if case .double(let d) = value {
            if d.isFinite && d == d.rounded() { return JSONError("\(path) must be an integer between -9e15 and 9e15") }
            return JSONError("\(path) must be an integer, not a number with a fraction")
        }
        return JSONError("\(path) must be an integer, not \(value.kind)")
    }

    /// A key given twice in one object: which of the two is meant is not said.
    static func repeatedKey(_ key: String, at offset: Int) -> JSONError {
        JSONError("the key '\(key)' appears twice in one object, at byte \(offset)")
    }

    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        if let result = bytes.withContiguousStorageIfAvailable({ p -> Result<JSONValue, JSONError> in
            Result { () throws(JSONError) in try parse(buffer: p) }
        }) {
            return try result.get()
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { p throws(JSONError) in try parse(buffer: p) }
    }

    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> JSONValue {
        var p = Parser(bytes: buffer)
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == buffer.count else { throw p.error("unexpected text after the JSON value") }
        return value
    }

    /// Reads values from `bytes`; also the tokenizer of the pull decoders (`ObservedJSON.swift`).
    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0
        /// Put before every message about the JSON text itself (not about its content).
        var syntaxPrefix = ""
        /// The strings read with `sharedString` so far, each held once (`SharedStrings`).
        var shared = SharedStrings()

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        /// A problem with the text at the current byte.
        func error(_ message: String) -> JSONError { JSONError("\(syntaxPrefix)\(message) at byte \(i)") }

        /// A problem with the text whose message says where.
        func fail(_ message: String) -> JSONError { JSONError(syntaxPrefix + message) }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x09, 0x0A, 0x0D: i += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONError) -> JSONValue {
            guard i < bytes.count else { throw error("unexpected end of JSON") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                guard depth < JSONReader.maxDepth else { throw error("JSON nested deeper than \(JSONReader.maxDepth)") }
                return try object(depth: depth + 1)
            case UInt8(ascii: "["):
                guard depth < JSONReader.maxDepth else { throw error("JSON nested deeper than \(JSONReader.maxDepth)") }
                return try array(depth: depth + 1)
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"):
                return try number()
            default:
                throw error("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws(JSONError) {
            let n = word.utf8CodeUnitCount
            guard bytes.count - i >= n else { throw error("unexpected end of JSON") }
            for k in 0 ..< n where bytes[i + k] != word.utf8Start[k] { throw error("unexpected character") }
            i += n
        }

        mutating func object(depth: Int) throws(JSONError) -> JSONValue {
            i += 1
            var map: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(map)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
                let keyAt = i
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipSpace()
                let v = try value(depth: depth)
                // Also a key that only differs in how its characters are encoded: one table
                // cannot hold both, and which is meant is not said.
                guard map.updateValue(v, forKey: key) == nil else {
                    throw JSONReader.repeatedKey(key, at: keyAt)
                }
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of JSON") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
                i += 1
                return .object(map)
            }
        }

        mutating func array(depth: Int) throws(JSONError) -> JSONValue {
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try value(depth: depth))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of JSON") }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
                i += 1
                return .array(items)
            }
        }

        mutating func string() throws(JSONError) -> String {
            i += 1
            let start = i
            // Most strings have no escape: taken whole from the input.
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start ..< i])
                    i += 1
                    guard let s = UTF8Bytes.string(validating: slice) else { throw fail("a string that is not valid UTF-8 at byte \(start)") }
                    return s
                }
                if b == UInt8(ascii: "\\") { break }
                guard b >= 0x20 else { throw error("a control character in a string") }
                i += 1
            }
            var out = Array(bytes[start ..< i])
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    guard let s = out.withUnsafeBufferPointer({ UTF8Bytes.string(validating: $0) }) else { throw fail("a string that is not valid UTF-8 at byte \(start)") }
                    return s
                }
                guard b >= 0x20 else { throw error("a control character in a string") }
                guard b == UInt8(ascii: "\\") else {
                    out.append(b)
                    i += 1
                    continue
                }
                i += 1
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800 ..< 0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        guard bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("an unpaired surrogate in a string")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00 ..< 0xE000).contains(low) else { throw error("an unpaired surrogate in a string") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00 ..< 0xE000).contains(scalar) {
                        throw error("an unpaired surrogate in a string")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("an invalid escape in a string") }
                    out.append(contentsOf: UTF8.encode(u)!)
                default:
                    throw error("an invalid escape in a string")
                }
            }
            throw fail("a string that does not end, from byte \(start - 1)")
        }

        mutating func hex4() throws(JSONError) -> UInt32 {
            guard bytes.count - i >= 4 else { throw error("unexpected end of JSON") }
            var v: UInt32 = 0
            for _ in 0 ..< 4 {
                let b = bytes[i]
                let d: UInt32
                switch b {
                case UInt8(ascii: "0") ... UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a") ... UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A") ... UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw error("an invalid \\u escape in a string")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func number() throws(JSONError) -> JSONValue {
            let start = i
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) else { throw error("a number without digits") }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
            } else {
                while i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            }
            var integral = true
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
                integral = false
                i += 1
                guard i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) else { throw error("a number without digits after '.'") }
                while i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                integral = false
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) else { throw error("a number without digits in its exponent") }
                while i < bytes.count, (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start ..< i]), as: UTF8.self)
            if integral, let n = Int(text) { return .int(n) }
            guard let d = Double(text) else { throw fail("the number \(text) at byte \(start) cannot be read") }
            return .double(d)
        }
    }
}

/// Typed access to a JSON object's fields, with the same rules as the `Codable` forms it stands
/// in for: a field that is absent or null is nil, and a required one must be there.
public struct JSONFields {
    public let map: [String: JSONValue]
    /// Where the object is, for errors (`deployments.p1`).
    public let path: String

    public init(_ value: JSONValue, path: String) throws(JSONError) {
        guard case .object(let map) = value else {
            throw JSONError("\(path.isEmpty ? "the value" : path) must be an object, not \(value.kind)")
        }
        self.map = map
        self.path = path
    }

    func at(_ key: String) -> String { JSONReader.Member(path: path, key: key).at }

    public func optional(_ key: String) -> JSONValue? {
        switch map[key] {
        case nil, .null?: nil
        case let v?: v
        }
    }

    public func required(_ key: String) throws(JSONError) -> JSONValue {
        guard let v = optional(key) else { throw JSONError("\(at(key)): missing") }
        return v
    }

    public func int(_ key: String) throws(JSONError) -> Int {
        try Self.int(try required(key), at(key))
    }

    public func intIfPresent(_ key: String) throws(JSONError) -> Int? {
        guard let v = optional(key) else { return nil }
        return try Self.int(v, at(key))
    }

    public func bool(_ key: String) throws(JSONError) -> Bool {
        try Self.bool(try required(key), at(key))
    }

    public func boolIfPresent(_ key: String) throws(JSONError) -> Bool? {
        guard let v = optional(key) else { return nil }
        return try Self.bool(v, at(key))
    }

    public func string(_ key: String) throws(JSONError) -> String {
        try Self.string(try required(key), at(key))
    }

    public func stringIfPresent(_ key: String) throws(JSONError) -> String? {
        guard let v = optional(key) else { return nil }
        return try Self.string(v, at(key))
    }

    /// An object's entries, each read by `read`.
    public func mapIfPresent<T>(_ key: String, _ read: (JSONValue, String) throws(JSONError) -> T) throws(JSONError) -> [String: T]? {
        guard let v = optional(key) else { return nil }
        guard case .object(let entries) = v else { throw JSONError("\(at(key)) must be an object, not \(v.kind)") }
        var out: [String: T] = [:]
        out.reserveCapacity(entries.count)
        for (k, item) in entries { out[k] = try read(item, "\(at(key)).\(k)") }
        return out
    }

    public func arrayIfPresent<T>(_ key: String, _ read: (JSONValue, String) throws(JSONError) -> T) throws(JSONError) -> [T]? {
        guard let v = optional(key) else { return nil }
        guard case .array(let items) = v else { throw JSONError("\(at(key)) must be an array, not \(v.kind)") }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() { out.append(try read(item, "\(at(key))[\(n)]")) }
        return out
    }

    public static func int(_ v: JSONValue, _ path: String) throws(JSONError) -> Int {
        if let n = JSONReader.integer(v) { return n }
        throw JSONReader.notInteger(v, path)
    }

    public static func bool(_ v: JSONValue, _ path: String) throws(JSONError) -> Bool {
        guard case .bool(let b) = v else { throw JSONError("\(path) must be a boolean, not \(v.kind)") }
        return b
    }

    public static func string(_ v: JSONValue, _ path: String) throws(JSONError) -> String {
        guard case .string(let s) = v else { throw JSONError("\(path) must be a string, not \(v.kind)") }
        return s
    }
}
