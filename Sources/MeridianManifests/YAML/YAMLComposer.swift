internal import CLibYAML
internal import MeridianCore

/// Bounds that keep hostile YAML from hanging or exhausting memory (SPEC §1).
public struct YAMLLimits: Sendable {
    /// Expanded nodes that aliases (and merges through them) may add to one document.
    public var maxAliasExpansion = 10_000
    public var maxDepth = 64
    public var maxDocumentBytes = 64 << 20

    public init() {}
}

/// Composes libyaml's event stream into a `YAMLStream`, without recursion: nesting is an
/// explicit stack bounded by `maxDepth`, so a 200,000-deep `[[[…` is an error, not a crash.
///
/// A struct, so that its state is checked for exclusive access at compile time: as a class,
/// the run-time checks on every append were a sixteenth of a load.
struct YAMLComposer {
    /// Ownership follows ARCHITECTURE.md: the parser, the event and the input bytes are
    /// allocated here and freed in `deinit`; libyaml keeps a pointer to the input between
    /// `yaml_parser_parse` calls, so the input is storage this object owns for the parser's
    /// whole life.
    private final class LibYAML {
        let parser: UnsafeMutablePointer<yaml_parser_t>
        let event: UnsafeMutablePointer<yaml_event_t>
        let input: UnsafeMutableRawBufferPointer

        init(bytes: some Collection<UInt8>) {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            // One memcpy when the bytes are contiguous (an array), element by element otherwise.
            let copied: Bool? = bytes.withContiguousStorageIfAvailable { source in
                if let base = source.baseAddress { buffer.baseAddress!.copyMemory(from: base, byteCount: source.count) }
                return true
            }
            if copied == nil { _ = buffer.initializeMemory(as: UInt8.self, from: bytes) }
            input = buffer
            parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
            yaml_parser_initialize(parser)
            yaml_parser_set_input_string(parser, input.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
        }

        deinit {
            yaml_parser_delete(parser)
            parser.deallocate()
            event.deallocate()
            input.deallocate()
        }
    }

    private let yaml: LibYAML
    private var parser: UnsafeMutablePointer<yaml_parser_t> { yaml.parser }
    private var event: UnsafeMutablePointer<yaml_event_t> { yaml.event }
    private var input: UnsafeMutableRawBufferPointer { yaml.input }
    private let file: String
    private let limits: YAMLLimits

    private var stream = YAMLStream()
    private(set) var diagnostics: [Diagnostic] = []
    /// A fatal problem stops composition: libyaml cannot resume after its own errors, and a
    /// bound that was hit must not be worked around.
    private var fatal = false

    private struct Open {
        var node: Int32
        var scratchStart: Int
        var size: Int
    }

    private var stack: [Open] = []
    private var scratch: [Int32] = []
    /// Expanded size of each node (1 + its children's, aliases counted in full).
    private var sizes: [Int] = []
    private var anchors: [String: Int32] = [:]
    private var aliasBudgetUsed = 0
    private var documentRoot: Int32?

    private init(bytes: some Collection<UInt8>, file: String, limits: YAMLLimits) {
        self.file = file
        self.limits = limits
        yaml = LibYAML(bytes: bytes)
    }

    /// Composes every document of `bytes`. The stream is usable only when no diagnostic is an
    /// error; callers must not decode a partial read.
    static func compose(_ bytes: some Collection<UInt8>, file: String, limits: YAMLLimits = YAMLLimits()) -> (YAMLStream, [Diagnostic]) {
        if bytes.count > limits.maxDocumentBytes {
            return (YAMLStream(), [Diagnostic(.yamlSize,
                "file is \(bytes.count) bytes; a manifest document may be at most \(limits.maxDocumentBytes) bytes",
                at: SourceLocation(file: file, line: 1, column: 1))])
        }
        var composer = YAMLComposer(bytes: bytes, file: file, limits: limits)
        composer.run()
        return (composer.stream, composer.diagnostics)
    }

    private func location(line: Int, column: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column)
    }

    private mutating func fail(_ rule: Rule, _ message: String, line: Int, column: Int) {
        diagnostics.append(Diagnostic(rule, message, at: location(line: line, column: column)))
        fatal = true
    }

    private mutating func report(_ rule: Rule, _ message: String, line: Int32, column: Int32) {
        diagnostics.append(Diagnostic(rule, message, at: location(line: Int(line), column: Int(column))))
    }

    private mutating func run() {
        stream.nodes.reserveCapacity(input.count / 8)
        while !fatal {
            guard yaml_parser_parse(parser, event) == 1 else {
                parserError()
                return
            }
            let done = event.pointee.type == YAML_STREAM_END_EVENT
            handleEvent()
            yaml_event_delete(event)
            if done { return }
        }
    }

    private mutating func parserError() {
        let p = parser.pointee
        var message = p.problem.map { String(cString: $0) } ?? "unknown YAML error"
        if let context = p.context.map({ String(cString: $0) }) {
            message += " \(context)"
        }
        var line: Int
        var column: Int
        if p.error == YAML_READER_ERROR {
            // Reader errors carry a byte offset, not a mark: find its line and column.
            (line, column) = lineAndColumn(ofOffset: Int(p.problem_offset))
            if p.problem_value != -1 && p.problem_value >= 0 {
                let hex = String(UInt8(truncatingIfNeeded: p.problem_value), radix: 16, uppercase: true)
                message += " (byte 0x\(hex.count == 1 ? "0" + hex : hex))"
            }
        } else {
            line = Int(p.problem_mark.line) + 1
            column = Int(p.problem_mark.column) + 1
        }
        let isEncoding = p.error == YAML_READER_ERROR
        fail(isEncoding ? .yamlEncoding : .yamlSyntax, message, line: line, column: column)
    }

    private func lineAndColumn(ofOffset offset: Int) -> (Int, Int) {
        var line = 1
        var lineStart = 0
        let bytes = input.bindMemory(to: UInt8.self)
        let end = min(offset, bytes.count)
        for i in 0 ..< end where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        return (line, end - lineStart + 1)
    }

    private mutating func handleEvent() {
        let e = event.pointee
        let line = Int32(clamping: e.start_mark.line + 1)
        let column = Int32(clamping: e.start_mark.column + 1)
        switch e.type {
        case YAML_DOCUMENT_START_EVENT:
            anchors.removeAll(keepingCapacity: true)
            aliasBudgetUsed = 0
            documentRoot = nil
        case YAML_DOCUMENT_END_EVENT:
            if let root = documentRoot {
                let node = stream[root]
                // An empty document (or a bare `~`/`null`) is skipped, as SPEC §1 says.
                let empty = node.kind == .scalar && node.plain && node.scalarType == .null
                if !empty { stream.documents.append(root) }
            }
        case YAML_SCALAR_EVENT:
            let s = e.data.scalar
            let text = String(decoding: UnsafeRawBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            let tag = s.tag.map { String(cString: $0) }
            let plainStyle = s.style == YAML_PLAIN_SCALAR_STYLE
            var type: YAMLStream.ScalarType
            if let tag {
                type = resolveTaggedScalar(tag: tag, text: text, line: line, column: column)
            } else {
                type = plainStyle ? ScalarResolver.resolvePlain(bytes: UnsafeBufferPointer(start: s.value, count: s.length)) : .string
            }
            let index = appendNode(YAMLStream.Node(kind: .scalar, scalarType: type, plain: plainStyle && tag == nil,
                                                   line: line, column: column, childStart: 0, childCount: 0, text: text), size: 1)
            if let anchor = s.anchor { anchors[String(cString: anchor)] = index }
            attach(index)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            let isMap = e.type == YAML_MAPPING_START_EVENT
            let tagPtr = isMap ? e.data.mapping_start.tag : e.data.sequence_start.tag
            let anchorPtr = isMap ? e.data.mapping_start.anchor : e.data.sequence_start.anchor
            if let tag = tagPtr.map({ String(cString: $0) }) {
                let expected = isMap ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq"
                if tag != expected && tag != "!" {
                    report(.yamlTag, "tag '\(displayTag(tag))' is not allowed: only the YAML core schema's tags are", line: line, column: column)
                }
            }
            if stack.count >= limits.maxDepth {
                fail(.yamlDepth, "nesting is deeper than \(limits.maxDepth) levels", line: Int(line), column: Int(column))
                return
            }
            let index = appendNode(YAMLStream.Node(kind: isMap ? .mapping : .sequence, scalarType: .null, plain: false,
                                                   line: line, column: column, childStart: 0, childCount: 0, text: ""), size: 1)
            if let anchor = anchorPtr { anchors[String(cString: anchor)] = index }
            stack.append(Open(node: index, scratchStart: scratch.count, size: 1))
        case YAML_SEQUENCE_END_EVENT:
            guard let open = stack.popLast() else { return }
            let start = Int32(stream.children.count)
            stream.children.append(contentsOf: scratch[open.scratchStart...])
            scratch.removeSubrange(open.scratchStart...)
            stream.nodes[Int(open.node)].childStart = start
            stream.nodes[Int(open.node)].childCount = Int32(stream.children.count) - start
            sizes[Int(open.node)] = open.size
            attach(open.node)
        case YAML_MAPPING_END_EVENT:
            guard let open = stack.popLast() else { return }
            finishMapping(open)
            attach(open.node)
        case YAML_ALIAS_EVENT:
            let name = String(cString: e.data.alias.anchor)
            guard let target = anchors[name] else {
                fail(.yamlAlias, "alias '*\(name)' refers to no anchor defined before it", line: Int(line), column: Int(column))
                return
            }
            if stack.contains(where: { $0.node == target }) {
                fail(.yamlAlias, "alias '*\(name)' refers to a node that contains it (a recursive alias)", line: Int(line), column: Int(column))
                return
            }
            aliasBudgetUsed = saturatingAdd(aliasBudgetUsed, sizes[Int(target)])
            if aliasBudgetUsed > limits.maxAliasExpansion {
                fail(.yamlAliasLimit,
                     "alias expansion exceeds \(limits.maxAliasExpansion) nodes in this document (at '*\(name)'); refusing it as a billion-laughs risk",
                     line: Int(line), column: Int(column))
                return
            }
            attach(target)
        default:
            break
        }
    }

    private func displayTag(_ tag: String) -> String {
        tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
    }

    private mutating func resolveTaggedScalar(tag: String, text: String, line: Int32, column: Int32) -> YAMLStream.ScalarType {
        let plainType = ScalarResolver.resolvePlain(text)
        switch tag {
        case "!", "tag:yaml.org,2002:str": return .string
        case "tag:yaml.org,2002:merge": return .merge
        case "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
            let want: YAMLStream.ScalarType = switch tag {
            case "tag:yaml.org,2002:null": .null
            case "tag:yaml.org,2002:bool": .bool
            case "tag:yaml.org,2002:int": .int
            default: .float
            }
            // An integer is a valid !!float too.
            if plainType == want || (want == .float && plainType == .int) { return want == .float ? .float : want }
            report(.yamlTag, "'\(text)' is not a valid \(displayTag(tag))", line: line, column: column)
            return .string
        default:
            report(.yamlTag, "tag '\(displayTag(tag))' is not allowed: only the YAML core schema's tags are", line: line, column: column)
            return .string
        }
    }

    private mutating func appendNode(_ node: YAMLStream.Node, size: Int) -> Int32 {
        stream.nodes.append(node)
        sizes.append(size)
        return Int32(stream.nodes.count - 1)
    }

    private mutating func attach(_ index: Int32) {
        if stack.isEmpty {
            documentRoot = index
        } else {
            scratch.append(index)
            stack[stack.count - 1].size = saturatingAdd(stack[stack.count - 1].size, sizes[Int(index)])
        }
    }

    private func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    /// Checks keys (scalars, no duplicates) and resolves merge keys: explicit keys win over
    /// merged ones, and among several merged mappings the earlier one wins (YAML merge spec).
    private mutating func finishMapping(_ open: Open) {
        let raw = scratch[open.scratchStart...]
        var result: [Int32] = []
        result.reserveCapacity(raw.count)
        var merges: [Int32] = []
        var keys = KeySet()
        var i = raw.startIndex
        while i + 1 < raw.endIndex {
            let key = raw[i]
            let value = raw[i + 1]
            i += 2
            let k = stream[key]
            if k.kind != .scalar {
                report(.yamlKey, "mapping keys must be scalars", line: k.line, column: k.column)
                continue
            }
            if k.scalarType == .merge {
                merges.append(value)
                continue
            }
            if let first = keys.insert(k.text, at: key) {
                report(.yamlDuplicateKey, "duplicate key '\(k.text)' (first at line \(stream[first].line))", line: k.line, column: k.column)
                continue
            }
            result.append(key)
            result.append(value)
        }
        for merge in merges {
            let m = stream[merge]
            let sources: [Int32]
            switch m.kind {
            case .mapping: sources = [merge]
            case .sequence: sources = Array(stream.elements(of: merge))
            case .scalar: sources = [merge]
            }
            for source in sources {
                let s = stream[source]
                guard s.kind == .mapping else {
                    report(.yamlMerge, "a merge key (<<) takes a mapping or a list of mappings, not \(stream.describe(source))", line: s.line, column: s.column)
                    continue
                }
                for (key, value) in stream.entries(of: source) where keys.insert(stream[key].text, at: key) == nil {
                    result.append(key)
                    result.append(value)
                }
            }
        }
        scratch.removeSubrange(open.scratchStart...)
        let start = Int32(stream.children.count)
        stream.children.append(contentsOf: result)
        stream.nodes[Int(open.node)].childStart = start
        stream.nodes[Int(open.node)].childCount = Int32(result.count)
        sizes[Int(open.node)] = open.size

        /// Keys compared byte for byte; a linear scan for the small mappings manifests are made
        /// of, a hash table past that so that a huge mapping is not quadratic.
        struct KeySet {
            private var small: [(String, Int32)] = []
            private var large: [String: Int32]?
            mutating func insert(_ key: String, at node: Int32) -> Int32? {
                if large != nil {
                    if let existing = large![key] { return existing }
                    large![key] = node
                    return nil
                }
                for (k, n) in small where UTF8Bytes.equal(k, key) { return n }
                small.append((key, node))
                if small.count > 16 {
                    large = Dictionary(small, uniquingKeysWith: { a, _ in a })
                    small = []
                }
                return nil
            }
        }
    }
}
