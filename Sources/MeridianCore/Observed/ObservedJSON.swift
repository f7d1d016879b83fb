// Observations and snapshots read straight from their JSON text, without building a tree of
// `JSONValue`s first: a 10 MB snapshot's tree was 1–2 MB more at the peak of a 100,000-object plan,
// and reading it through `JSONDecoder` took a quarter of a second of CPU on a core the manifests'
// parse needs. The rules are those of the `Decodable` forms (absent or null fields take their
// defaults, unknown fields are ignored, an integer may be written `5.0` or `1e3`), with
// `JSONReader`'s strictness: a key twice in one object is an error.

extension ObservedState {
    /// The snapshot (SPEC §3) from its JSON text. Problems with the text itself are said as
    /// "not valid JSON: …"; problems with its content name the field (`regions.r1.generation`).
    public init(json bytes: some Collection<UInt8>) throws(JSONError) {
        self = try JSONReader.decode(bytes, syntaxPrefix: "not valid JSON: ") { p throws(JSONError) in
            var formatVersion: Int?
            var regions: [String: RegionObservation]?
            try p.fields(depth: 0, path: "", known: ["formatVersion", "regions"]) { p, field, m throws(JSONError) in
                if try p.isNull() { return }
                if field == 0 {
                    formatVersion = try p.int(m.at)
                } else {
                    regions = try p.map(depth: 1, path: m.at) { p, entry throws(JSONError) in
                        try RegionObservation(reading: &p, depth: 2, path: entry.at)
                    }
                }
            }
            guard let formatVersion else { throw JSONReader.missing("", "formatVersion") }
            guard let regions else { throw JSONReader.missing("", "regions") }
            var state = ObservedState(regions: regions)
            state.formatVersion = formatVersion
            return state
        }
    }
}

extension RegionObservation {
    /// The observation from its JSON form, as `Decodable` reads it (absent or null fields take
    /// their defaults; unknown fields are ignored), without Foundation: the executor reads one
    /// before every action. Stricter in one place: a key twice in one object is an error.
    public init(json bytes: some Collection<UInt8>) throws(JSONError) {
        self = try JSONReader.decode(bytes, syntaxPrefix: "") { p throws(JSONError) in
            try RegionObservation(reading: &p, depth: 0, path: "")
        }
    }

    private static let fields = ["reachable", "generation", "jurisdiction", "capacity", "artifacts", "deployments", "traffic"]

    /// One observation object, at `depth` levels of nesting, named `path` in messages.
    init(reading p: inout JSONReader.Parser, depth: Int, path: String) throws(JSONError) {
        var o = RegionObservation()
        try p.fields(depth: depth, path: path, known: Self.fields) { p, field, m throws(JSONError) in
            // A null is the field's default, as `decodeIfPresent` reads it.
            if try p.isNull() { return }
            switch field {
            case 0: o.reachable = try p.bool(m.at)
            case 1: o.generation = try p.int(m.at)
            case 2: o.jurisdiction = try p.string(m.at)
            case 3:
                o.capacity = try p.map(depth: depth + 1, path: m.at) { p, entry throws(JSONError) in
                    var total: Int?, free: Int?
                    try p.fields(depth: depth + 2, entry: entry, known: ["total", "free"]) { p, field, m throws(JSONError) in
                        if try p.isNull() { return }
                        if field == 0 { total = try p.int(m.at) } else { free = try p.int(m.at) }
                    }
                    guard let total else { throw JSONReader.missing(entry.at, "total") }
                    guard let free else { throw JSONReader.missing(entry.at, "free") }
                    return AcceleratorCapacity(total: total, free: free)
                }
            case 4:
                o.artifacts = try p.map(depth: depth + 1, path: m.at) { p, entry throws(JSONError) in
                    var digest: String?
                    try p.fields(depth: depth + 2, entry: entry, known: ["digest"]) { p, _, m throws(JSONError) in
                        if try !p.isNull() { digest = try p.sharedString(m.at) }
                    }
                    guard let digest else { throw JSONReader.missing(entry.at, "digest") }
                    return ObservedArtifact(digest: digest)
                }
            case 5:
                o.deployments = try p.map(depth: depth + 1, path: m.at) { p, entry throws(JSONError) in
                    var model: String?, version: String?, replicas: Int?, ready: Int?
                    try p.fields(depth: depth + 2, entry: entry, known: ["model", "version", "replicas", "ready"]) { p, field, m throws(JSONError) in
                        if try p.isNull() { return }
                        switch field {
                        case 0: model = try p.string(m.at)
                        case 1: version = try p.string(m.at)
                        case 2: replicas = try p.int(m.at)
                        default: ready = try p.int(m.at)
                        }
                    }
                    // In the order the `Decodable` form asks for them.
                    guard let model else { throw JSONReader.missing(entry.at, "model") }
                    guard let version else { throw JSONReader.missing(entry.at, "version") }
                    guard let replicas else { throw JSONReader.missing(entry.at, "replicas") }
                    guard let ready else { throw JSONReader.missing(entry.at, "ready") }
                    return ObservedDeployment(model: model, version: version, replicas: replicas, ready: ready)
                }
            default:
                o.traffic = try p.map(depth: depth + 1, path: m.at) { p, entry throws(JSONError) in try p.int(entry.at) }
            }
        }
        self = o
    }
}

extension JSONReader {
    /// Runs `body` over the whole of `bytes`, which must hold one value and nothing after it.
    static func decode<T>(_ bytes: some Collection<UInt8>, syntaxPrefix: String,
                          _ body: (inout Parser) throws(JSONError) -> T) throws(JSONError) -> T {
        func run(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONError) -> T {
            var p = Parser(bytes: buffer)
            p.syntaxPrefix = syntaxPrefix
            p.skipSpace()
            let value = try body(&p)
            p.skipSpace()
            guard p.i == buffer.count else { throw p.error("unexpected text after the JSON value") }
            return value
        }
        if let result = bytes.withContiguousStorageIfAvailable({ b -> Result<T, JSONError> in
            Result { () throws(JSONError) in try run(b) }
        }) {
            return try result.get()
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { b throws(JSONError) in try run(b) }
    }

    /// A field being read: where, for messages (`regions.r1.generation`), made only for a
    /// message (a snapshot's entries are tens of thousands: their paths, written out each,
    /// were a sixth of reading it). `entry` is the key of a map's entry the field is in.
    struct Member {
        let path: String
        var entry: String? = nil
        let key: String
        var at: String {
            var at = path
            for part in [entry, key] {
                guard let part else { continue }
                at = at.isEmpty ? part : "\(at).\(part)"
            }
            return at
        }
    }

    /// A required field that is absent or null.
    static func missing(_ path: String, _ key: String) -> JSONError {
        JSONError("\(Member(path: path, key: key).at): missing")
    }

    /// The members of one object being read: where it is, for messages, and which of its
    /// fields were seen, so that a key given twice is refused (as `parse` refuses it).
    struct Fields {
        /// The object's own nesting depth (the top-level value is at 0); its members are one deeper.
        let depth: Int
        var first = true
        /// Key offset of the current member, for messages.
        var keyAt = 0
        /// Known fields seen, by the bit each reader gives them.
        var known: UInt32 = 0
        /// Other keys seen; allocated only for an object that has any.
        var others: [String] = []

        init(depth: Int) {
            self.depth = depth
        }

        /// Marks known field number `bit` seen; a second time is an error.
        mutating func once(_ bit: Int, _ key: String) throws(JSONError) {
            guard known & (1 << bit) == 0 else { throw JSONReader.repeatedKey(key, at: keyAt) }
            known |= 1 << bit
        }

        /// An unknown field: checked for repetition, its value read and ignored.
        mutating func other(_ key: String, _ p: inout Parser) throws(JSONError) {
            // As `parse` compares keys: as Strings, which equates canonically equivalent ones.
            guard !others.contains(key) else { throw JSONReader.repeatedKey(key, at: keyAt) }
            others.append(key)
            _ = try p.value(depth: depth + 1)
        }
    }
}

extension JSONReader.Parser {
    /// What the next value is, for messages; a byte no value starts with is a syntax error.
    mutating func kindOfNext() throws(JSONError) -> String {
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return "a number"
        default: throw error("unexpected character")
        }
    }

    /// Reads a `null` if one is next.
    mutating func isNull() throws(JSONError) -> Bool {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// Enters an object at `depth` levels of nesting (the top-level value is at 0).
    mutating func openObject(depth: Int, path: @autoclosure () -> String) throws(JSONError) {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else {
            let kind = try kindOfNext()
            throw JSONError("\(path()) must be an object, not \(kind)")
        }
        guard depth < JSONReader.maxDepth else { throw error("JSON nested deeper than \(JSONReader.maxDepth)") }
        i += 1
    }

    /// The next member's key, with the parser at its value; nil after the object's `}`.
    mutating func nextMember(_ fields: inout JSONReader.Fields) throws(JSONError) -> String? {
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of JSON") }
        if fields.first {
            fields.first = false
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return nil
            }
        } else {
            if bytes[i] == UInt8(ascii: "}") {
                i += 1
                return nil
            }
            guard bytes[i] == UInt8(ascii: ",") else { throw error("expected ',' or '}'") }
            i += 1
            skipSpace()
        }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
        fields.keyAt = i
        let key = try string()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
        i += 1
        skipSpace()
        return key
    }

    /// An object at `depth` with the fields `known`: `read` gets each known field present, by
    /// its index in `known`, with the parser at its value; unknown fields are read and ignored;
    /// a key given twice is an error.
    mutating func fields(depth: Int, path: String, known: [String],
                         _ read: (inout Self, Int, JSONReader.Member) throws(JSONError) -> Void) throws(JSONError) {
        var fields = JSONReader.Fields(depth: depth)
        try openObject(depth: depth, path: path.isEmpty ? "the value" : path)
        while let key = try nextMember(&fields) {
            if let field = known.firstIndex(of: key) {
                try fields.once(field, key)
                try read(&self, field, JSONReader.Member(path: path, key: key))
            } else {
                try fields.other(key, &self)
            }
        }
    }

    /// `fields` of the object that is the value of a map's `entry`: named in messages by the
    /// entry's path, made only for a message.
    mutating func fields(depth: Int, entry: JSONReader.Member, known: [String],
                         _ read: (inout Self, Int, JSONReader.Member) throws(JSONError) -> Void) throws(JSONError) {
        var fields = JSONReader.Fields(depth: depth)
        try openObject(depth: depth, path: { let at = entry.at; return at.isEmpty ? "the value" : at }())
        while let key = try nextMember(&fields) {
            if let field = known.firstIndex(of: key) {
                try fields.once(field, key)
                try read(&self, field, JSONReader.Member(path: entry.path, entry: entry.key, key: key))
            } else {
                try fields.other(key, &self)
            }
        }
    }

    /// An object of entries, each read by `read` (an object at `depth`; its values one deeper),
    /// which is given the entry (its path is `entry.at`).
    mutating func map<T>(depth: Int, path: String, _ read: (inout Self, JSONReader.Member) throws(JSONError) -> T) throws(JSONError) -> [String: T] {
        var fields = JSONReader.Fields(depth: depth)
        try openObject(depth: depth, path: path)
        var out: [String: T] = [:]
        while let key = try nextMember(&fields) {
            let keyAt = fields.keyAt
            let value = try read(&self, JSONReader.Member(path: path, key: key))
            // Also a key that only differs in how its characters are encoded, as `parse` says.
            guard out.updateValue(value, forKey: key) == nil else { throw JSONReader.repeatedKey(key, at: keyAt) }
        }
        return out
    }

    mutating func int(_ path: @autoclosure () -> String) throws(JSONError) -> Int {
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || (UInt8(ascii: "0") ... UInt8(ascii: "9")).contains(bytes[i]) {
            let value = try number()
            if let n = JSONReader.integer(value) { return n }
            throw JSONReader.notInteger(value, path())
        }
        let kind = try kindOfNext()
        throw JSONError("\(path()) must be an integer, not \(kind)")
    }

    mutating func bool(_ path: @autoclosure () -> String) throws(JSONError) -> Bool {
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "f") {
            try literal("false")
            return false
        }
        let kind = try kindOfNext()
        throw JSONError("\(path()) must be a boolean, not \(kind)")
    }

    mutating func string(_ path: @autoclosure () -> String) throws(JSONError) -> String {
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") { return try string() }
        let kind = try kindOfNext()
        throw JSONError("\(path()) must be a string, not \(kind)")
    }

    /// `string`, held once however often its text recurs (`SharedStrings`): a string written
    /// without escapes is looked up by its bytes, before any string is made; one with escapes
    /// is read, then looked up by what it spells.
    mutating func sharedString(_ path: @autoclosure () -> String) throws(JSONError) -> String {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return try string(path()) }
        var end = i + 1
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            let raw = UnsafeBufferPointer(rebasing: bytes[i + 1 ..< end])
            // Taken out while `string()` reads the parser (the two may not be borrowed at once).
            var table = SharedStrings()
            swap(&table, &shared)
            defer { swap(&table, &shared) }
            let found = try table.string(raw) { () throws(JSONError) in try string() }
            i = end + 1
            return found
        }
        let made = try string()
        var read = made
        return read.withUTF8 { raw in shared.string(raw) { made } }
    }
}
