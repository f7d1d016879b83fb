internal import CLibYAML
internal import MeridianCore

/// The fast path of reading a manifest file: objects decoded straight from libyaml's events,
/// with no composed `YAMLStream` in between, for a file that is well formed in the plain way
/// nearly every file is.
///
/// It never reports anything. At the first thing it does not take as it is — an error of any
/// kind, an anchor, alias or tag, a merge key, a duplicate key, a field out of the usual order,
/// a kind or field it leaves to the full decoder — it gives up and returns nil, and the file is
/// read again by `YAMLComposer` and `ManifestDecoder`, which say what is wrong. So every
/// diagnostic still comes from one place, and this path has one rule: when it returns objects,
/// they are exactly the objects the full path returns for the same bytes (locations and label
/// maps included), and the full path reports nothing. Tests and the `manifests` fuzz target
/// hold it to that, input by input.
///
/// Why it exists: composing every event into a node array and then reading the nodes was
/// about a quarter of a large fleet's load; the events are read once here, and strings are made
/// only for the values an object keeps (annotations are checked in place and never copied).
struct StreamDecoder {
    /// Gives up: the full path reads the file.
    struct Bail: Error {}

    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let event: UnsafeMutablePointer<yaml_event_t>
    /// Whether `event` holds an event to delete.
    private var hasEvent = false
    /// The current event was put back (see `atSequenceEnd`): the next `next()` stays on it.
    private var putBack = false
    private let source: SourceFile
    private let labels: LabelInterner?
    /// Hashes of the keys of the string map being read, for the repeat check. Reused from one
    /// mapping to the next, as is `labelsWritten`.
    private var keyHashes: [UInt64] = []
    private var labelsWritten = LabelInterner.Written()
    /// The most collections this path has open at once: a region's document, spec, capacity,
    /// accelerators and one accelerator. (Aliases, the other bound's matter, it never takes.)
    static let deepest = 5
    /// Keys of a string map past which the repeat check (a linear scan) is left to the full path.
    private static let maxMapKeys = 32

    private init(parser: UnsafeMutablePointer<yaml_parser_t>, event: UnsafeMutablePointer<yaml_event_t>, file: String, labels: LabelInterner?) {
        self.parser = parser
        self.event = event
        self.source = SourceFile(file)
        self.labels = labels
    }

    /// The objects of `bytes`, or nil when the full path must read it.
    static func decode(_ bytes: [UInt8], file: String, limits: YAMLLimits, labels: LabelInterner?) -> [ManifestObject]? {
        // The bounds the full path enforces: the size, and the nesting (this path opens at most
        // `deepest` collections at once; under a lower bound, the full path says what is too deep).
        guard !bytes.isEmpty, bytes.count <= limits.maxDocumentBytes, limits.maxDepth >= Self.deepest else { return nil }
        return bytes.withUnsafeBufferPointer { input -> [ManifestObject]? in
            let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
            let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
            guard yaml_parser_initialize(parser) == 1 else {
                parser.deallocate()
                event.deallocate()
                return nil
            }
            // libyaml keeps this pointer between `yaml_parser_parse` calls. The parser's whole life
            // (made above, deleted below) is inside this closure, and an array hands over its own
            // storage here, never a temporary copy: so the bytes are read in place, not copied
            // for libyaml as the composer must (its parser outlives any one call).
            yaml_parser_set_input_string(parser, input.baseAddress!, input.count)
            var decoder = StreamDecoder(parser: parser, event: event, file: file, labels: labels)
            let objects = try? decoder.stream()
            if decoder.hasEvent { yaml_event_delete(event) }
            yaml_parser_delete(parser)
            parser.deallocate()
            event.deallocate()
            return objects
        }
    }

    // MARK: Events

    /// Moves to the next event.
    private mutating func next() throws(Bail) {
        if putBack {
            putBack = false
            return
        }
        if hasEvent {
            yaml_event_delete(event)
            hasEvent = false
        }
        guard yaml_parser_parse(parser, event) == 1 else { throw Bail() }
        hasEvent = true
    }

    private var type: yaml_event_type_t { event.pointee.type }

    /// Where the current event starts, as the composer marks its node.
    private var location: SourceLocation {
        let mark = event.pointee.start_mark
        return SourceLocation(source, line: Int(Int32(clamping: mark.line + 1)), column: Int(Int32(clamping: mark.column + 1)))
    }

    /// The current event as a scalar with neither anchor nor tag: its bytes, and whether it is plain.
    private func scalar() throws(Bail) -> (bytes: UnsafeBufferPointer<UInt8>, plain: Bool) {
        guard type == YAML_SCALAR_EVENT else { throw Bail() }
        let s = event.pointee.data.scalar
        guard s.anchor == nil, s.tag == nil else { throw Bail() }
        return (UnsafeBufferPointer(start: s.value, count: s.length), s.style == YAML_PLAIN_SCALAR_STYLE)
    }

    /// The next event, which must open a mapping with neither anchor nor tag.
    private mutating func mappingStart() throws(Bail) {
        try next()
        guard type == YAML_MAPPING_START_EVENT else { throw Bail() }
        let m = event.pointee.data.mapping_start
        guard m.anchor == nil, m.tag == nil else { throw Bail() }
    }

    /// The next event, which must open a sequence with neither anchor nor tag.
    private mutating func sequenceStart() throws(Bail) {
        try next()
        guard type == YAML_SEQUENCE_START_EVENT else { throw Bail() }
        let s = event.pointee.data.sequence_start
        guard s.anchor == nil, s.tag == nil else { throw Bail() }
    }

    /// The next key of the open mapping, which must be a schema field name, once; nil at the
    /// mapping's end. `seen` has a bit for each field read so far.
    private mutating func key(_ seen: inout UInt64) throws(Bail) -> SchemaKey? {
        try next()
        if type == YAML_MAPPING_END_EVENT { return nil }
        let number = SchemaKey.number(of: try scalar().bytes)
        guard let key = SchemaKey(rawValue: number) else { throw Bail() }
        let bit = UInt64(1) << number
        guard seen & bit == 0 else { throw Bail() }
        seen |= bit
        return key
    }

    // MARK: Values

    /// The current scalar's bytes, when it is a string under the core schema.
    private func stringBytes() throws(Bail) -> UnsafeBufferPointer<UInt8> {
        let (bytes, plain) = try scalar()
        if plain && ScalarResolver.resolvePlain(bytes: bytes) != .string { throw Bail() }
        return bytes
    }

    private mutating func string() throws(Bail) -> String {
        try next()
        return String(decoding: try stringBytes(), as: UTF8.self)
    }

    private mutating func nonEmptyString() throws(Bail) -> String {
        let s = try string()
        guard !s.isEmpty else { throw Bail() }
        return s
    }

    private mutating func located() throws(Bail) -> Located<String> {
        try next()
        let at = location
        return Located(String(decoding: try stringBytes(), as: UTF8.self), at: at)
    }

    private mutating func name<S>(_: Name<S>.Type = Name<S>.self) throws(Bail) -> Located<Name<S>> {
        try next()
        return try currentName()
    }

    /// The current scalar as a name: a string that is a DNS label.
    private func currentName<S>(_: Name<S>.Type = Name<S>.self) throws(Bail) -> Located<Name<S>> {
        let bytes = try stringBytes()
        guard DNSLabel.isValid(utf8: bytes) else { throw Bail() }
        return Located(Name<S>(String(decoding: bytes, as: UTF8.self)), at: location)
    }

    private mutating func names<S>(_: Name<S>.Type = Name<S>.self, nonEmpty: Bool = false) throws(Bail) -> [Located<Name<S>>] {
        try sequenceStart()
        var result: [Located<Name<S>>] = []
        while true {
            try next()
            if type == YAML_SEQUENCE_END_EVENT { break }
            result.append(try currentName())
        }
        guard !nonEmpty || !result.isEmpty else { throw Bail() }
        return result
    }

    private mutating func enumValue<E: RawRepresentable>(_: E.Type) throws(Bail) -> E where E.RawValue == String {
        guard let value = E(rawValue: try string()) else { throw Bail() }
        return value
    }

    /// A plain integer in `range`, read as the full path reads one (`ScalarResolver`; a
    /// number with a fractional part, even `.0`, is the full path's).
    private mutating func int(_ range: ClosedRange<Int>) throws(Bail) -> Int {
        try next()
        let (bytes, plain) = try scalar()
        guard plain, ScalarResolver.resolvePlain(bytes: bytes) == .int,
              let value = ScalarResolver.intValue(String(decoding: bytes, as: UTF8.self)), range.contains(value) else { throw Bail() }
        return value
    }

    private mutating func country() throws(Bail) -> Located<String> {
        let code = try located()
        guard CountryCode.isAssigned(code.value) else { throw Bail() }
        return code
    }

    /// A mapping of strings to strings with no empty or repeated key. With `into`, its keys and
    /// values are written there in order; without, the mapping is only checked (annotations),
    /// and nothing of it is copied.
    private mutating func stringMap(into written: UnsafeMutablePointer<LabelInterner.Written>?) throws(Bail) {
        try mappingStart()
        keyHashes.removeAll(keepingCapacity: true)
        while true {
            try next()
            if type == YAML_MAPPING_END_EVENT { break }
            let key = try stringBytes()
            guard !key.isEmpty, keyHashes.count < Self.maxMapKeys else { throw Bail() }
            // Keys with the same hash may still differ: the full path tells.
            let hash = FNV1a.hash(key)
            guard !keyHashes.contains(hash) else { throw Bail() }
            keyHashes.append(hash)
            written?.pointee.append(key)
            try next()
            let value = try stringBytes()
            written?.pointee.append(value)
        }
    }

    // MARK: Documents

    private mutating func stream() throws(Bail) -> [ManifestObject] {
        try next()
        guard type == YAML_STREAM_START_EVENT else { throw Bail() }
        var objects: [ManifestObject] = []
        while true {
            try next()
            if type == YAML_STREAM_END_EVENT { return objects }
            guard type == YAML_DOCUMENT_START_EVENT else { throw Bail() }
            try next()
            if type == YAML_MAPPING_START_EVENT {
                let m = event.pointee.data.mapping_start
                guard m.anchor == nil, m.tag == nil else { throw Bail() }
                objects.append(try document(at: location))
            } else {
                // Only an empty document (a plain null) is skipped, as the full path skips it.
                let (bytes, plain) = try scalar()
                guard plain, ScalarResolver.resolvePlain(bytes: bytes) == .null else { throw Bail() }
            }
            try next()
            guard type == YAML_DOCUMENT_END_EVENT else { throw Bail() }
        }
    }

    /// One document whose mapping has just opened at `root`: `kind`, then `metadata`, before
    /// `spec` (the order manifests are written in; any other is the full path's to read), and
    /// `apiVersion` anywhere.
    private mutating func document(at root: SourceLocation) throws(Bail) -> ManifestObject {
        var seen: UInt64 = 0
        var kind: Kind?
        var meta: ObjectMeta?
        var object: ManifestObject?
        while let key = try key(&seen) {
            switch key {
            case .apiVersion:
                guard try string() == ManifestDecoder.apiVersion else { throw Bail() }
            case .kind:
                kind = try enumValue(Kind.self)
            case .metadata:
                guard let kind else { throw Bail() }
                meta = try metadata(kind: kind, root: root)
            case .spec:
                guard let kind, let meta else { throw Bail() }
                object = try spec(kind, meta)
            default:
                throw Bail()
            }
        }
        guard seen & (UInt64(1) << SchemaKey.apiVersion.rawValue) != 0, let kind, let meta else { throw Bail() }
        if let object { return object }
        guard kind == .jurisdiction else { throw Bail() }
        return .jurisdiction(Jurisdiction(meta: meta, description: nil, countries: []))
    }

    private mutating func metadata(kind: Kind, root: SourceLocation) throws(Bail) -> ObjectMeta {
        try mappingStart()
        var seen: UInt64 = 0
        var name: Located<Name<GenericSpace>>?
        var labelMap: [String: String] = [:]
        while let key = try key(&seen) {
            switch key {
            case .name:
                name = try self.name()
            case .labels:
                labelsWritten.removeAll()
                var written = LabelInterner.Written()
                swap(&written, &labelsWritten)
                defer { swap(&written, &labelsWritten) }
                try stringMap(into: &written)
                labelMap = labels?.intern(written) ?? written.map()
            case .annotations:
                try stringMap(into: nil)
            default:
                throw Bail()
            }
        }
        guard let name else { throw Bail() }
        return ObjectMeta(kind: kind, name: name.value.rawValue, nameLocation: name.location, location: root, labels: labelMap)
    }

    private mutating func spec(_ kind: Kind, _ meta: ObjectMeta) throws(Bail) -> ManifestObject {
        switch kind {
        case .artifact: return .artifact(try artifact(meta))
        case .placement: return .placement(try placement(meta))
        case .model: return .model(try model(meta))
        case .topology: return .topology(try topology(meta))
        case .region: return .region(try region(meta))
        case .jurisdiction: return .jurisdiction(try jurisdiction(meta))
        case .residencyFence: return .residencyFence(try fence(meta))
        case .guardrail: throw Bail()
        }
    }

    // MARK: Kinds (each as `ManifestDecoder` reads it)

    private mutating func artifact(_ meta: ObjectMeta) throws(Bail) -> Artifact {
        try mappingStart()
        var seen: UInt64 = 0
        var type: ArtifactType?, digest: (ArtifactDigest, SourceLocation)?, size: Int?, origin: Located<RegionName>?
        var derivedFrom: [Located<ArtifactName>] = [], fences: [Located<FenceName>] = []
        while let key = try key(&seen) {
            switch key {
            case .type: type = try enumValue(ArtifactType.self)
            case .digest:
                try next()
                digest = (ArtifactDigest(utf8: try stringBytes()), location)
            case .sizeBytes: size = try int(0 ... Int.max)
            case .origin: origin = try name()
            case .derivedFrom: derivedFrom = try names()
            case .fences: fences = try names()
            default: throw Bail()
            }
        }
        guard let type, let digest, let origin else { throw Bail() }
        return Artifact(meta: meta, type: type, digest: digest.0, at: digest.1, sizeBytes: size.map(Int64.init), origin: origin,
                        derivedFrom: derivedFrom, fences: fences)
    }

    private mutating func placement(_ meta: ObjectMeta) throws(Bail) -> Placement {
        try mappingStart()
        var seen: UInt64 = 0
        var model: Located<ModelName>?, topology: Located<TopologyName>?, replicas: Int?
        var minReplicas = 1, priority = 0
        while let key = try key(&seen) {
            switch key {
            case .model: model = try name()
            case .topology: topology = try name()
            case .replicas: replicas = try int(1 ... 1_000_000)
            case .minReplicas: minReplicas = try int(0 ... 1_000_000)
            case .priority: priority = try int(-1_000_000 ... 1_000_000)
            default: throw Bail()
            }
        }
        guard let model, let topology, let replicas else { throw Bail() }
        return Placement(meta: meta, model: model, topology: topology, replicas: replicas, minReplicas: minReplicas, priority: priority)
    }

    /// `{type, count}`, both required, where the mapping opens next.
    private mutating func accelerator(minCount: Int) throws(Bail) -> AcceleratorCount {
        try mappingStart()
        let at = location
        var seen: UInt64 = 0
        var type: String?, count: Int?
        while let key = try key(&seen) {
            switch key {
            case .type: type = try nonEmptyString()
            case .count: count = try int(minCount ... 1_000_000)
            default: throw Bail()
            }
        }
        guard let type, let count else { throw Bail() }
        return AcceleratorCount(type: type, count: count, location: at)
    }

    private mutating func model(_ meta: ObjectMeta) throws(Bail) -> Model {
        try mappingStart()
        var seen: UInt64 = 0
        var version: Located<String>?, artifacts: [Located<ArtifactName>]?, accelerator: AcceleratorCount?
        while let key = try key(&seen) {
            switch key {
            case .version: version = try located()
            case .artifacts: artifacts = try names(nonEmpty: true)
            case .accelerator: accelerator = try self.accelerator(minCount: 1)
            default: throw Bail()
            }
        }
        guard let version, let artifacts else { throw Bail() }
        return Model(meta: meta, version: version, artifacts: artifacts, accelerator: accelerator)
    }

    private mutating func topology(_ meta: ObjectMeta) throws(Bail) -> Topology {
        try mappingStart()
        var seen: UInt64 = 0
        var mode: TopologyMode?, regions: [TopologyRegion]?, standby: StandbyMode?
        var failover: [Located<RegionName>] = []
        while let key = try key(&seen) {
            switch key {
            case .mode: mode = try enumValue(TopologyMode.self)
            case .regions: regions = try topologyRegions()
            case .standby: standby = try enumValue(StandbyMode.self)
            case .failover: failover = try names()
            default: throw Bail()
            }
        }
        guard let mode, let regions else { throw Bail() }
        // A standby on another mode is an error the full path reports.
        if standby != nil && mode != .activePassive { throw Bail() }
        return Topology(meta: meta, mode: mode, regions: regions, standby: standby ?? .warm, failover: failover)
    }

    private mutating func topologyRegions() throws(Bail) -> [TopologyRegion] {
        try sequenceStart()
        var regions: [TopologyRegion] = []
        while !(try atSequenceEnd()) {
            try mappingStart()
            var seen: UInt64 = 0
            var name: Located<RegionName>?, weight: Located<Int>?
            while let key = try key(&seen) {
                switch key {
                case .name: name = try self.name()
                case .weight:
                    let value = try int(0 ... 100)
                    weight = Located(value, at: location)
                default: throw Bail()
                }
            }
            guard let name else { throw Bail() }
            regions.append(TopologyRegion(name: name, weight: weight))
        }
        guard !regions.isEmpty else { throw Bail() }
        return regions
    }

    private mutating func region(_ meta: ObjectMeta) throws(Bail) -> Region {
        try mappingStart()
        var seen: UInt64 = 0
        var provider: String?, location: Located<String>?, jurisdiction: Located<JurisdictionName>?
        var state = RegionState.active
        var replicatesTo: [Located<RegionName>] = []
        var accelerators: [AcceleratorCount] = []
        while let key = try key(&seen) {
            switch key {
            case .provider: provider = try nonEmptyString()
            case .location: location = try country()
            case .jurisdiction: jurisdiction = try name()
            case .state: state = try enumValue(RegionState.self)
            case .replicatesTo: replicatesTo = try names()
            case .capacity:
                try mappingStart()
                var capacitySeen: UInt64 = 0
                while let key = try self.key(&capacitySeen) {
                    guard key == .accelerators else { throw Bail() }
                    try sequenceStart()
                    while !(try atSequenceEnd()) { accelerators.append(try accelerator(minCount: 0)) }
                }
            // An adapter is read by the full path (regions are few, and adapters have their own rules).
            default: throw Bail()
            }
        }
        guard let jurisdiction else { throw Bail() }
        return Region(meta: meta, provider: provider, countryCode: location, jurisdiction: jurisdiction, state: state,
                      replicatesTo: replicatesTo, accelerators: accelerators, adapter: .local(path: nil))
    }

    private mutating func jurisdiction(_ meta: ObjectMeta) throws(Bail) -> Jurisdiction {
        try mappingStart()
        var seen: UInt64 = 0
        var description: String?
        var countries: [Located<String>] = []
        while let key = try key(&seen) {
            switch key {
            case .description: description = try string()
            case .countries:
                try sequenceStart()
                while !(try atSequenceEnd()) { countries.append(try country()) }
            default: throw Bail()
            }
        }
        return Jurisdiction(meta: meta, description: description, countries: countries)
    }

    private mutating func fence(_ meta: ObjectMeta) throws(Bail) -> ResidencyFence {
        try mappingStart()
        var seen: UInt64 = 0
        var allow: [Located<JurisdictionPattern>]?
        var deny: [Located<JurisdictionName>] = []
        while let key = try key(&seen) {
            switch key {
            case .allow:
                try sequenceStart()
                var patterns: [Located<JurisdictionPattern>] = []
                while true {
                    try next()
                    if type == YAML_SEQUENCE_END_EVENT { break }
                    let bytes = try stringBytes()
                    if bytes.count == 1 && bytes[0] == 0x2A {  // "*"
                        patterns.append(Located(.any, at: location))
                    } else {
                        let name: Located<JurisdictionName> = try currentName()
                        patterns.append(Located(.named(name.value), at: name.location))
                    }
                }
                guard !patterns.isEmpty else { throw Bail() }
                allow = patterns
            case .deny: deny = try names()
            // A selector is read by the full path.
            default: throw Bail()
            }
        }
        guard let allow else { throw Bail() }
        return ResidencyFence(meta: meta, allow: allow, deny: deny, matchLabels: nil)
    }

    /// Moves to the next event and says whether it closes the open sequence. If it does not,
    /// it is put back: the next `next()` stays on it, for the reader of the entry it opens.
    private mutating func atSequenceEnd() throws(Bail) -> Bool {
        try next()
        if type == YAML_SEQUENCE_END_EVENT { return true }
        putBack = true
        return false
    }
}
