/// The two halves of the structural checks' groups (`StructuralChecks.half`), which a loader runs
/// on two cores.
public enum StructuralHalf: Sendable, CaseIterable {
    /// Jurisdictions, regions and artifacts, with the lineage cycle check: most of a fleet.
    case kindsAndLineage
    /// Residency fences, models, topologies, guardrails and placements.
    case references
}

/// Reference and structural checks over a whole desired state (SPEC §1). Pure; reports every
/// problem, in no particular order (callers sort).
struct StructuralValidator {
    let state: DesiredState
    var diagnostics: [Diagnostic] = []

    init(state: DesiredState) { self.state = state }

    /// The checks of one group of objects, on a state that may hold only the group's inputs
    /// (`StructuralChecks`).
    static func run(_ group: StructuralChecks.Group, on state: DesiredState) -> [Diagnostic] {
        var v = StructuralValidator(state: state)
        switch group {
        case .jurisdictions: for j in state.jurisdictionList { v.check(j) }
        case .regions: for r in state.regionList { v.check(r) }
        case .artifacts:
            // By index, each artifact's fields read in place (passing an artifact copied, and
            // retained, each of its fields). Its parents' positions are kept for the cycle walk,
            // so each `derivedFrom` name is looked up once.
            var parentStart: [Int32] = [0]
            parentStart.reserveCapacity(state.artifacts.list.count + 1)
            var parentList: [Int32] = []
            state.artifacts.list.withUnsafeBufferPointer { artifacts in
                for i in artifacts.indices {
                    Prefetch.object(of: artifacts, at: i + Prefetch.distance)
                    v.checkArtifact(at: i, of: artifacts, parents: &parentList)
                    parentStart.append(Int32(parentList.count))
                }
            }
            v.checkLineageCycles(parentStart: parentStart, parentList: parentList)
        case .fences: for f in state.fenceList { v.check(f) }
        case .models: for m in state.modelList { v.check(m) }
        case .topologies: for t in state.topologyList { v.check(t) }
        case .guardrails: for g in state.guardrailList { v.check(g) }
        case .placements: return placements(on: state, at: state.placements.list.indices).diagnostics
        }
        return v.diagnostics
    }

    /// The placements' checks for the placements at `positions` (ascending) alone, each
    /// diagnostic with its placement's position (see `ObjectDiagnostics`).
    static func placements(on state: DesiredState, at positions: some Sequence<Int>) -> ObjectDiagnostics {
        var v = StructuralValidator(state: state)
        var owners: [Int32] = []
        state.placements.list.withUnsafeBufferPointer { list in
            for k in positions {
                v.check(list[k])
                owners.append(contentsOf: repeatElement(Int32(k), count: v.diagnostics.count - owners.count))
            }
        }
        return ObjectDiagnostics(diagnostics: v.diagnostics, owners: owners)
    }

    private mutating func error(_ rule: Rule, _ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(rule, message, at: location))
    }

    // The owner is read only for a message: passing it copied (and retained) every field of
    // its metadata, most of the artifacts' checks' time.
    private mutating func ref<S, V>(_ name: Located<Name<S>>, in table: ObjectTable<S, V>, from owner: @autoclosure () -> ObjectMeta, field: String) {
        ref(name.value, at: name.location, in: table, from: owner(), field: field)
    }

    /// `ref` of a name whose location is read only for a message: the artifacts' checks pass
    /// their references' names alone, since copying a location out retained and released its
    /// file's object (one per manifest file, shared by its objects) for every reference: about
    /// half the retains and releases perf found in the artifacts' checks.
    private mutating func ref<S, V>(_ name: Name<S>, at location: @autoclosure () -> SourceLocation, in table: ObjectTable<S, V>,
                                    from owner: @autoclosure () -> ObjectMeta, field: String) {
        // `contains`, not `table[key] == nil`: that would copy the whole object to compare it with nil.
        guard !table.contains(name) else { return }
        let owner = owner()
        error(.refMissing, "\(owner.kind.rawValue) '\(owner.name)' \(field) refers to \(S.kindName) '\(name)', which does not exist",
              at: location())
    }

    private mutating func unique<T>(_ items: [Located<T>], owner: @autoclosure () -> ObjectMeta, field: String) {
        func repeated(_ item: Located<T>, first: SourceLocation) {
            let owner = owner()
            error(.schemaUnique, "\(owner.kind.rawValue) '\(owner.name)' lists '\(item.value)' twice in \(field) (first at \(first.line):\(first.column))",
                  at: item.location)
        }
        // The short lists manifests have (a few parents, a fence or two) are scanned: a table
        // for each was an allocation per list. A long list gets a table, so it is not quadratic.
        if items.count <= 16 {
            for k in items.indices.dropFirst() {
                if let j = items[..<k].firstIndex(where: { $0.value == items[k].value }) { repeated(items[k], first: items[j].location) }
            }
            return
        }
        var seen: [T: SourceLocation] = [:]
        for item in items {
            if let first = seen[item.value] {
                repeated(item, first: first)
            } else {
                seen[item.value] = item.location
            }
        }
    }

    private mutating func check(_ j: Jurisdiction) {
        unique(j.countries, owner: j.meta, field: "spec.countries")
    }

    private mutating func check(_ r: Region) {
        ref(r.jurisdiction, in: state.jurisdictions, from: r.meta, field: "spec.jurisdiction")
        if let code = r.countryCode, let j = state.jurisdictions[r.jurisdiction.value], !j.countries.isEmpty,
           !j.countries.contains(where: { $0.value == code.value }) {
            let listed = j.countries.map(\.value).joined(separator: ", ")
            error(.regionLocation,
                  "Region '\(r.meta.name)' is located in \(code.value), which is not one of jurisdiction '\(j.meta.name)''s countries [\(listed)]",
                  at: code.location)
        }
        unique(r.replicatesTo, owner: r.meta, field: "spec.replicatesTo")
        for target in r.replicatesTo {
            ref(target, in: state.regions, from: r.meta, field: "spec.replicatesTo")
            if target.value == r.name {
                error(.regionReplication, "Region '\(r.meta.name)' replicates to itself", at: target.location)
            }
        }
        var types: [String: SourceLocation] = [:]
        for acc in r.accelerators {
            if let first = types[acc.type] {
                error(.schemaUnique, "Region '\(r.meta.name)' lists accelerator type '\(acc.type)' twice (first at line \(first.line))", at: acc.location)
            }
            types[acc.type] = types[acc.type] ?? acc.location
        }
    }

    /// The artifact at `i` in `state.artifacts.list`; appends its parents' positions to
    /// `parents` (-1 for a parent that is not declared, reported here as ref.missing).
    /// `artifacts`: `state.artifacts.list`, in place. (As the array, each artifact's checks
    /// retained and released the list's storage, for the messages' closures: a write per
    /// artifact to the line that holds the list's count, which the fence analysis, running
    /// beside these checks, reads for every artifact. perf put 180 samples on that retain alone.)
    private mutating func checkArtifact(at i: Int, of artifacts: UnsafeBufferPointer<Artifact>, parents: inout [Int32]) {
        if !artifacts[i].declaredDigest.isValid {
            error(.artifactDigest, "Artifact '\(artifacts[i].meta.name)' digest '\(artifacts[i].digest.value)' is not sha256:<64 lowercase hex digits>",
                  at: artifacts[i].digest.location)
        }
        // References by index, names alone: a location is copied out (and its file retained)
        // only for a message.
        ref(artifacts[i].origin.value, at: artifacts[i].origin.location, in: state.regions, from: artifacts[i].meta, field: "spec.origin")
        let derivedFrom = artifacts[i].derivedFrom, fences = artifacts[i].fences
        unique(derivedFrom, owner: artifacts[i].meta, field: "spec.derivedFrom")
        unique(fences, owner: artifacts[i].meta, field: "spec.fences")
        for k in derivedFrom.indices {
            if let p = state.artifacts.position(of: derivedFrom[k].value) {
                parents.append(Int32(p))
            } else {
                parents.append(-1)
                error(.refMissing, "\(artifacts[i].meta.kind.rawValue) '\(artifacts[i].meta.name)' spec.derivedFrom refers to \(ArtifactSpace.kindName) '\(derivedFrom[k].value)', which does not exist",
                      at: derivedFrom[k].location)
            }
        }
        for k in fences.indices {
            ref(fences[k].value, at: fences[k].location, in: state.fences, from: artifacts[i].meta, field: "spec.fences")
        }
    }

    /// Iterative three-colour DFS over `derivedFrom`: deep lineage never recurses on the stack.
    /// Each cycle is reported once, at the edge that closes it, with the whole loop spelled out.
    /// `parentList[parentStart[i] ..< parentStart[i + 1]]` are artifact i's parents, by position
    /// (-1: not declared), in `derivedFrom` order.
    private mutating func checkLineageCycles(parentStart: [Int32], parentList: [Int32]) {
        enum Colour { case white, grey, black }
        let artifacts = state.artifacts.list
        var colour = [Colour](repeating: .white, count: artifacts.count)
        for rootIndex in artifacts.indices where colour[rootIndex] == .white {
            var stack: [(Int, Int)] = [(rootIndex, 0)]
            var path: [ArtifactName] = [artifacts[rootIndex].name]
            colour[rootIndex] = .grey
            while let (node, next) = stack.last {
                let first = Int(parentStart[node])
                if next < Int(parentStart[node + 1]) - first {
                    stack[stack.count - 1].1 += 1
                    let p = Int(parentList[first + next])
                    guard p >= 0 else { continue }
                    switch colour[p] {
                    case .white:
                        colour[p] = .grey
                        stack.append((p, 0))
                        path.append(artifacts[p].name)
                    case .grey:
                        let parent = artifacts[node].derivedFrom[next]
                        let start = path.lastIndex(of: parent.value) ?? 0
                        let loop = (path[start...] + [parent.value]).map(\.rawValue).joined(separator: " -> ")
                        error(.artifactLineageCycle, "Artifact '\(artifacts[node].name)' closes a derivedFrom cycle: \(loop)", at: parent.location)
                    case .black:
                        break
                    }
                } else {
                    colour[node] = .black
                    stack.removeLast()
                    path.removeLast()
                }
            }
        }
    }

    private mutating func check(_ f: ResidencyFence) {
        let hasWildcard = f.allow.contains { $0.value == .any }
        if hasWildcard && f.allow.count > 1 {
            let at = f.allow.first { $0.value == .any }!.location
            error(.fenceWildcard, "ResidencyFence '\(f.meta.name)' allow: \"*\" already means every jurisdiction and must stand alone", at: at)
        }
        unique(f.allow, owner: f.meta, field: "spec.allow")
        unique(f.deny, owner: f.meta, field: "spec.deny")
        for entry in f.allow {
            if case .named(let name) = entry.value {
                ref(Located(name, at: entry.location), in: state.jurisdictions, from: f.meta, field: "spec.allow")
            }
        }
        for entry in f.deny {
            ref(entry, in: state.jurisdictions, from: f.meta, field: "spec.deny")
        }
    }

    private mutating func check(_ m: Model) {
        if !Version.isValid(m.version.value) {
            error(.modelVersion, "Model '\(m.meta.name)' version '\(m.version.value)' is not a version (letters, digits, '.', '-', '+', '_'; at most 128)", at: m.version.location)
        }
        unique(m.artifacts, owner: m.meta, field: "spec.artifacts")
        for a in m.artifacts {
            ref(a, in: state.artifacts, from: m.meta, field: "spec.artifacts")
        }
    }

    private mutating func check(_ t: Topology) {
        let names = t.regions.map(\.name)
        unique(names, owner: t.meta, field: "spec.regions")
        unique(t.failover, owner: t.meta, field: "spec.failover")
        for r in names { ref(r, in: state.regions, from: t.meta, field: "spec.regions") }
        for r in t.failover {
            ref(r, in: state.regions, from: t.meta, field: "spec.failover")
            if names.contains(where: { $0.value == r.value }) {
                error(.topologyRegions, "Topology '\(t.meta.name)' lists '\(r.value)' both in spec.regions and in spec.failover", at: r.location)
            }
        }
        switch t.mode {
        case .singleRegion:
            if t.regions.count != 1 {
                error(.topologyRegions, "Topology '\(t.meta.name)' is single-region but lists \(t.regions.count) regions", at: t.meta.location)
            }
        case .activePassive:
            if t.regions.count < 2 {
                error(.topologyRegions, "Topology '\(t.meta.name)' is active-passive but lists no standby after its primary", at: t.meta.location)
            }
        case .activeActive:
            var sum = 0
            var missing = false
            for r in t.regions {
                if let w = r.weight { sum += w.value } else {
                    missing = true
                    error(.topologyWeights, "Topology '\(t.meta.name)' is active-active: region '\(r.name.value)' needs a weight", at: r.name.location)
                }
            }
            if !missing && sum != 100 {
                error(.topologyWeights, "Topology '\(t.meta.name)' is active-active: weights sum to \(sum), not 100", at: t.regions.first?.name.location ?? t.meta.location)
            }
        }
    }

    private mutating func check(_ g: Guardrail) {
        unique(g.models.map(\.model), owner: g.meta, field: "spec.models")
        for rule in g.models {
            ref(rule.model, in: state.models, from: g.meta, field: "spec.models")
            unique(rule.allowedVersions, owner: g.meta, field: "allowedVersions of '\(rule.model.value)'")
            for v in rule.allowedVersions where !Version.isValid(v.value) {
                error(.guardrailVersion, "Guardrail '\(g.meta.name)' allows '\(v.value)', which is not a version", at: v.location)
            }
        }
    }

    private mutating func check(_ p: Placement) {
        ref(p.model, in: state.models, from: p.meta, field: "spec.model")
        ref(p.topology, in: state.topologies, from: p.meta, field: "spec.topology")
        if p.minReplicas > p.replicas {
            error(.placementReplicas, "Placement '\(p.meta.name)' minReplicas (\(p.minReplicas)) exceeds replicas (\(p.replicas))", at: p.meta.location)
        }
        guard let model = state.models[p.model.value] else { return }
        for g in state.guardrailList {
            for rule in g.models where rule.model.value == model.name {
                if !rule.allowedVersions.contains(where: { $0.value == model.version.value }) {
                    let allowed = rule.allowedVersions.map(\.value).joined(separator: ", ")
                    error(.guardrailVersion,
                          "Placement '\(p.meta.name)' serves model '\(model.meta.name)' version \(model.version.value), which Guardrail '\(g.meta.name)' does not allow (allowed: \(allowed); \(rule.model.location))",
                          at: p.model.location)
                }
            }
        }
    }
}

public enum Digest {
    /// `sha256:` followed by exactly 64 lowercase hex digits: the one rule, `ArtifactDigest`'s.
    public static func isValid(_ s: String) -> Bool { ArtifactDigest(s).isValid }
    public static let pattern = "^sha256:[0-9a-f]{64}$"
}

public enum Version {
    /// A model version: starts with a letter or digit; letters, digits, `.`, `-`, `+`, `_`; ≤ 128.
    public static func isValid(_ s: String) -> Bool {
        let bytes = s.utf8
        guard let first = bytes.first, bytes.count <= 128 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
        guard alnum(first) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B || $0 == 0x5F }
    }
    public static let pattern = "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,127}$"
}
