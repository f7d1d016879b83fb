/// Effective residency fences (SPEC §2), computed once per desired state.
///
/// `E(A) = ∩ (allow(F) − deny(F)) for every fence F applying to A ∩ E(P) for every parent P`.
/// Each artifact's set is computed once, parents first, by an iterative walk of the lineage
/// DAG, so the cost is linear in artifacts plus lineage edges plus label lookups, and deep
/// lineage never recurses on the stack. Sets are bitsets over the declared jurisdictions.
///
/// A region is inside a set when its declared jurisdiction is in it — and so is every region
/// its storage replicates to, transitively. A region whose jurisdiction (or a replica's) is
/// undeclared is outside every set: fail closed.
public struct FenceAnalysis: Sendable {
    /// The state it was computed from, or (after `reused(for:)`) a state holding the same
    /// objects of every kind it reads.
    public private(set) var state: DesiredState
    /// Declared jurisdictions in name order; a set's bit i is `jurisdictionNames[i]`.
    public let jurisdictionNames: [JurisdictionName]
    let jurisdictionIndex: [JurisdictionName: Int]
    public let universe: JurisdictionSet
    /// `allow − deny` of every fence.
    let fenceSets: [FenceName: JurisdictionSet]
    /// An artifact's position in `state.artifactList`, which the per-artifact arrays follow:
    /// the state's own index, not a second table of 71,000 names.
    func artifactIndex(_ name: ArtifactName) -> Int? { state.artifacts.position(of: name) }
    let effective: [JurisdictionSet]
    /// Each model's fence, by its position in `state.modelList`: the planner, the fence
    /// checks and the re-check of every plan all ask for them, and each used to intersect the
    /// model's artifacts' fences again, looking each artifact up by name.
    let modelFences: [JurisdictionSet]
    /// Fences that apply to each artifact: by name first (declared order), then by selector
    /// (name order), each once.
    let applied: [[AppliedFence]]
    /// The lineage as positions, in one flat list: artifact i's declared parents are
    /// `parentList[parentStart[i] ..< parentStart[i + 1]]` (undeclared ones dropped).
    let parentStart: [Int32]
    let parentList: [Int32]
    /// `applied` as positions in `state.fences.list`, in the same flat shape: taken over with it.
    let appliedStart: [Int32]
    let appliedList: [Int32]
    /// Each model's artifacts as positions in `state.artifacts.list` (-1: not declared), flat:
    /// model k's are `modelArtifactList[modelArtifactStart[k] ..< modelArtifactStart[k + 1]]`.
    /// Taken over from an earlier analysis whose models and artifacts tables hold the same
    /// objects (both tables are then the same names in the same order).
    let modelArtifactStart: [Int32]
    let modelArtifactList: [Int32]
    /// Whether `applied` and the lineage were taken over from an earlier analysis (see
    /// `init(_:earlier:)`).
    public let lineageTakenOver: Bool
    /// Every artifact's position, parents first: the order the lineage walk finished them in
    /// (a parent on a cycle is skipped where the walk skipped it: see `init`). Taken over with
    /// the lineage, so an analysis made again computes the effective fences in one pass.
    let lineageOrder: [Int32]
    let regionClosure: [RegionName: RegionClosure]
    /// This analysis's identity: one per analysis computed, kept by the copies `reused(for:)`
    /// and `only(_:)` make (see `isSameAnalysis(as:)`).
    private let token = AnalysisToken()

    public enum FenceSource: Sendable, Hashable {
        case byName
        case bySelector([String: String])
    }

    public struct AppliedFence: Sendable, Hashable {
        public let fence: FenceName
        public let source: FenceSource
    }

    /// The jurisdictions a region's storage reaches through `replicatesTo`, itself included.
    struct RegionClosure: Sendable {
        let jurisdictions: JurisdictionSet
        /// True when some region in the closure has an undeclared jurisdiction or does not exist.
        let unknown: Bool
    }

    /// The tables an analysis is made of.
    public static let inputs: KindSet = [KindSet(.jurisdiction), KindSet(.region), KindSet(.artifact), KindSet(.residencyFence), KindSet(.model)]

    /// Whether `other` is this very analysis (the same computation: its sets are this one's),
    /// over tables of models, artifacts and regions that are this one's very storage, so that
    /// a name looked up in either finds the same position and the same object. Answered
    /// without comparing anything; false for analyses computed apart, even of equal states.
    public func isSameAnalysis(as other: FenceAnalysis) -> Bool {
        token === other.token
            && state.models.changedPositions(since: other.state.models)?.isEmpty == true
            && state.artifacts.changedPositions(since: other.state.artifacts)?.isEmpty == true
            && state.regions.changedPositions(since: other.state.regions)?.isEmpty == true
    }

    /// This analysis over its state with only the tables of `kinds` (`DesiredState.only`):
    /// what reads more than those finds the other tables empty.
    public func only(_ kinds: KindSet) -> FenceAnalysis {
        var copy = self
        copy.state = state.only(kinds)
        return copy
    }

    /// This analysis, for `newState`, when `newState` holds exactly the objects this one was
    /// computed from of every kind the analysis reads (jurisdictions, regions, artifacts,
    /// residency fences, models: each table the same objects, equal field by field, in the same
    /// order); nil otherwise. The analysis is a function of those tables alone, so the answer
    /// is the analysis `FenceAnalysis(newState)` would compute. A commit that changes only
    /// placements, topologies or guardrails (the common edit) keeps its fences.
    public func reused(for newState: DesiredState) -> FenceAnalysis? {
        guard state.jurisdictions.holdsSameObjects(as: newState.jurisdictions),
              state.regions.holdsSameObjects(as: newState.regions),
              state.fences.holdsSameObjects(as: newState.fences),
              state.models.holdsSameObjects(as: newState.models),
              state.artifacts.holdsSameObjects(as: newState.artifacts) else { return nil }
        var copy = self
        copy.state = newState
        return copy
    }

    /// The analysis of `state`. With `earlier`, an analysis of another state whose artifacts
    /// and residency fences tables hold the same objects as this one's, which fences apply to
    /// each artifact and its lineage as positions are taken over: both are a function of those
    /// two tables alone (an artifact's fences by name, its labels, the fences' names and
    /// selectors; its parents' names and every artifact's position). Everything that reads
    /// the jurisdictions, regions or models (the fences' sets, each artifact's effective fence,
    /// the model fences, the region closures) is computed again. This is the load after a
    /// jurisdiction is added: a re-indexed bit for every set, the same artifacts and fences.
    public init(_ state: DesiredState, earlier: FenceAnalysis? = nil) {
        self.state = state
        let jNames = state.jurisdictionList.map(\.name)
        jurisdictionNames = jNames
        var jIndex: [JurisdictionName: Int] = [:]
        for (i, n) in jNames.enumerated() { jIndex[n] = i }
        jurisdictionIndex = jIndex
        let all = JurisdictionSet.all(jNames.count)
        universe = all

        var sets: [FenceName: JurisdictionSet] = [:]
        // The same sets by the fence's position, and each fence's position: an artifact's
        // fences are intersected by position, not looked up by name each time.
        var setAt: [JurisdictionSet] = []
        setAt.reserveCapacity(state.fences.list.count)
        var fencePosition: [FenceName: Int32] = [:]
        var selectorAll: [FenceName] = []
        var selectorIndex: [LabelPair: [FenceName]] = [:]
        for fence in state.fenceList {
            var allow = JurisdictionSet()
            for entry in fence.allow {
                switch entry.value {
                case .any: allow = all
                case .named(let j): if let i = jIndex[j] { allow.insert(i) }
                }
            }
            let deny = JurisdictionSet(fence.deny.compactMap { jIndex[$0.value] })
            let set = allow.subtracting(deny)
            sets[fence.name] = set
            fencePosition[fence.name] = Int32(setAt.count)
            setAt.append(set)
            if let labels = fence.matchLabels {
                // Index each selector by one of its pairs: an artifact then only meets the
                // selectors that share at least that pair with it.
                if let key = labels.keys.sorted().first {
                    selectorIndex[LabelPair(key: key, value: labels[key]!), default: []].append(fence.name)
                } else {
                    selectorAll.append(fence.name)
                }
            }
        }
        fenceSets = sets

        let artifacts = state.artifacts.list
        let count = artifacts.count
        // The intersection of each artifact's own fences.
        var own: [JurisdictionSet] = []
        own.reserveCapacity(count)
        let artifactsSame = earlier.map { $0.state.artifacts.holdsSameObjects(as: state.artifacts) } ?? false
        if let earlier, artifactsSame, earlier.state.fences.holdsSameObjects(as: state.fences) {
            // Each applied fence is declared in this fences table (the earlier's, object for
            // object, so at the same position), so it has a set.
            applied = earlier.applied
            let takenStarts = earlier.appliedStart, takenList = earlier.appliedList
            appliedStart = takenStarts
            appliedList = takenList
            takenStarts.withUnsafeBufferPointer { starts in
                takenList.withUnsafeBufferPointer { list in
                    setAt.withUnsafeBufferPointer { setAt in
                        for i in 0 ..< count {
                            var set = all
                            for k in Int(starts[i]) ..< Int(starts[i + 1]) { set.formIntersection(setAt[Int(list[k])]) }
                            own.append(set)
                        }
                    }
                }
            }
            parentStart = earlier.parentStart
            parentList = earlier.parentList
            lineageTakenOver = true
        } else {
            var appliedFences: [[AppliedFence]] = []
            appliedFences.reserveCapacity(count)
            var appliedStarts: [Int32] = []
            appliedStarts.reserveCapacity(count + 1)
            var appliedPositions: [Int32] = []
            // Found while they are listed, so the lineage walk below needs no lookup by name.
            // The fences an artifact's labels select depend on the labels alone, and a fleet's
            // artifacts share a few label maps (the decoder stores a repeated map once): the answer
            // is kept per map's storage, so each shared map is matched once. Storage identity is
            // only a shortcut: an equal map in storage of its own is matched on its own, with the
            // same answer.
            var selectedBy: [Int: [FenceName]] = [:]
            func selected(_ labels: [String: String]) -> [FenceName] {
                // A native dictionary is one reference to its storage; every map here is held by
                // the state for the whole analysis, so a storage address names one map throughout.
                let identity = MemoryLayout<[String: String]>.size == MemoryLayout<Int>.size
                    ? withUnsafeBytes(of: labels) { $0.load(as: Int.self) } : nil
                if let identity, let hit = selectedBy[identity] { return hit }
                var matched: [FenceName] = selectorAll
                if !selectorIndex.isEmpty {
                    for (key, value) in labels {
                        if let candidates = selectorIndex[LabelPair(key: key, value: value)] {
                            matched += candidates.filter { state.fences[$0]!.selects(labels) }
                        }
                    }
                }
                matched.sort()
                if let identity { selectedBy[identity] = matched }
                return matched
            }
            // By index, reading fields in place: a `for in` copied (and retained) every artifact.
            for i in artifacts.indices {
                Prefetch.ahead(in: artifacts, of: i)
                var list: [AppliedFence] = []
                var set = all
                // Each fence once: a scan of the short list, a table only for a long one.
                var seen: Set<FenceName>?
                func firstTime(_ f: FenceName) -> Bool {
                    if seen == nil, list.count < 16 { return !list.contains { $0.fence == f } }
                    if seen == nil { seen = Set(list.map(\.fence)) }
                    return seen!.insert(f).inserted
                }
                appliedStarts.append(Int32(appliedPositions.count))
                for f in artifacts[i].fences {
                    guard let at = fencePosition[f.value], firstTime(f.value) else { continue }
                    list.append(AppliedFence(fence: f.value, source: .byName))
                    appliedPositions.append(at)
                    set.formIntersection(setAt[Int(at)])
                }
                if !selectorAll.isEmpty || !selectorIndex.isEmpty {
                    let matched = selected(artifacts[i].meta.labels)
                    if !matched.isEmpty {
                        for f in matched where firstTime(f) {
                            let at = fencePosition[f]!
                            list.append(AppliedFence(fence: f, source: .bySelector(state.fences.list[Int(at)].matchLabels ?? [:])))
                            appliedPositions.append(at)
                            set.formIntersection(setAt[Int(at)])
                        }
                    }
                }
                appliedFences.append(list)
                own.append(set)
            }
            appliedStarts.append(Int32(appliedPositions.count))
            applied = appliedFences
            appliedStart = appliedStarts
            appliedList = appliedPositions

            // Lineage as indices, resolved once, in one flat list (each artifact's parents from
            // `parentStart[i]`); undeclared parents (reported as ref.missing) drop out.
            var starts: [Int32] = []
            starts.reserveCapacity(count + 1)
            var parents: [Int32] = []
            for i in artifacts.indices {
                Prefetch.ahead(in: artifacts, of: i)
                starts.append(Int32(parents.count))
                for p in artifacts[i].derivedFrom {
                    if let at = state.artifacts.position(of: p.value) { parents.append(Int32(at)) }
                }
            }
            starts.append(Int32(parents.count))
            parentStart = starts
            parentList = parents
            lineageTakenOver = false
        }

        // Parents before children: an explicit-stack post-order walk, recording the order it
        // finishes artifacts in. A back edge (a cycle, reported by the structural checks) is
        // skipped, so this always terminates. Taken over with the lineage (the walk reads the
        // lineage alone).
        let starts = parentStart, parents = parentList
        let order: [Int32]
        if lineageTakenOver, let earlier, earlier.lineageOrder.count == count {
            order = earlier.lineageOrder
        } else {
            var finished: [Int32] = []
            finished.reserveCapacity(count)
            var visited = [Bool](repeating: false, count: count)
            var stack: [(Int, Int)] = []
            for root in 0 ..< count where !visited[root] {
                stack.append((root, Int(starts[root])))
                visited[root] = true
                while let (node, next) = stack.last {
                    if next < Int(starts[node + 1]) {
                        stack[stack.count - 1].1 += 1
                        let p = Int(parents[next])
                        // Finished, or on the stack (a cycle): skipped.
                        guard !visited[p] else { continue }
                        visited[p] = true
                        stack.append((p, Int(starts[p])))
                        continue
                    }
                    finished.append(Int32(node))
                    stack.removeLast()
                }
            }
            order = finished
        }
        lineageOrder = order
        // Each artifact's set is its own fences' intersected with each parent's that was
        // finished before it (in the walk, a parent still on the stack, on a cycle, was not).
        // With fewer than 65 jurisdictions every set is one word: computed as words.
        var finishedBefore = [Bool](repeating: false, count: count)
        let effectiveByPosition: [JurisdictionSet]
        if all.word != nil, own.allSatisfy({ $0.word != nil }) {
            let ownWords = own.map { $0.word! }
            var words = [UInt64](repeating: 0, count: count)
            for n in order {
                let node = Int(n)
                var w = ownWords[node]
                for k in Int(starts[node]) ..< Int(starts[node + 1]) {
                    let p = Int(parents[k])
                    if finishedBefore[p] { w &= words[p] }
                }
                words[node] = w
                finishedBefore[node] = true
            }
            effectiveByPosition = words.map { JurisdictionSet(word: $0) }
        } else {
            var sets = own
            for n in order {
                let node = Int(n)
                var set = own[node]
                for k in Int(starts[node]) ..< Int(starts[node + 1]) {
                    let p = Int(parents[k])
                    if finishedBefore[p] { set.formIntersection(sets[p]) }
                }
                sets[node] = set
                finishedBefore[node] = true
            }
            effectiveByPosition = sets
        }
        effective = effectiveByPosition

        // A model's fence is the intersection of its artifacts' effective fences; an
        // undeclared artifact (reported as ref.missing) makes it empty: fail closed.
        let models = state.models.list
        let modelStarts: [Int32], modelList: [Int32]
        if let earlier, artifactsSame, earlier.state.models.holdsSameObjects(as: state.models) {
            (modelStarts, modelList) = (earlier.modelArtifactStart, earlier.modelArtifactList)
        } else {
            var starts: [Int32] = []
            starts.reserveCapacity(models.count + 1)
            var positions: [Int32] = []
            for k in models.indices {
                starts.append(Int32(positions.count))
                for a in models[k].artifacts { positions.append(state.artifacts.position(of: a.value).map(Int32.init) ?? -1) }
            }
            starts.append(Int32(positions.count))
            (modelStarts, modelList) = (starts, positions)
        }
        modelArtifactStart = modelStarts
        modelArtifactList = modelList
        var perModel: [JurisdictionSet] = []
        perModel.reserveCapacity(models.count)
        modelStarts.withUnsafeBufferPointer { starts in
            modelList.withUnsafeBufferPointer { list in
                effectiveByPosition.withUnsafeBufferPointer { effective in
                    for k in 0 ..< models.count {
                        var set = all
                        for j in Int(starts[k]) ..< Int(starts[k + 1]) {
                            let at = Int(list[j])
                            guard at >= 0 else {
                                set = JurisdictionSet()
                                break
                            }
                            set.formIntersection(effective[at])
                        }
                        perModel.append(set)
                    }
                }
            }
        }
        modelFences = perModel

        // Each region's closure, walked by position: `seen[k] == i` marks region k as reached
        // from the i-th, so one array serves every walk (a set and a queue per region were most
        // of this). A name no region has is unknown, as is a region whose jurisdiction is.
        var closures: [RegionName: RegionClosure] = [:]
        closures.reserveCapacity(state.regions.count)
        let regionList = state.regions.list
        var seen = [Int](repeating: -1, count: regionList.count)
        var queue: [Int] = []
        for (i, name) in state.regions.keys.enumerated() {
            var set = JurisdictionSet()
            var unknown = false
            queue.removeAll(keepingCapacity: true)
            if let start = state.regions.position(of: name) {
                seen[start] = i
                queue.append(start)
            } else {
                unknown = true
            }
            while let r = queue.popLast() {
                guard let j = jIndex[regionList[r].jurisdiction.value] else {
                    unknown = true
                    continue
                }
                set.insert(j)
                for next in regionList[r].replicatesTo {
                    guard let k = state.regions.position(of: next.value) else {
                        unknown = true
                        continue
                    }
                    if seen[k] != i {
                        seen[k] = i
                        queue.append(k)
                    }
                }
            }
            closures[name] = RegionClosure(jurisdictions: set, unknown: unknown)
        }
        regionClosure = closures
    }

    struct LabelPair: Hashable {
        let key: String
        let value: String
    }

    // MARK: - Queries

    /// The effective fence of an artifact; nil for an artifact that is not declared.
    public func effectiveFence(of artifact: ArtifactName) -> JurisdictionSet? {
        artifactIndex(artifact).map { effective[$0] }
    }

    /// The fences that apply to an artifact directly, by name and by selector.
    public func appliedFences(of artifact: ArtifactName) -> [AppliedFence] {
        artifactIndex(artifact).map { applied[$0] } ?? []
    }

    /// `allow − deny` of a fence.
    public func fenceSet(_ fence: FenceName) -> JurisdictionSet? { fenceSets[fence] }

    /// A model's fence: the intersection of its artifacts' effective fences.
    public func modelFence(of model: ModelName) -> JurisdictionSet? {
        state.models.position(of: model).map { modelFences[$0] }
    }

    public func index(of jurisdiction: JurisdictionName) -> Int? { jurisdictionIndex[jurisdiction] }

    /// Whether a region, and every region its storage replicates to, is inside `set`.
    public func isInside(_ region: RegionName, _ set: JurisdictionSet) -> Bool {
        guard let c = regionClosure[region], !c.unknown else { return false }
        return c.jurisdictions.isSubset(of: set)
    }

    /// Whether an artifact may be stored in a region (and its replicas).
    public func allows(_ artifact: ArtifactName, in region: RegionName) -> Bool {
        guard let e = effectiveFence(of: artifact) else { return false }
        return isInside(region, e)
    }

    /// Jurisdiction names of a set, in name order.
    public func names(_ set: JurisdictionSet) -> [JurisdictionName] {
        set.indices.compactMap { $0 < jurisdictionNames.count ? jurisdictionNames[$0] : nil }
    }

    /// `{eu, gb}`, `every jurisdiction`, or `nowhere`.
    public func describe(_ set: JurisdictionSet) -> String {
        if set.isEmpty { return "{} (nowhere)" }
        let list = "{" + names(set).map(\.rawValue).joined(separator: ", ") + "}"
        return set == universe && jurisdictionNames.count > 1 ? "\(list) (every jurisdiction)" : list
    }

    /// Every region a region's storage replicates to, transitively, in name order.
    public func replicas(of region: RegionName) -> [RegionName] {
        var seen: Set<RegionName> = [region]
        var queue = [region]
        var out: [RegionName] = []
        while let r = queue.popLast() {
            for next in state.regions[r]?.replicatesTo ?? [] where seen.insert(next.value).inserted {
                out.append(next.value)
                queue.append(next.value)
            }
        }
        return out.sorted()
    }

    /// The region, within `region`'s replication closure, that lies outside `set`, with the
    /// replication path that reaches it (`[region]` when the region itself is outside).
    public func offendingReplica(of region: RegionName, outside set: JurisdictionSet) -> [RegionName]? {
        // The precomputed closure answers the common case (inside) without a walk.
        if isInside(region, set) { return nil }
        var parent: [RegionName: RegionName] = [:]
        var seen: Set<RegionName> = [region]
        var queue = [region]
        var head = 0
        while head < queue.count {
            let r = queue[head]
            head += 1
            let inside = state.regions[r].flatMap { jurisdictionIndex[$0.jurisdiction.value] }.map { set.contains($0) } ?? false
            if !inside {
                var path = [r]
                while let p = parent[path[0]] { path.insert(p, at: 0) }
                return path
            }
            for next in state.regions[r]?.replicatesTo ?? [] where seen.insert(next.value).inserted {
                parent[next.value] = r
                queue.append(next.value)
            }
        }
        return nil
    }

    /// `us (declared)`, or `unknown` for a region or jurisdiction that is not declared.
    public func jurisdictionLabel(of region: RegionName) -> String {
        guard let r = state.regions[region] else { return "unknown: region not declared" }
        return jurisdictionIndex[r.jurisdiction.value] == nil ? "\(r.jurisdiction.value), undeclared" : r.jurisdiction.value.rawValue
    }

    /// Why `jurisdiction` is not in an artifact's effective fence: the fence or the chain of
    /// parents that excluded it, narrowest link last. Empty when it is allowed.
    public func exclusionChain(of artifact: ArtifactName, for jurisdiction: JurisdictionName) -> [String] {
        guard let j = jurisdictionIndex[jurisdiction] else {
            return ["jurisdiction '\(jurisdiction)' is not declared, so it is outside every fence"]
        }
        var steps: [String] = []
        var current = artifact
        var guardSteps = 0
        while let i = artifactIndex(current), !effective[i].contains(j), guardSteps <= effective.count {
            guardSteps += 1
            if let f = applied[i].first(where: { !(fenceSets[$0.fence]?.contains(j) ?? false) }) {
                steps.append("\(current) is bound by \(describe(fence: f)), which \(excludes(f.fence, jurisdiction))")
                return steps
            }
            guard let parent = state.artifacts[current]?.derivedFrom.first(where: { p in
                artifactIndex(p.value).map { !effective[$0].contains(j) } ?? false
            }) else { break }
            steps.append("\(current) is derived from \(parent.value)")
            current = parent.value
        }
        return steps
    }

    /// `fence eu-only (by name)` or `fence in-resident (by selector data-origin=in)`.
    public func describe(fence applied: AppliedFence) -> String {
        switch applied.source {
        case .byName: return "fence \(applied.fence) (by name)"
        case .bySelector(let labels):
            let sel = labels.keys.sorted().map { "\($0)=\(labels[$0]!)" }.joined(separator: ",")
            return "fence \(applied.fence) (by selector \(sel.isEmpty ? "{} (every artifact)" : sel))"
        }
    }

    private func excludes(_ fence: FenceName, _ jurisdiction: JurisdictionName) -> String {
        guard let f = state.fences[fence] else { return "does not exist" }
        if f.deny.contains(where: { $0.value == jurisdiction }) { return "denies \(jurisdiction)" }
        return "allows only \(describe(fenceSets[fence] ?? JurisdictionSet()))"
    }
}

/// A fence analysis's identity (see `FenceAnalysis.isSameAnalysis(as:)`).
final class AnalysisToken: Sendable {}
