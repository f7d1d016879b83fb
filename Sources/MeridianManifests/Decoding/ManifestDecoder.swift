internal import MeridianCore

/// Decodes the documents of one composed file into typed objects (SPEC §1), strictly.
struct ManifestDecoder {
    static let apiVersion = "meridian/v1"

    var reader: DocumentReader
    let labelInterner: LabelInterner?

    init(stream: YAMLStream, file: String, labels: LabelInterner? = nil) {
        reader = DocumentReader(stream: stream, file: file)
        labelInterner = labels
    }

    var diagnostics: [Diagnostic] { reader.diagnostics }

    mutating func decodeAll() -> [ManifestObject] {
        reader.stream.documents.compactMap { decode(document: $0) }
    }

    mutating func decode(document root: Int32) -> ManifestObject? {
        guard let top = reader.fields(root, "document", allowed: [.apiVersion, .kind, .metadata, .spec],
                                      required: [.apiVersion, .kind, .metadata]) else { return nil }
        if let node = top[.apiVersion], let v = reader.string(node, "apiVersion"), v != Self.apiVersion {
            reader.error(.schemaAPIVersion, "apiVersion '\(v)' is not supported; use '\(Self.apiVersion)'", at: node)
        }
        guard let kindNode = top[.kind], let kindText = reader.string(kindNode, "kind") else { return nil }
        guard let kind = Kind(rawValue: kindText) else {
            var message = "kind '\(kindText)' is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"
            if let near = Suggest.closest(to: kindText, in: Kind.allCases.map(\.rawValue)) { message += "; did you mean '\(near)'?" }
            reader.error(.schemaKind, message, at: kindNode)
            return nil
        }
        // A document whose name is invalid still has its spec checked, so that one run shows
        // every problem; only a document with a valid name becomes an object.
        let meta = top[.metadata].flatMap { decodeMeta($0, kind: kind, root: root) }
        let specNode = top[.spec]
        if specNode == nil && kind != .jurisdiction {
            reader.error(.schemaRequired, "\(kind.rawValue) document is missing required field 'spec'", at: root)
        }
        // Said only in a message, so only built for one.
        let name = meta?.name ?? "?"
        let object = decodeSpec(kind: kind, meta: meta ?? ObjectMeta(kind: kind, name: "", nameLocation: reader.location(root),
                                                                     location: reader.location(root), labels: [:]),
                                specNode, { "\(kind.rawValue) '\(name)' spec" })
        return meta == nil ? nil : object
    }

    private mutating func decodeSpec(kind: Kind, meta: ObjectMeta, _ specNode: Int32?, _ what: () -> String) -> ManifestObject? {
        switch kind {
        case .jurisdiction: return decodeJurisdiction(meta, specNode, what).map(ManifestObject.jurisdiction)
        case .region: return specNode.flatMap { decodeRegion(meta, $0, what) }.map(ManifestObject.region)
        case .artifact: return specNode.flatMap { decodeArtifact(meta, $0, what) }.map(ManifestObject.artifact)
        case .residencyFence: return specNode.flatMap { decodeFence(meta, $0, what) }.map(ManifestObject.residencyFence)
        case .model: return specNode.flatMap { decodeModel(meta, $0, what) }.map(ManifestObject.model)
        case .topology: return specNode.flatMap { decodeTopology(meta, $0, what) }.map(ManifestObject.topology)
        case .placement: return specNode.flatMap { decodePlacement(meta, $0, what) }.map(ManifestObject.placement)
        case .guardrail: return specNode.flatMap { decodeGuardrail(meta, $0, what) }.map(ManifestObject.guardrail)
        }
    }

    private mutating func decodeMeta(_ node: Int32, kind: Kind, root: Int32) -> ObjectMeta? {
        guard let f = reader.fields(node, "metadata", allowed: [.name, .labels, .annotations], required: [.name]) else { return nil }
        var labels: [String: String] = [:]
        if let l = f[.labels] {
            if let labelInterner, let written = reader.writtenStringMap(l) {
                labels = labelInterner.intern(written: written)
            } else {
                labels = reader.stringMap(l, "metadata.labels") ?? [:]
                if let labelInterner { labels = labelInterner.intern(labels) }
            }
        }
        if let a = f[.annotations] { _ = reader.checkStringMap(a, "metadata.annotations") }
        guard let nameNode = f[.name], let name = reader.name(nameNode, "metadata.name", as: Name<GenericSpace>.self) else { return nil }
        return ObjectMeta(kind: kind, name: name.value.rawValue, nameLocation: name.location,
                          location: reader.location(root), labels: labels)
    }

    private mutating func decodeJurisdiction(_ meta: ObjectMeta, _ node: Int32?, _ what: () -> String) -> Jurisdiction? {
        guard let node else { return Jurisdiction(meta: meta, description: nil, countries: []) }
        guard let f = reader.fields(node, what(), allowed: [.description, .countries]) else { return nil }
        let description = f[.description].flatMap { reader.string($0, "description") }
        var countries: [Located<String>] = []
        if let n = f[.countries] {
            if let items = reader.list(n, "countries") {
                for item in items {
                    if let code = country(item, "countries entry") { countries.append(code) }
                }
            }
        }
        return Jurisdiction(meta: meta, description: description, countries: countries)
    }

    private mutating func country(_ node: Int32, _ what: String) -> Located<String>? {
        guard let code = reader.string(node, what) else { return nil }
        guard CountryCode.isAssigned(code) else {
            var message = "\(what) '\(Suggest.printable(code))' is not an ISO 3166-1 alpha-2 country code"
            if let hint = CountryCode.hints[code] { message += " (\(hint.count == 2 ? "did you mean '\(hint)'?" : "it is \(hint)"))" }
            reader.error(.schemaFormat, message, at: node)
            return nil
        }
        return Located(code, at: reader.location(node))
    }

    private mutating func decodeRegion(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> Region? {
        guard let f = reader.fields(node, what(),
                                    allowed: [.provider, .location, .jurisdiction, .state, .replicatesTo, .capacity, .adapter],
                                    required: [.jurisdiction]) else { return nil }
        let provider = f[.provider].flatMap { reader.nonEmptyString($0, "provider") }
        let location = f[.location].flatMap { country($0, "location") }
        let jurisdiction = f[.jurisdiction].flatMap { reader.name($0, "jurisdiction", as: JurisdictionName.self) }
        let state = f[.state].map { reader.enumValue($0, "state", as: RegionState.self) } ?? .active
        let replicatesTo = f[.replicatesTo].map { reader.names($0, "replicatesTo", as: RegionName.self) } ?? []
        var accelerators: [AcceleratorCount] = []
        if let c = f[.capacity], let cf = reader.fields(c, "capacity", allowed: [.accelerators]), let a = cf[.accelerators] {
            if let items = reader.list(a, "capacity.accelerators") {
                for item in items {
                    if let acc = accelerator(item, "capacity.accelerators entry", minCount: 0) { accelerators.append(acc) }
                }
            }
        }
        let adapter = f[.adapter].map { decodeAdapter($0) } ?? .local(path: nil)
        // Optional fields that failed to decode were reported; defaults stand in for them so the
        // cross-object checks still run. Required ones must be there.
        guard let jurisdiction else { return nil }
        return Region(meta: meta, provider: provider, countryCode: location, jurisdiction: jurisdiction, state: state ?? .active,
                      replicatesTo: replicatesTo ?? [], accelerators: accelerators, adapter: adapter ?? .local(path: nil))
    }

    private mutating func accelerator(_ node: Int32, _ what: String, minCount: Int) -> AcceleratorCount? {
        guard let f = reader.fields(node, what, allowed: [.type, .count], required: [.type, .count]) else { return nil }
        let type = f[.type].flatMap { reader.nonEmptyString($0, "accelerator type") }
        let count = f[.count].flatMap { reader.int($0, "accelerator count", min: minCount, max: 1_000_000) }
        guard let type, let count else { return nil }
        return AcceleratorCount(type: type, count: count, location: reader.location(node))
    }

    private mutating func decodeAdapter(_ node: Int32) -> AdapterSpec? {
        guard let f = reader.fields(node, "adapter", allowed: [.type, .path, .url, .tokenEnv, .command]) else { return nil }
        let type = f[.type].map { reader.string($0, "adapter.type") } ?? "local"
        guard let type else { return nil }
        let applies: [SchemaKey]
        switch type {
        case "local": applies = [.path]
        case "http": applies = [.url, .tokenEnv]
        case "exec": applies = [.command]
        default:
            reader.error(.schemaEnum, "adapter.type '\(type)' is not one of local | http | exec", at: f[.type]!)
            return nil
        }
        var ok = true
        for field in [SchemaKey.path, .url, .tokenEnv, .command] where !applies.contains(field) {
            if let n = f[field] {
                reader.error(.regionAdapter, "adapter field '\(field.name)' does not apply to an \(type) adapter (it takes: \(applies.map(\.name).joined(separator: ", ")))", at: n)
                ok = false
            }
        }
        switch type {
        case "local":
            let path = f[.path].flatMap { reader.nonEmptyString($0, "adapter.path") }
            if f[.path] != nil && path == nil { return nil }
            return ok ? .local(path: path) : nil
        case "http":
            guard let urlNode = f[.url] else {
                reader.error(.schemaRequired, "an http adapter is missing required field 'url'", at: node)
                return nil
            }
            guard let url = reader.string(urlNode, "adapter.url") else { return nil }
            let rest = url.hasPrefix("https://") ? url.dropFirst(8) : url.hasPrefix("http://") ? url.dropFirst(7) : ""
            if rest.isEmpty || rest.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
                reader.error(.schemaFormat, "adapter.url '\(url)' must be an http:// or https:// URL", at: urlNode)
                ok = false
            }
            var tokenEnv: String?
            if let t = f[.tokenEnv] {
                tokenEnv = reader.string(t, "adapter.tokenEnv")
                if let name = tokenEnv, !EnvName.isValid(name) {
                    reader.error(.schemaFormat, "adapter.tokenEnv '\(name)' is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", at: t)
                    ok = false
                }
                if tokenEnv == nil { ok = false }
            }
            return ok ? .http(url: url, tokenEnv: tokenEnv) : nil
        default:
            guard let c = f[.command] else {
                reader.error(.schemaRequired, "an exec adapter is missing required field 'command'", at: node)
                return nil
            }
            guard let items = reader.list(c, "adapter.command", nonEmpty: true) else { return nil }
            let args = items.compactMap { reader.string($0, "adapter.command entry") }
            guard args.count == items.count, ok else { return nil }
            if args[0].isEmpty {
                reader.error(.schemaEmpty, "adapter.command's program must not be empty", at: items[items.startIndex])
                return nil
            }
            return .exec(command: args)
        }
    }

    private mutating func decodeArtifact(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> Artifact? {
        guard let f = reader.fields(node, what(), allowed: [.type, .digest, .sizeBytes, .origin, .derivedFrom, .fences],
                                    required: [.type, .digest, .origin]) else { return nil }
        let type = f[.type].flatMap { reader.enumValue($0, "type", as: ArtifactType.self) }
        let digest = f[.digest].flatMap { reader.located($0, "digest") }
        let size = f[.sizeBytes].flatMap { reader.int($0, "sizeBytes", min: 0) }
        let origin = f[.origin].flatMap { reader.name($0, "origin", as: RegionName.self) }
        let derivedFrom = f[.derivedFrom].map { reader.names($0, "derivedFrom", as: ArtifactName.self) } ?? []
        let fences = f[.fences].map { reader.names($0, "fences", as: FenceName.self) } ?? []
        guard let type, let digest, let origin else { return nil }
        return Artifact(meta: meta, type: type, digest: digest, sizeBytes: size.map(Int64.init), origin: origin,
                        derivedFrom: derivedFrom ?? [], fences: fences ?? [])
    }

    private mutating func decodeFence(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> ResidencyFence? {
        guard let f = reader.fields(node, what(), allowed: [.allow, .deny, .selector], required: [.allow]) else { return nil }
        var ok = true
        var allow: [Located<JurisdictionPattern>] = []
        if let a = f[.allow] {
            if let items = reader.list(a, "allow", nonEmpty: true) {
                for item in items {
                    if reader.stream[item].kind == .scalar, reader.stream[item].scalarType == .string, reader.stream.text(item) == "*" {
                        allow.append(Located(.any, at: reader.location(item)))
                    } else if let name = reader.name(item, "allow entry", as: JurisdictionName.self) {
                        allow.append(Located(.named(name.value), at: name.location))
                    } else { ok = false }
                }
            } else { ok = false }
        }
        let deny = f[.deny].map { reader.names($0, "deny", as: JurisdictionName.self) } ?? []
        var matchLabels: [String: String]?
        if let s = f[.selector] {
            if let sf = reader.fields(s, "selector", allowed: [.matchLabels], required: [.matchLabels]) {
                matchLabels = sf[.matchLabels].flatMap { reader.stringMap($0, "selector.matchLabels") }
                if matchLabels == nil { ok = false }
            } else { ok = false }
        }
        guard ok else { return nil }
        return ResidencyFence(meta: meta, allow: allow, deny: deny ?? [], matchLabels: matchLabels)
    }

    private mutating func decodeModel(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> Model? {
        guard let f = reader.fields(node, what(), allowed: [.version, .artifacts, .accelerator], required: [.version, .artifacts]) else { return nil }
        let version = f[.version].flatMap { reader.located($0, "version") }
        let artifacts = f[.artifacts].flatMap { reader.names($0, "artifacts", as: ArtifactName.self, nonEmpty: true) }
        var acc: AcceleratorCount?
        if let a = f[.accelerator] {
            acc = accelerator(a, "accelerator", minCount: 1)
        }
        guard let version, let artifacts else { return nil }
        return Model(meta: meta, version: version, artifacts: artifacts, accelerator: acc)
    }

    private mutating func decodeTopology(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> Topology? {
        guard let f = reader.fields(node, what(), allowed: [.mode, .regions, .standby, .failover], required: [.mode, .regions]) else { return nil }
        var ok = true
        let mode = f[.mode].flatMap { reader.enumValue($0, "mode", as: TopologyMode.self) }
        var regions: [TopologyRegion] = []
        if let r = f[.regions], let items = reader.list(r, "regions", nonEmpty: true) {
            for item in items {
                guard let rf = reader.fields(item, "regions entry", allowed: [.name, .weight], required: [.name]) else { ok = false; continue }
                let name = rf[.name].flatMap { reader.name($0, "regions entry name", as: RegionName.self) }
                var weight: Located<Int>?
                if let w = rf[.weight] {
                    if let value = reader.int(w, "weight", min: 0, max: 100) { weight = Located(value, at: reader.location(w)) } else { ok = false }
                }
                if let name { regions.append(TopologyRegion(name: name, weight: weight)) } else { ok = false }
            }
        } else { ok = false }
        var standby = StandbyMode.warm
        if let s = f[.standby] {
            if let value = reader.enumValue(s, "standby", as: StandbyMode.self) {
                standby = value
                if let mode, mode != .activePassive {
                    reader.error(.topologyStandby, "standby applies to active-passive topologies only, not \(mode.rawValue)", at: s)
                    ok = false
                }
            } else { ok = false }
        }
        let failover = f[.failover].map { reader.names($0, "failover", as: RegionName.self) } ?? []
        guard ok, let mode, let failover else { return nil }
        return Topology(meta: meta, mode: mode, regions: regions, standby: standby, failover: failover)
    }

    private mutating func decodePlacement(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> Placement? {
        guard let f = reader.fields(node, what(), allowed: [.model, .topology, .replicas, .minReplicas, .priority],
                                    required: [.model, .topology, .replicas]) else { return nil }
        let model = f[.model].flatMap { reader.name($0, "model", as: ModelName.self) }
        let topology = f[.topology].flatMap { reader.name($0, "topology", as: TopologyName.self) }
        let replicas = f[.replicas].flatMap { reader.int($0, "replicas", min: 1, max: 1_000_000) }
        let minReplicas = f[.minReplicas].map { reader.int($0, "minReplicas", min: 0, max: 1_000_000) } ?? 1
        let priority = f[.priority].map { reader.int($0, "priority", min: -1_000_000, max: 1_000_000) } ?? 0
        guard let model, let topology, let replicas else { return nil }
        return Placement(meta: meta, model: model, topology: topology, replicas: replicas, minReplicas: minReplicas ?? 1, priority: priority ?? 0)
    }

    private mutating func decodeGuardrail(_ meta: ObjectMeta, _ node: Int32, _ what: () -> String) -> Guardrail? {
        guard let f = reader.fields(node, what(), allowed: [.models], required: [.models]) else { return nil }
        guard let m = f[.models], let items = reader.list(m, "models", nonEmpty: true) else { return nil }
        var ok = true
        var rules: [GuardrailRule] = []
        for item in items {
            guard let rf = reader.fields(item, "models entry", allowed: [.name, .allowedVersions], required: [.name, .allowedVersions]) else { ok = false; continue }
            let name = rf[.name].flatMap { reader.name($0, "models entry name", as: ModelName.self) }
            var versions: [Located<String>]?
            if let v = rf[.allowedVersions], let vs = reader.list(v, "allowedVersions", nonEmpty: true) {
                let decoded = vs.compactMap { reader.located($0, "allowedVersions entry") }
                versions = decoded.count == vs.count ? decoded : nil
            }
            if let name, let versions { rules.append(GuardrailRule(model: name, allowedVersions: versions)) } else { ok = false }
        }
        return ok ? Guardrail(meta: meta, models: rules) : nil
    }
}

enum GenericSpace: NameSpace { static let kindName = "object" }

enum EnvName {
    static func isValid(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, first == 0x5F || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) else { return false }
        return b.allSatisfy { $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }
    }
}
