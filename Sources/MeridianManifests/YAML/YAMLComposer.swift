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
    /// `SchemaKey.names`, held here so that reading one is not a global's access per scalar.
    private let keyNames = SchemaKey.names

    private var stream = YAMLStream()
    private(set) var diagnostics: [Diagnostic] = []
    /// A fatal problem stops composition: libyaml cannot resume after its own errors, and a
    /// bound that was hit must not be worked around.
    private var fatal = false

    private struct Open {
        var node: Int32
        var scratchStart: Int
        /// Expanded size so far: 1 + its children's (aliases counted in full).
        var size: Int
        var anchored: Bool
    }

    private var stack: [Open] = []
    /// The children of the open collections, innermost last: a stack whose top is
    /// `scratchTop`. Slots past the top are kept and written over, so that closing a
    /// collection moves an index instead of removing a range (a tenth of finishing a mapping).
    private var scratch: [Int32] = []
    private var scratchTop = 0
    /// Expanded size (1 + its children's, aliases counted in full) of each anchored node of
    /// the document, by node: what an alias to it adds. Other nodes' sizes are added to their
    /// parent's as they close, and not kept.
    private var anchoredSizes: [Int32: Int] = [:]
    private var anchors: [String: Int32] = [:]
    private var aliasBudgetUsed = 0
    private var documentRoot: Int32?
    /// `finishMapping`'s working lists, reused from one mapping to the next.
    private var entryScratch: [Int32] = []
    private var mergeScratch: [Int32] = []
    private var keys = KeySet()

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
        stream.texts.reserveCapacity(input.count / 8)
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
            anchoredSizes.removeAll(keepingCapacity: true)
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
            let bytes = UnsafeBufferPointer(start: s.value, count: s.length)
            // A schema field name is marked with its number and takes the name's own string;
            // any other scalar gets a string made from its bytes.
            let key = SchemaKey.number(of: bytes)
            let text = key != 0 ? keyNames[Int(key)] : String(decoding: bytes, as: UTF8.self)
            let tag = s.tag.map { String(cString: $0) }
            let plainStyle = s.style == YAML_PLAIN_SCALAR_STYLE
            var type: YAMLStream.ScalarType
            if let tag {
                type = resolveTaggedScalar(tag: tag, text: text, line: line, column: column)
            } else {
                // A schema field name is a word that resolves to nothing but a string.
                type = plainStyle && key == 0 ? ScalarResolver.resolvePlain(bytes: bytes) : .string
            }
            let index = appendNode(YAMLStream.Node(kind: .scalar, scalarType: type, plain: plainStyle && tag == nil, key: key,
                                                   line: line, column: column, childStart: 0, childCount: 0), text: text)
            if let anchor = s.anchor {
                anchors[String(cString: anchor)] = index
                anchoredSizes[index] = 1
            }
            attach(index, size: 1)
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
                                                   line: line, column: column, childStart: 0, childCount: 0), text: "")
            if let anchor = anchorPtr { anchors[String(cString: anchor)] = index }
            stack.append(Open(node: index, scratchStart: scratchTop, size: 1, anchored: anchorPtr != nil))
        case YAML_SEQUENCE_END_EVENT:
            guard let open = stack.popLast() else { return }
            let start = Int32(stream.children.count)
            stream.children.append(contentsOf: scratch[open.scratchStart ..< scratchTop])
            scratchTop = open.scratchStart
            stream.nodes[Int(open.node)].childStart = start
            stream.nodes[Int(open.node)].childCount = Int32(stream.children.count) - start
            closed(open)
        case YAML_MAPPING_END_EVENT:
            guard let open = stack.popLast() else { return }
            finishMapping(open)
            closed(open)
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
            // Not open (refused above), so closed, and its size is kept. (Were it not, the
            // alias would count as past any budget: refused, never under-counted.)
            let size = anchoredSizes[target] ?? Int.max
            aliasBudgetUsed = saturatingAdd(aliasBudgetUsed, size)
            if aliasBudgetUsed > limits.maxAliasExpansion {
                fail(.yamlAliasLimit,
                     "alias expansion exceeds \(limits.maxAliasExpansion) nodes in this document (at '*\(name)'); refusing it as a billion-laughs risk",
                     line: Int(line), column: Int(column))
                return
            }
            attach(target, size: size)
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

    private mutating func appendNode(_ node: YAMLStream.Node, text: String) -> Int32 {
        stream.nodes.append(node)
        stream.texts.append(text)
        return Int32(stream.nodes.count - 1)
    }

    /// A collection closed: its size kept if an alias may name it, and it is attached.
    private mutating func closed(_ open: Open) {
        if open.anchored { anchoredSizes[open.node] = open.size }
        attach(open.node, size: open.size)
    }

    /// Attaches a node of expanded size `size` to the open collection (or makes it the root).
    private mutating func attach(_ index: Int32, size: Int) {
        if stack.isEmpty {
            documentRoot = index
        } else {
            if scratchTop < scratch.count { scratch[scratchTop] = index } else { scratch.append(index) }
            scratchTop += 1
            stack[stack.count - 1].size = saturatingAdd(stack[stack.count - 1].size, size)
        }
    }

    private func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    /// Checks keys (scalars, no duplicates) and resolves merge keys: explicit keys win over
    /// merged ones, and among several merged mappings the earlier one wins (YAML merge spec).
    /// Its working lists are the composer's, emptied and reused: a manifest is made of small
    /// mappings, and three fresh arrays for each were a tenth of composing.
    private mutating func finishMapping(_ open: Open) {
        entryScratch.removeAll(keepingCapacity: true)
        mergeScratch.removeAll(keepingCapacity: true)
        // Taken out for the duration, so that reading the stream beside it needs no copy.
        var keys = KeySet()
        swap(&keys, &self.keys)
        defer { swap(&keys, &self.keys) }
        keys.reset()
        // While every entry so far is kept (no merge key, no repeat, no key that is not a
        // scalar: every manifest mapping), the entries stay where they are and are copied to
        // `children` at once; from the first one dropped, those kept are listed apart.
        var inPlace = true
        var i = open.scratchStart
        while i + 1 < scratchTop {
            let key = scratch[i]
            let value = scratch[i + 1]
            i += 2
            let k = stream.nodes[Int(key)]
            var keep = false
            if k.kind != .scalar {
                report(.yamlKey, "mapping keys must be scalars", line: k.line, column: k.column)
            } else if k.scalarType == .merge {
                mergeScratch.append(value)
            } else if let first = keys.insert(key, in: stream) {
                report(.yamlDuplicateKey, "duplicate key '\(stream.text(key))' (first at line \(stream[first].line))", line: k.line, column: k.column)
            } else {
                keep = true
            }
            if keep {
                if !inPlace {
                    entryScratch.append(key)
                    entryScratch.append(value)
                }
            } else if inPlace {
                inPlace = false
                entryScratch.append(contentsOf: scratch[open.scratchStart ..< i - 2])
            }
        }
        for merge in mergeScratch {
            let m = stream[merge]
            let sources: ArraySlice<Int32> = m.kind == .sequence ? stream.elements(of: merge) : [merge]
            for source in sources {
                let s = stream[source]
                guard s.kind == .mapping else {
                    report(.yamlMerge, "a merge key (<<) takes a mapping or a list of mappings, not \(stream.describe(source))", line: s.line, column: s.column)
                    continue
                }
                var j = Int(s.childStart)
                while j + 1 < Int(s.childStart + s.childCount) {
                    let key = stream.children[j], value = stream.children[j + 1]
                    j += 2
                    if keys.insert(key, in: stream) == nil {
                        entryScratch.append(key)
                        entryScratch.append(value)
                    }
                }
            }
        }
        let start = Int32(stream.children.count)
        if inPlace {
            stream.children.append(contentsOf: scratch[open.scratchStart ..< scratchTop])
        } else {
            stream.children.append(contentsOf: entryScratch)
        }
        let count = Int32(stream.children.count) - start
        scratchTop = open.scratchStart
        stream.nodes[Int(open.node)].childStart = start
        stream.nodes[Int(open.node)].childCount = count
    }

    /// The keys of the mapping being finished, compared byte for byte (never merely as
    /// canonically equivalent Unicode). A schema field name is told apart by its number alone
    /// (one bit of a word per number, and the first key of each number in a slot of its own):
    /// two such keys are the same only if their numbers are, and one is never the same as a
    /// key that is not a field name. Other keys are compared as text with the other keys that
    /// are not field names: a linear scan for the small mappings manifests are made of, a hash
    /// table past that so that a huge mapping is not quadratic.
    struct KeySet {
        private var small: [Int32] = []
        private var large: [ExactString: Int32] = [:]
        private var isLarge = false
        /// Bit n is set once a key numbered n is in, and `firstNumbered[n]` is that key.
        private var numbers: UInt64 = 0
        private var firstNumbered = InlineArray<64, Int32>(repeating: -1)

        mutating func reset() {
            small.removeAll(keepingCapacity: true)
            numbers = 0
            if isLarge {
                large = [:]
                isLarge = false
            }
        }

        /// Adds the key node `node`; returns the node of an earlier key with the same text.
        mutating func insert(_ node: Int32, in stream: YAMLStream) -> Int32? {
            let number = stream.nodes[Int(node)].key
            if number != 0 {
                let bit = UInt64(1) << number
                if numbers & bit != 0 { return firstNumbered[Int(number)] }
                numbers |= bit
                firstNumbered[Int(number)] = node
                return nil
            }
            let text = stream.texts[Int(node)]
            if isLarge {
                if let existing = large[ExactString(text)] { return existing }
                large[ExactString(text)] = node
                return nil
            }
            for n in small where UTF8Bytes.equal(stream.texts[Int(n)], text) { return n }
            add(node, in: stream)
            return nil
        }

        /// Adds a key that is no field name, known to be new, while the keys are few.
        private mutating func add(_ node: Int32, in stream: YAMLStream) {
            small.append(node)
            if small.count > 16 {
                // The keys so far are distinct, so each goes in as it is.
                for n in small { large[ExactString(stream.texts[Int(n)])] = n }
                isLarge = true
            }
        }
    }
}
