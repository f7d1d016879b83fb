/// Computes the ordered plan that takes the observed state to the desired one (SPEC §4). Pure:
/// no IO, no clock, no randomness, and every iteration is in sorted order, so the same inputs
/// give the same plan, byte for byte.
///
/// Capacity is decided from a pool per region that does not depend on where placements run now
/// (`free` plus what every deployment Meridian can account for holds), claimed by placements in
/// order of priority, then name. The assignment is therefore a function of the desired state,
/// the capacity and the regions' health: once the plan is applied, planning again gives the
/// same assignment and no actions. A deploy that needs capacity another placement releases in
/// the same region waits for that release.
///
/// Work is proportional to what changes: the loops over everything observed or desired only
/// filter, and only what acts is sorted (a converged fleet sorts nothing). A class, so that the
/// nested helpers of one pass share the planner instead of copying its tables.
public final class Planner {
    public struct Options: Sendable {
        /// Regions to treat as down (a drill).
        public var failedRegions: Set<RegionName>
        public init(failedRegions: Set<RegionName> = []) { self.failedRegions = failedRegions }
    }

    let state: DesiredState
    let fences: FenceAnalysis
    let observed: ObservedState
    /// A `var` only for `drillEach`, which fails one region at a time in the same planner.
    private(set) var options: Options

    public static func plan(_ state: DesiredState, fences: FenceAnalysis, observed: ObservedState, source: PlanSource,
                            options: Options = Options()) -> Plan {
        Planner(state: state, fences: fences, observed: observed, options: options).run(source: source)
    }

    /// `effective`: each artifact's effective fence by its position in `state.artifacts.list`,
    /// when the caller has them so (a part of a partition); otherwise they are read from `fences`.
    init(state: DesiredState, fences: FenceAnalysis, observed: ObservedState, options: Options, effective: [JurisdictionSet]? = nil) {
        self.state = state
        self.fences = fences
        self.observed = observed
        self.options = options
        var obs: [RegionName: RegionObservation] = [:]
        var copies: [RegionName: [String: ObservedArtifact]] = [:]
        var deployments: [RegionName: [String: ObservedDeployment]] = [:]
        var traffic: [String: [RegionName: Int]] = [:]
        var reachable = Set<RegionName>(), attested = Set<RegionName>()
        for r in state.regionList {
            let o = observed.region(r.name, declared: r)
            obs[r.name] = o
            copies[r.name] = o.artifacts  // shares the observation's storage: no copy
            deployments[r.name] = o.deployments
            if o.reachable && !options.failedRegions.contains(r.name) {
                reachable.insert(r.name)
                for (p, w) in o.traffic where w > 0 { traffic[p, default: [:]][r.name] = w }
            }
            if o.jurisdiction.map({ $0 == r.jurisdiction.value.rawValue }) ?? true { attested.insert(r.name) }
        }
        self.obs = obs
        // What the hot loops ask of regions and artifacts, by position (regions in
        // `state.regionList`, artifacts in `state.artifacts.list`: both in name order), so that
        // asking costs no hashing of names. Positions order as the names do.
        let regionCount = state.regionList.count
        var bits = [UInt8](repeating: 0, count: regionCount)
        var closures = [FenceAnalysis.RegionClosure?](repeating: nil, count: regionCount)
        for (k, r) in state.regionList.enumerated() {
            if reachable.contains(r.name) { bits[k] |= Self.reachableBit }
            if attested.contains(r.name) { bits[k] |= Self.attestedBit }
            if r.state == .active { bits[k] |= Self.activeBit }
            if r.state == .isolated { bits[k] |= Self.isolatedBit }
            closures[k] = fences.regionClosure[r.name]
        }
        self.regionBits = bits
        self.regionClosures = closures
        // By index: a `map` over the list copied (and retained) every artifact.
        let artifactList = state.artifacts.list
        self.originOf = artifactList.indices.map { i in state.regions.position(of: artifactList[i].origin.value).map { Int32($0) } ?? -1 }
        // The fences' table of effective fences is by the same positions when it was computed
        // from this state (the callers' case: the arrays share storage); otherwise each is
        // looked up by name.
        let sameArtifacts = fences.effective.count == state.artifacts.count
            && fences.state.artifacts.list.withUnsafeBufferPointer { a in state.artifacts.list.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
        if let effective {
            precondition(effective.count == state.artifacts.count, "one effective fence per artifact")
            self.effectiveFences = effective
        } else {
            self.effectiveFences = sameArtifacts ? fences.effective
                : state.artifacts.list.map { fences.effectiveFence(of: ArtifactName($0.meta.name)) ?? JurisdictionSet() }
        }
        // The regions holding a copy of each declared artifact, in region name order, as one
        // list with offsets by the artifact's position (a table of arrays cost 4 MB in the
        // benchmark fleet): counted, then filled. With each, whether that copy has the declared
        // digest.
        // Each copy's artifact is looked up once, in the first pass; the second pass walks the
        // same dictionaries in the same order and takes the positions from `found`.
        var start = [Int32](repeating: 0, count: state.artifacts.count + 1)
        var found: [Int32] = []
        for r in state.regionList {
            for a in (copies[r.name] ?? [:]).keys {
                if let i = state.artifacts.position(of: ArtifactName(a)) {
                    start[i + 1] += 1
                    found.append(Int32(i))
                } else {
                    found.append(-1)
                }
            }
        }
        for i in 0 ..< state.artifacts.count { start[i + 1] += start[i] }
        var list = [Int32](repeating: 0, count: Int(start[state.artifacts.count]))
        var matches = [Bool](repeating: false, count: list.count)
        var fill = start
        var next = 0
        for (k, r) in state.regionList.enumerated() {
            for (_, copy) in copies[r.name] ?? [:] {
                let i = Int(found[next])
                next += 1
                guard i >= 0 else { continue }
                list[Int(fill[i])] = Int32(k)
                matches[Int(fill[i])] = artifactList[i].declaredDigest.matches(copy.digest)
                fill[i] += 1
            }
        }
        // Filled region by region in region order: each artifact's slice is in region order.
        self.holderStart = start
        self.holderRegion = list
        self.holderMatches = matches
        self.copies = copies
        self.deployments = deployments
        self.trafficOf = traffic
        self.reachableSet = reachable
        self.attestedSet = attested
        var regionStates: [RegionName: RegionState] = [:]
        for r in state.regionList { regionStates[r.name] = r.state }
        self.regionStates = regionStates
        var modelFences: [ModelName: JurisdictionSet] = [:]
        var accelerators: [ModelName: AcceleratorCount] = [:]
        for m in state.modelList {
            modelFences[m.name] = fences.modelFence(of: m.name) ?? JurisdictionSet()
            if let acc = m.accelerator { accelerators[m.name] = acc }
        }
        self.modelFences = modelFences
        self.modelAccelerators = accelerators
        // What allocation reads of each placement and model, by position, resolved once: a
        // placement is allocated once per plan but once per drill that touches it.
        let models = state.models.list
        var fenceAt: [JurisdictionSet] = [], modelArtifactStart: [Int32] = [0], modelArtifactList: [Int32] = []
        fenceAt.reserveCapacity(models.count)
        modelArtifactStart.reserveCapacity(models.count + 1)
        for k in models.indices {
            fenceAt.append(modelFences[models[k].name] ?? JurisdictionSet())
            for a in models[k].artifacts {
                if let i = state.artifacts.position(of: a.value) { modelArtifactList.append(Int32(i)) }
            }
            modelArtifactStart.append(Int32(modelArtifactList.count))
        }
        self.modelFenceAt = fenceAt
        self.modelArtifactStart = modelArtifactStart
        self.modelArtifactList = modelArtifactList
        let placements = state.placementList
        self.placementModel = placements.indices.map { k in state.models.position(of: placements[k].model.value).map { Int32($0) } ?? -1 }
        self.placementTopology = placements.indices.map { k in state.topologies.position(of: placements[k].topology.value).map { Int32($0) } ?? -1 }
        // Accelerator types numbered in the order the models first name them, and each model's
        // type by position: the pool is a flat table by region position and type (`Pool`).
        var typeNumber: [String: Int] = [:]
        var modelType = [Int32](repeating: -1, count: models.count)
        for k in models.indices {
            guard let type = models[k].accelerator?.type else { continue }
            if typeNumber[type] == nil { typeNumber[type] = typeNumber.count }
            modelType[k] = Int32(typeNumber[type]!)
        }
        self.typeNumber = typeNumber
        self.modelType = modelType
        // Each topology's regions, then its failover regions, as region positions, looked up
        // once (a topology serves several placements, and a drill allocates one many times).
        let topologies = state.topologies.list
        var placeStart: [Int32] = [0], places: [Int32] = []
        placeStart.reserveCapacity(topologies.count + 1)
        for t in topologies.indices {
            for r in topologies[t].regions { places.append(state.regions.position(of: r.name.value).map { Int32($0) } ?? -1) }
            for r in topologies[t].failover { places.append(state.regions.position(of: r.value).map { Int32($0) } ?? -1) }
            placeStart.append(Int32(places.count))
        }
        self.topologyPlaceStart = placeStart
        self.topologyPlaces = places
        self.usableStamp = [Int](repeating: 0, count: regionCount)
        self.usableAnswer = [Bool](repeating: false, count: regionCount)
    }

    /// Per model, by position: its fence, and its declared artifacts' positions
    /// (`modelArtifactList[modelArtifactStart[m] ..< modelArtifactStart[m + 1]]`).
    private let modelFenceAt: [JurisdictionSet]
    private let modelArtifactStart: [Int32]
    private let modelArtifactList: [Int32]
    /// Per placement, by position: its model's and its topology's positions (-1: not declared).
    private let placementModel: [Int32]
    private let placementTopology: [Int32]
    /// The accelerator types models ask for, numbered; per model, by position, its type's
    /// number (-1: no accelerator).
    private let typeNumber: [String: Int]
    private let modelType: [Int32]
    /// Per topology, by position: its regions, then its failover regions, as region positions
    /// (-1: not declared), at `topologyPlaces[topologyPlaceStart[t] ..< topologyPlaceStart[t + 1]]`.
    private let topologyPlaceStart: [Int32]
    private let topologyPlaces: [Int32]
    /// Whether each region, by position, can serve the placement being allocated: valid where
    /// `usableStamp` holds that allocation's stamp (so nothing is cleared between allocations).
    /// Taken out of the planner for the allocation (`swap`), so that it is written in place.
    private var usableStamp: [Int]
    private var usableAnswer: [Bool]
    private var allocationStamp = 0

    /// What the planner needs of an artifact, without copying the whole declaration around.
    struct ArtifactFacts {
        let name: ArtifactName
        let origin: RegionName
    }

    /// The facts of the artifact at `i` in `state.artifactList`, read in place (a table of
    /// them cost 3.4 MB in a 71,000-artifact fleet, and one by name 8 MB).
    private func fact(_ i: Int) -> ArtifactFacts {
        ArtifactFacts(name: ArtifactName(state.artifacts.list[i].meta.name), origin: state.artifacts.list[i].origin.value)
    }
    private let regionStates: [RegionName: RegionState]
    private let modelFences: [ModelName: JurisdictionSet]
    /// Each model's accelerator per replica, so capacity sums never copy a whole model.
    private let modelAccelerators: [ModelName: AcceleratorCount]

    // Indexes over the observation, built once: the planner's loops look things up here
    // instead of copying whole region observations.
    private let copies: [RegionName: [String: ObservedArtifact]]
    private let deployments: [RegionName: [String: ObservedDeployment]]
    /// Placement → reachable region → observed weight (> 0).
    private let trafficOf: [String: [RegionName: Int]]
    private var reachableSet: Set<RegionName>
    private let attestedSet: Set<RegionName>

    struct Pair: Hashable {
        let region: RegionName
        let name: String
    }

    /// Per region, by position: what `reachable`, `attested` and its declared state say.
    private var regionBits: [UInt8]
    private static let reachableBit: UInt8 = 1, attestedBit: UInt8 = 2, activeBit: UInt8 = 4, isolatedBit: UInt8 = 8
    /// Per region, by position: the jurisdictions its storage reaches (`FenceAnalysis`).
    private let regionClosures: [FenceAnalysis.RegionClosure?]
    /// Per artifact, by position: its origin's region position (-1: not a declared region).
    private let originOf: [Int32]
    /// Per artifact, by position: its effective fence.
    private let effectiveFences: [JurisdictionSet]
    /// The regions that report a copy of each artifact, as region positions in name order
    /// (`holderStart[i] ..< holderStart[i + 1]` for the artifact at `i`), and whether each
    /// copy has the declared digest.
    private let holderStart: [Int32]
    private let holderRegion: [Int32]
    private let holderMatches: [Bool]

    private let obs: [RegionName: RegionObservation]
    /// The drafts' actions, in the order they were drafted (a draft is its index here). In
    /// chunks: an array that doubles briefly holds its old and its new storage, and with 80,000
    /// drafts that copy was the largest part of a large plan's peak memory. Taken out whole at
    /// the end and put in plan order in place, so the actions are never held twice.
    private var drafted = ChunkedArray<Action>()
    /// Where the drafts' reasons are written (see `ReasonText`).
    private var reasons = ReasonText.Arena()
    private func text(_ reason: String) -> ReasonText { reasons.add(reason) }
    /// Where `text(writing:)` writes a reason, its buffer reused from one to the next.
    private var reasonWriter = ReasonWriter(bytes: [])
    /// A reason written piece by piece into one reused buffer and then into the arena: the
    /// stage and deploy reasons (most of a large plan's) made an interpolated string each, grown
    /// as it was written, and a joined list of their users besides; that was a sixth of
    /// drafting the stages and deploys. `write` must not write another reason.
    private func text(writing write: (inout ReasonWriter) -> Void) -> ReasonText {
        reasonWriter.bytes.removeAll(keepingCapacity: true)
        write(&reasonWriter)
        return reasonWriter.bytes.withUnsafeBufferPointer { reasons.add($0) }
    }
    /// Each draft's key variant, for the last tie-break.
    private var variants: [DraftKey.Variant] = []
    /// Dependencies as edges, `dependent << 32 | dependency`, all in one array (an array per
    /// draft was an allocation per action).
    private var edges: [UInt64] = []
    /// Capacity waits, as edges: all are dropped if together they would close a cycle.
    private var softEdges: [UInt64] = []
    /// Dependencies on keys not drafted yet when their dependent was: looked up once all are.
    private var pendingEdges: [(dependent: Int32, key: DraftKey)] = []
    /// Drafts by key. Holds draft indices only: a key is compared with the draft itself.
    private var keys = DraftTable()
    /// Draft indices per region and kind, so that per-region lookups stay linear overall.
    private var byRegion: [RegionName: [Action.Kind: [Int32]]] = [:]
    /// The stage actions that copy an artifact out of a region, in draft order: listed when a
    /// delete first asks (most plans delete nothing), once every stage is drafted.
    private var copiesFrom: [Pair: [Int32]]?

    private func stages(copying a: String, from r: RegionName) -> [Int32] {
        if copiesFrom == nil {
            var table: [Pair: [Int32]] = [:]
            for i in 0 ..< drafted.count where variants[i] == .stage {
                let action = drafted[i]
                if let from = action.from, let artifact = action.artifact {
                    table[Pair(region: from, name: artifact.rawValue), default: []].append(Int32(i))
                }
            }
            copiesFrom = table
        }
        return copiesFrom![Pair(region: r, name: a)] ?? []
    }
    private var unserved: [Unserved] = []
    private var purgedDeployments = Set<Pair>()
    private var purgedArtifacts = Set<Pair>()

    /// What identifies a draft: adding the same key twice adds dependencies to the first. A
    /// structure, not a string: a plan has one per action, and every dependency names one.
    struct DraftKey: Hashable {
        /// In the order of the strings that used to be the keys ("delete:…" < "deploy:…" <
        /// "purge:r:artifact:…" < "purge:r:placement:…" < … < "traffic-isolate:…" < "traffic:…"):
        /// the plan's last tie-break, between two actions of one kind on the same region and
        /// name, compares these.
        enum Variant: UInt8 {
            case delete, deploy, purgeArtifact, purgePlacement, stage, trafficIsolate, traffic, undeploy
        }
        let region: String
        let subject: String
        let variant: Variant

        init(_ variant: Variant, _ region: RegionName?, _ subject: String) {
            self.variant = variant
            self.region = region?.rawValue ?? ""
            self.subject = subject
        }
    }

    private static func edge(_ dependent: Int32, on dependency: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: dependent)) << 32 | UInt64(UInt32(bitPattern: dependency))
    }

    // MARK: - Regions

    private func observation(_ r: RegionName) -> RegionObservation { obs[r] ?? RegionObservation(reachable: false) }

    private func reachable(_ r: RegionName) -> Bool { reachableSet.contains(r) }

    /// The region attests the jurisdiction it is declared in (or says nothing).
    private func attested(_ r: RegionName) -> Bool { attestedSet.contains(r) }

    private func isolated(_ r: RegionName) -> Bool { regionStates[r] == .isolated }

    /// Whether a region may take new work for a workload whose fence is `set`.
    private func eligible(_ r: Int32, _ set: JurisdictionSet) -> Bool {
        let need = Self.reachableBit | Self.attestedBit | Self.activeBit
        return regionBits[Int(r)] & need == need && isInside(r, set)
    }

    /// `FenceAnalysis.isInside`, by region position: the region and every region its storage
    /// replicates to are inside `set`.
    private func isInside(_ r: Int32, _ set: JurisdictionSet) -> Bool {
        guard r >= 0, let c = regionClosures[Int(r)], !c.unknown else { return false }
        return c.jurisdictions.isSubset(of: set)
    }

    /// A region that may serve as a copy source (-1, no declared region, never does).
    private func usableSource(_ r: Int32) -> Bool {
        r >= 0 && regionBits[Int(r)] & (Self.reachableBit | Self.attestedBit | Self.isolatedBit) == Self.reachableBit | Self.attestedBit
    }

    private func regionName(_ r: Int32) -> RegionName { state.regionList[Int(r)].name }

    /// Why region `r` cannot serve a workload whose fence is `set` and whose artifacts are at
    /// `artifacts` (positions in `state.artifacts.list`), for the reasons the plan gives.
    private func why(_ r: RegionName, _ set: JurisdictionSet, artifacts: ArraySlice<Int32> = []) -> String {
        guard let region = state.regions[r] else { return "\(r) is not declared" }
        if let down = unavailable(r) { return down }
        if region.state != .active { return "\(r) is \(region.state.rawValue)" }
        if !fences.isInside(r, set) { return "\(r) is outside the fence \(fences.describe(set))" }
        // An artifact that no usable region can supply (see `stageSource`).
        if let k = state.regions.position(of: r), let a = artifacts.first(where: { !stageSource(Int($0), into: Int32(k)).possible }) {
            let artifact = state.artifacts.list[Int(a)], origin = artifact.origin.value
            return "\(r) cannot get \(artifact.meta.name): no usable in-fence region holds it, and its origin \(unavailable(origin) ?? "\(origin) cannot supply it")"
        }
        return "\(r) has no room"
    }

    /// Why region `r` can neither take work nor supply a copy, if it cannot.
    private func unavailable(_ r: RegionName) -> String? {
        if options.failedRegions.contains(r) { return "\(r) is down (drill)" }
        if !observation(r).reachable { return "\(r) is unreachable" }
        if !attested(r) { return "\(r) attests jurisdiction \(observation(r).jurisdiction ?? "?"), not \(state.regions[r].map { $0.jurisdiction.value.rawValue } ?? "?")" }
        if state.regions[r]?.state == .isolated { return "\(r) is isolated" }
        return nil
    }

    /// Whether region `r` holds the artifact at `a` with its declared digest (and no purge
    /// takes it out).
    private func hasCopy(_ r: Int32, _ a: Int) -> Bool {
        for k in Int(holderStart[a]) ..< Int(holderStart[a + 1]) where holderRegion[k] == r {
            return holderMatches[k] && (purgedArtifacts.isEmpty || !purged(state.artifacts.list[a].meta.name, from: regionName(r), purgedArtifacts))
        }
        return false
    }

    /// Whether a purge takes `name` out of `r` (most plans purge nothing: no hashing then).
    private func purged(_ name: String, from r: RegionName, _ set: Set<Pair>) -> Bool {
        !set.isEmpty && set.contains(Pair(region: r, name: name))
    }

    /// Whether the artifact at `a` can be made present in region `r` in this plan, and from
    /// which region.
    private func stageSource(_ a: Int, into r: Int32) -> (possible: Bool, from: Int32?, viaOrigin: Bool) {
        let origin = originOf[a]
        if r == origin || hasCopy(r, a) { return (true, nil, false) }
        let e = effectiveFences[a]
        if usableSource(origin) && hasCopy(origin, a) { return (true, origin, false) }
        for k in Int(holderStart[a]) ..< Int(holderStart[a + 1]) {
            let candidate = holderRegion[k]
            if candidate != r && usableSource(candidate) && isInside(candidate, e) && hasCopy(candidate, a) {
                return (true, candidate, false)
            }
        }
        if usableSource(origin) && isInside(origin, e) { return (true, origin, true) }
        return (false, nil, false)
    }

    // MARK: - Drafts

    /// Adds a draft, or the dependencies to the draft already added under `key`. `deps` are
    /// drafts already added. `ifDrafted` names drafts by key that are added before this one if
    /// at all (a stage before the deploys, a deploy before the traffic): a key not found is no
    /// dependency. `keyed` may name drafts added later, so a key not found now is looked up
    /// again once every draft is in (and dropped if it is still not found).
    @discardableResult
    private func add(_ key: DraftKey, _ action: Action, deps: [Int32] = [], ifDrafted: [DraftKey] = [],
                     keyed: [DraftKey] = []) -> Int32 {
        let hash = key.hashValue
        let existing = draft(key, hash: hash)
        let i = existing ?? Int32(drafted.count)
        for j in deps { edges.append(Self.edge(i, on: j)) }
        for k in ifDrafted {
            if let j = draft(k) { edges.append(Self.edge(i, on: j)) }
        }
        for k in keyed {
            if let j = draft(k) { edges.append(Self.edge(i, on: j)) } else { pendingEdges.append((i, k)) }
        }
        if existing != nil {
            reasons.discard(action.reasonText)
            return i
        }
        // SPEC §2.5: every action but a purge waits for the purges in the regions it names (its
        // region, or the regions whose weights it sets), here once for every kind of draft.
        if action.kind != .purge, !(purgedDeployments.isEmpty && purgedArtifacts.isEmpty) {
            if let r = action.region {
                for j in purges(in: r) { edges.append(Self.edge(i, on: j)) }
            } else if let weights = action.weights {
                for r in weights.keys { for j in purges(in: r) { edges.append(Self.edge(i, on: j)) } }
            }
        }
        keys.insert(i, hash: hash)
        if let r = action.region, Self.isIndexed(action.kind) { byRegion[r, default: [:]][action.kind, default: []].append(i) }
        precondition(copiesFrom == nil || action.kind != .stageArtifact, "a stage drafted after the copies out of regions were listed")
        variants.append(key.variant)
        drafted.append(action)
        return i
    }

    /// The draft added under `key`, if any.
    private func draft(_ key: DraftKey, hash: Int? = nil) -> Int32? {
        keys.find(hash: hash ?? key.hashValue) { self.key(of: $0) == key }
    }

    /// The key a draft was added under, from its action.
    private func key(of i: Int32) -> DraftKey {
        let a = drafted[Int(i)], variant = variants[Int(i)]
        switch variant {
        case .purgeArtifact, .stage, .delete: return DraftKey(variant, a.region, a.artifact?.rawValue ?? "")
        case .purgePlacement, .deploy, .undeploy, .traffic, .trafficIsolate: return DraftKey(variant, a.region, a.placement?.rawValue ?? "")
        }
    }

    /// The kinds `indices(in:)` is asked for, the only ones `byRegion` records: the stages,
    /// most of a large plan's drafts, are never looked up by region.
    private static func isIndexed(_ kind: Action.Kind) -> Bool {
        switch kind {
        case .purge, .undeploy, .deploy: true
        case .stageArtifact, .setTraffic, .deleteArtifact: false
        }
    }

    /// Indices of the drafts of these kinds in a region, in the order they were added.
    private func indices(in r: RegionName, _ kinds: [Action.Kind]) -> [Int32] {
        precondition(kinds.allSatisfy(Self.isIndexed), "drafts of kinds not recorded by region")
        guard let perKind = byRegion[r] else { return [] }
        let found = kinds.flatMap { perKind[$0] ?? [] }
        return kinds.count > 1 ? found.sorted() : found
    }

    /// The purges drafted in a region (each purge is recorded in one of the purged sets first:
    /// when both are empty there are none, and nothing is looked up).
    private func purges(in r: RegionName) -> [Int32] {
        purgedDeployments.isEmpty && purgedArtifacts.isEmpty ? [] : indices(in: r, [.purge])
    }

    // MARK: - Plan

    func run(source: PlanSource) -> Plan {
        draftAll()
        var ordered = order()
        Self.number(&ordered.actions, depStart: ordered.depStart, depList: ordered.depList)
        return Plan(source: source, observedGenerations: generations(of: ordered.actions), actions: ordered.actions, unserved: Self.ordered(unserved))
    }

    /// Every draft, with its dependencies, before ordering.
    private func draftAll() {
        purge()
        // Scoped: the desired assignment is freed before the ordering needs memory.
        let desired = allocate()
        stageAndDeploy(desired)
        traffic(desired)
        undeployAndPrune(desired)
    }

    /// Every declared region an action touches (or copies from), with the generation the
    /// plan was made against, looked up in `obs` (this loop used to copy a whole region
    /// observation, and build an array, per action).
    private func generations(of actions: [Action]) -> [RegionName: Int] {
        var generations: [RegionName: Int] = [:]
        func note(_ r: RegionName) {
            if generations[r] == nil, let o = obs[r] { generations[r] = o.generation }
        }
        // Read in place (`for a in actions` copied every action). Actions come in runs on one
        // region, stages in runs from one source: the region and the source just noted are
        // passed over without a lookup.
        var lastRegion: RegionName?, lastFrom: RegionName?
        actions.withUnsafeBufferPointer { a in
            for i in a.indices {
                if let r = a[i].region, r != lastRegion {
                    note(r)
                    lastRegion = r
                }
                if let weights = a[i].weights { for r in weights.keys { note(r) } }
                if let from = a[i].from, from != lastFrom {
                    note(from)
                    lastFrom = from
                }
            }
        }
        return generations
    }

    /// The plan of one part of a partition (`PlanPartition`): its actions in order, without
    /// ids, and their dependencies as positions in that order.
    func runPart() -> PartPlan {
        draftAll()
        let ordered = order()
        return PartPlan(actions: ordered.actions, depStart: ordered.depStart, depList: ordered.depList,
                        unserved: unserved, generations: generations(of: ordered.actions), capacityWaitsDropped: ordered.softDropped)
    }

    /// Unserved placements in the order a plan lists them: by placement, then reason.
    static func ordered(_ unserved: [Unserved]) -> [Unserved] {
        unserved.sorted { ($0.placement, $0.reason) < ($1.placement, $1.reason) }
    }

    /// The placements left unserved if each of `regions` went down alone: for each, exactly the
    /// `unserved` of `plan(state, fences:, observed:, options: Options(failedRegions: [r]))`
    /// (a property test holds it to that), without planning the whole fleet once per region.
    ///
    /// A region's failure changes only what reads it: the placements whose topology names it
    /// or whose artifacts could be copied from it, then whatever later claims capacity where
    /// those moved. So the fleet is allocated once with nothing down, and each drill goes through
    /// the placements in the same order, allocating again only a placement that reads the failed
    /// region or a pool that already differs from the first allocation's at that point; every
    /// other placement decides, and takes, what it did the first time. A drill visits only those
    /// candidates (who reads each region, and who has it as a place, is indexed once), not every
    /// placement.
    public static func drillEach(_ state: DesiredState, fences: FenceAnalysis, observed: ObservedState,
                                 regions: [RegionName]) -> [[Unserved]] {
        Planner(state: state, fences: fences, observed: observed, options: Options()).drillEach(regions)
    }

    private func drillEach(_ regions: [RegionName]) -> [[Unserved]] {
        // Purges first, as `run` does: allocation reads which copies a purge takes out. A region
        // that is down drafts no purges, but it is then neither a place nor a copy source for
        // anything, so nothing allocation reads depends on its purges.
        purge()
        let order = allocationOrder()
        var pool = initialPool()
        let placements = state.placementList
        // The first allocation, by position in `order`: each placement's outcome, its
        // accelerator type, its places (topology and failover regions: the pools it reads) with
        // their pools just before and just after it; and, as region positions in flat lists (a
        // drill asks this of every placement, every time), its declared places and every region
        // it reads (its places, and where its artifacts could be copied from). A placement that
        // is not allocated (no model or topology) has no outcome and empty lists.
        // Places and pools by region position, types by number (see `Pool`); a place that is
        // not a declared region (-1) has no pool.
        var first: [Allocation?] = [], typeOf: [Int] = [], placesOf: [ArraySlice<Int32>] = []
        var poolBefore: [[Int]] = [], poolAfter: [[Int]] = []
        var placeStart: [Int32] = [0], placeList: [Int32] = [], readStart: [Int32] = [0], readList: [Int32] = []
        func pools(_ places: ArraySlice<Int32>, _ type: Int, _ pool: Pool) -> [Int] {
            type < 0 ? [] : places.map { $0 >= 0 ? pool[$0, type] : 0 }
        }
        for position in order {
            let m = Int(placementModel[position]), t = Int(placementTopology[position])
            let places = t >= 0 ? topologyPlaces[Int(topologyPlaceStart[t]) ..< Int(topologyPlaceStart[t + 1])] : []
            let type = m >= 0 ? Int(modelType[m]) : -1
            let before = pools(places, type, pool)
            let allocation = allocate(position, pool: &pool)
            if allocation != nil {
                let declared = places.filter { $0 >= 0 }
                placeList += declared
                readList += declared
                for i in modelArtifactList[Int(modelArtifactStart[m]) ..< Int(modelArtifactStart[m + 1])] {
                    readList.append(originOf[Int(i)])
                    readList += holderRegion[Int(holderStart[Int(i)]) ..< Int(holderStart[Int(i) + 1])]
                }
            }
            first.append(allocation)
            typeOf.append(type)
            placesOf.append(places)
            poolBefore.append(before)
            poolAfter.append(pools(places, type, pool))
            placeStart.append(Int32(placeList.count))
            readStart.append(Int32(readList.count))
        }
        // Kept apart from `first`, so that walking the placements copies no outcome.
        let allocated = first.map { $0 != nil }
        let firstUnserved = first.map { $0?.unserved ?? [] }
        let nothingDown = Self.ordered(firstUnserved.flatMap { $0 })
        // Who reads each region and who has it as a place, as positions in `order` (ascending,
        // each once): a drill visits only those, not every placement. `readers` of the failed
        // region are allocated again; a place's `placers` are visited once its pool may differ.
        let regionCount = state.regionList.count
        func inverted(_ start: [Int32], _ list: [Int32]) -> (start: [Int32], list: [Int32]) {
            var count = [Int32](repeating: 0, count: regionCount + 1)
            var last = [Int32](repeating: -1, count: regionCount)
            for i in order.indices where allocated[i] {
                for j in Int(start[i]) ..< Int(start[i + 1]) where list[j] >= 0 && last[Int(list[j])] != Int32(i) {
                    last[Int(list[j])] = Int32(i)
                    count[Int(list[j]) + 1] += 1
                }
            }
            for k in 0 ..< regionCount { count[k + 1] += count[k] }
            var out = [Int32](repeating: 0, count: Int(count[regionCount]))
            var fill = count
            last = [Int32](repeating: -1, count: regionCount)
            for i in order.indices where allocated[i] {
                for j in Int(start[i]) ..< Int(start[i + 1]) where list[j] >= 0 && last[Int(list[j])] != Int32(i) {
                    let k = Int(list[j])
                    last[k] = Int32(i)
                    out[Int(fill[k])] = Int32(i)
                    fill[k] += 1
                }
            }
            return (count, out)
        }
        let readers = inverted(readStart, readList)
        let placers = inverted(placeStart, placeList)
        // Regions (by position) where some pool may differ from the first allocation's, during a drill.
        var changedAt = [Bool](repeating: false, count: regionCount)
        // The pools a placement allocated again sees: its places' are set just before (it reads
        // and takes only its own places' pools, of its own type, so what an earlier one left in
        // others is never read).
        var local = Pool(types: pool.types, free: [Int](repeating: 0, count: pool.free.count))
        var out: [[Unserved]] = []
        out.reserveCapacity(regions.count)
        for r in regions {
            // An undeclared region is down already (never reachable): failing it changes nothing.
            guard let k = state.regions.position(of: r) else {
                out.append(nothingDown)
                continue
            }
            let saved = (regionBits[k], reachableSet, options)
            regionBits[k] &= ~Self.reachableBit
            reachableSet.remove(r)
            options.failedRegions = [r]
            // The pools that differ from the first allocation's at this point in the order, by
            // index in `Pool.free` (region and type), with their value now; every other pool is
            // as it was then.
            var changed: [Int: Int] = [:]
            var flagged: [Int] = []
            // The placements allocated again, by name, and what they now leave unserved; every
            // other placement decides, and takes, what it did the first time.
            var again = Set<PlacementName>()
            var unserved: [Unserved] = []
            // Placements to visit, by position in `order`, smallest first (a position may be
            // queued twice: it is visited once).
            var queue = MinHeap<Int32>()
            for j in Int(readers.start[k]) ..< Int(readers.start[k + 1]) { queue.push(readers.list[j]) }
            var visited: Int32 = -1
            while let next = queue.pop() {
                guard next > visited else { continue }
                visited = next
                let i = Int(next)
                var reads = false
                for j in Int(readStart[i]) ..< Int(readStart[i + 1]) where readList[j] == Int32(k) {
                    reads = true
                    break
                }
                let type = typeOf[i]
                func cell(_ k: Int32) -> Int { Int(k) * pool.types + type }
                if !reads, type >= 0 {
                    for j in Int(placeStart[i]) ..< Int(placeStart[i + 1]) where changedAt[Int(placeList[j])] {
                        if changed[cell(placeList[j])] != nil {
                            reads = true
                            break
                        }
                    }
                }
                guard reads else { continue }
                // Allocated again, from the pools as they are now at its places; then each of
                // them differs from the first allocation's, or no longer does.
                let places = placesOf[i]
                if type >= 0 {
                    for (j, place) in places.enumerated() where place >= 0 { local[place, type] = changed[cell(place)] ?? poolBefore[i][j] }
                }
                again.insert(placements[order[i]].name)
                unserved += allocate(order[i], pool: &local)!.unserved
                if type >= 0 {
                    for (j, place) in places.enumerated() where place >= 0 {
                        let now = local[place, type]
                        if now == poolAfter[i][j] {
                            changed[cell(place)] = nil
                        } else {
                            changed[cell(place)] = now
                            let at = Int(place)
                            if !changedAt[at] {
                                changedAt[at] = true
                                flagged.append(at)
                                // Whoever has it as a place after this one may now allocate differently.
                                for j in Int(placers.start[at]) ..< Int(placers.start[at + 1]) where placers.list[j] > next {
                                    queue.push(placers.list[j])
                                }
                            }
                        }
                    }
                }
            }
            unserved += nothingDown.filter { !again.contains($0.placement) }
            for at in flagged { changedAt[at] = false }
            (regionBits[k], reachableSet, options) = saved
            out.append(Self.ordered(unserved))
        }
        return out
    }

    /// SPEC §2.5: whatever is observed outside its fence is purged first: its placements (traffic
    /// away, undeploy), then the artifacts.
    private func purge() {
        // The declared artifacts held outside their effective fence, per region position, in
        // name order: found from the holders, without hashing a name. (An undeclared artifact
        // has no fence to check here; prune deletes it.)
        var outside = [[Int32]](repeating: [], count: state.regionList.count)
        for i in 0 ..< state.artifacts.count {
            let e = effectiveFences[i]
            for k in Int(holderStart[i]) ..< Int(holderStart[i + 1]) where !isInside(holderRegion[k], e) {
                outside[Int(holderRegion[k])].append(Int32(i))
            }
        }
        for (k, region) in state.regionList.enumerated() where reachable(region.name) {
            let r = region.name
            let o = observation(r)
            let trusted = attested(r)
            let distrust = "\(r) attests jurisdiction \(o.jurisdiction ?? "?") but is declared in \(region.jurisdiction.value): fail closed, it is outside every fence"
            // Find the violations first; only they are sorted (for a deterministic plan).
            var badDeployments: [(String, String)] = []
            for (p, d) in o.deployments {
                if !trusted {
                    badDeployments.append((p, distrust))
                } else if let fence = modelFences[ModelName(d.model)], !isInside(Int32(k), fence) {
                    badDeployments.append((p, "model \(d.model)'s fence \(fences.describe(fence)) excludes \(r) (jurisdiction \(fences.jurisdictionLabel(of: r)))"))
                }
            }
            for (p, reason) in badDeployments.sorted(by: { $0.0 < $1.0 }) {
                purgedDeployments.insert(Pair(region: r, name: p))
                add(DraftKey(.purgePlacement, r, p), Action(kind: .purge, region: r, placement: PlacementName(p),
                    reason: text("purge placement \(p) from \(r) (traffic away, undeploy): \(reason)")))
            }
            var badArtifacts: [(String, ObservedArtifact, String)] = []
            if !trusted {
                for (a, copy) in o.artifacts { badArtifacts.append((a, copy, distrust)) }
            } else {
                for i in outside[k] {
                    let a = state.artifacts.list[Int(i)].meta.name
                    // A holder of the artifact: its copy is in the observation.
                    guard let copy = o.artifacts[a] else { continue }
                    badArtifacts.append((a, copy, "its effective fence \(fences.describe(effectiveFences[Int(i)])) excludes \(r) (jurisdiction \(fences.jurisdictionLabel(of: r)))"))
                }
            }
            for (a, copy, reason) in badArtifacts.sorted(by: { $0.0 < $1.0 }) {
                purgedArtifacts.insert(Pair(region: r, name: a))
                add(DraftKey(.purgeArtifact, r, a), Action(kind: .purge, region: r, artifact: ArtifactName(a),
                    reason: text("purge artifact \(a) (\(copy.digest)) from \(r): \(reason)")),
                    deps: purges(in: r).filter { drafted[Int($0)].placement != nil })
            }
        }
    }

    /// What allocation decided, by placement position in `state.placementList`, with regions as
    /// positions in `state.regionList` (tables by region name, three per placement, hashed a
    /// name on every lookup, and were most of a converged plan's allocation).
    struct Desired {
        /// Each placement's regions in `assigned` (empty: not allocated, or nowhere to run).
        var ranges: [Range<Int32>]
        /// Every allocated placement's regions, one run per placement, each run in region order.
        var assigned: [Assigned] = []
        /// Artifacts each region must hold, as positions in `state.artifacts.list`, by region
        /// position: sorted and unique once `allocate` is done.
        var artifacts: [[Int32]]

        /// The regions of the placement at `position`, in region order.
        func regions(of position: Int) -> ArraySlice<Assigned> {
            let range = ranges[position]
            return assigned[Int(range.lowerBound) ..< Int(range.upperBound)]
        }

        /// The placement at `position` in region `k`, if it was given that region.
        func assignment(of position: Int, in k: Int32) -> Assigned? {
            regions(of: position).first { $0.region == k }
        }
    }

    /// A region given to a placement.
    struct Assigned {
        /// Its position in `state.regionList`.
        let region: Int32
        /// Replicas there (0 for a cold standby or a failover candidate, which are staged only).
        var replicas = 0
        var role = ""
        /// Its traffic share, in exact integer units (see `allocate(_:pool:)`); nil when it
        /// takes none.
        var share: Int?
        /// Its traffic weight of 100, or -1 when it is not among the placement's weights.
        var weight = -1

        init(region: Int32) { self.region = region }
    }

    /// Accelerators free to placements, per region and type: `free` plus what every deployment
    /// Meridian can account for holds (SPEC §3). By region position and type number
    /// (`typeNumber`); types no model asks for are not kept.
    struct Pool {
        let types: Int
        var free: [Int]

        subscript(k: Int32, type: Int) -> Int {
            get { free[Int(k) * types + type] }
            set { free[Int(k) * types + type] = newValue }
        }
    }

    private func initialPool() -> Pool {
        let types = typeNumber.count
        var pool = Pool(types: types, free: [Int](repeating: 0, count: state.regionList.count * types))
        guard types > 0 else { return pool }
        for (k, region) in state.regionList.enumerated() {
            let o = observation(region.name)
            for (type, c) in o.capacity ?? [:] {
                if let t = typeNumber[type] { pool[Int32(k), t] = c.free }
            }
            for (_, d) in o.deployments {
                if let acc = modelAccelerators[ModelName(d.model)], let t = typeNumber[acc.type] { pool[Int32(k), t] += d.replicas * acc.count }
            }
        }
        return pool
    }

    /// Placement positions in the order they claim capacity: by priority, then name (positions
    /// are in name order, so they break ties as names do).
    private func allocationOrder() -> [Int] {
        let placements = state.placementList
        return placements.indices.sorted { a, b in
            placements[a].priority != placements[b].priority ? placements[a].priority > placements[b].priority : a < b
        }
    }

    /// What allocating one placement decided.
    struct Allocation {
        /// The regions it was given, in region order, without weights (`allocate()` sets them).
        var regions: [Assigned] = []
        var unserved: [Unserved] = []
    }

    /// Assigns replicas to regions by priority, with capacity failover inside the fence.
    private func allocate() -> Desired {
        var pool = initialPool()
        let placements = state.placementList
        var desired = Desired(ranges: Array(repeating: 0 ..< 0, count: placements.count), artifacts: Array(repeating: [], count: state.regionList.count))
        for position in allocationOrder() {
            guard var allocation = allocate(position, pool: &pool) else { continue }
            unserved += allocation.unserved
            Self.weigh(&allocation.regions)
            let start = Int32(desired.assigned.count)
            desired.assigned += allocation.regions
            desired.ranges[position] = start ..< Int32(desired.assigned.count)
            let m = Int(placementModel[position])
            let artifacts = modelArtifactList[Int(modelArtifactStart[m]) ..< Int(modelArtifactStart[m + 1])]
            for a in allocation.regions { desired.artifacts[Int(a.region)] += artifacts }
        }
        for k in desired.artifacts.indices where !desired.artifacts[k].isEmpty {
            desired.artifacts[k].sort()
            desired.artifacts[k].removeAdjacentDuplicates()
        }
        return desired
    }

    /// Allocates the placement at `position` from `pool` (taking what it uses); nil when its
    /// model or topology is not declared (it then claims nothing and is not planned).
    private func allocate(_ position: Int, pool: inout Pool) -> Allocation? {
        let m = Int(placementModel[position]), t = Int(placementTopology[position])
        guard m >= 0, t >= 0 else { return nil }
        // Fields read in place: copying a placement, model or topology retained every field.
        let placement = (name: state.placementList[position].name, replicas: state.placementList[position].replicas,
                         minReplicas: state.placementList[position].minReplicas)
        let type = Int(modelType[m]), perReplica = state.models.list[m].accelerator?.count ?? 0
        let topology = (mode: state.topologies.list[t].mode, regions: state.topologies.list[t].regions,
                        standby: state.topologies.list[t].standby, failover: state.topologies.list[t].failover)
        // The topology's places: its regions (`0 ..< regionCount`), then its failover regions, as
        // region positions (-1: not declared), each with its name as the topology writes it.
        let base = Int(topologyPlaceStart[t]), regionCount = topology.regions.count
        let placeCount = Int(topologyPlaceStart[t + 1]) - base
        func place(_ j: Int) -> Int32 { topologyPlaces[base + j] }
        func name(_ j: Int) -> RegionName { j < regionCount ? topology.regions[j].name.value : topology.failover[j - regionCount].value }
        var out = Allocation()
        let fence = modelFenceAt[m]
        let artifacts = modelArtifactList[Int(modelArtifactStart[m]) ..< Int(modelArtifactStart[m + 1])]
        // Whether a region can serve this placement does not change while it is allocated (it
        // reads health, fences and copies, never the pool): asked up to five times per region,
        // so remembered, by position, under this allocation's stamp.
        allocationStamp += 1
        let stamp = allocationStamp
        var stamps: [Int] = [], answers: [Bool] = []
        swap(&stamps, &usableStamp)
        swap(&answers, &usableAnswer)
        defer {
            swap(&stamps, &usableStamp)
            swap(&answers, &usableAnswer)
        }
        func ok(_ k: Int32) -> Bool {
            // An undeclared region is never reachable, so never eligible.
            guard k >= 0 else { return false }
            if stamps[Int(k)] == stamp { return answers[Int(k)] }
            let answer = eligible(k, fence) && artifacts.allSatisfy { stageSource(Int($0), into: k).possible }
            stamps[Int(k)] = stamp
            answers[Int(k)] = answer
            return answer
        }
        // Only a region that can serve (`ok`, so declared) is fitted or taken from.
        func fit(_ k: Int32, _ wanted: Int) -> Int {
            guard type >= 0 else { return wanted }
            return max(0, min(wanted, pool[k, type] / perReplica))
        }
        func take(_ k: Int32, _ n: Int) {
            if type >= 0 && n != 0 { pool[k, type] -= n * perReplica }
        }
        // The regions given so far, in the order they were given: a handful, so a scan.
        var given: [Assigned] = []
        func at(_ k: Int32) -> Int {
            if let i = given.firstIndex(where: { $0.region == k }) { return i }
            given.append(Assigned(region: k))
            return given.count - 1
        }

        // The active slots, as places, and their traffic shares. Traffic shares are in exact
        // integer units: slot weight × replicas placed (the common denominator, the placement's
        // replicas, drops out). Floating point would make the result depend on summation order.
        var slots: [(place: Int, weight: Int)] = []
        var promoted: String?
        switch topology.mode {
        case .activeActive:
            slots = topology.regions.indices.map { ($0, topology.regions[$0].weight?.value ?? 0) }
        case .singleRegion:
            slots = [(0, 100)]
        case .activePassive:
            // The primary, or the first healthy in-fence standby promoted in its place.
            let active = (0 ..< regionCount).first { ok(place($0)) } ?? 0
            slots = [(active, 100)]
            if active != 0 { promoted = "standby promoted because primary \(why(name(0), fence, artifacts: artifacts))" }
        }
        // Whether a place is one of the slots' regions (an undeclared one is never used).
        func isSlot(_ k: Int32) -> Bool { slots.contains { place($0.place) == k } }
        for (j, s) in slots {
            let r = place(j)
            let here = ok(r) ? fit(r, placement.replicas) : 0
            take(r, here)
            if here > 0 {
                let i = at(r)
                given[i].replicas += here
                given[i].share = (given[i].share ?? 0) + s * here
                given[i].role = promoted ?? (topology.mode == .singleRegion ? "the region" : "active region")
            }
            var short = placement.replicas - here
            for jf in regionCount ..< placeCount where short > 0 && !isSlot(place(jf)) && ok(place(jf)) {
                let f = place(jf)
                let k = fit(f, short)
                guard k > 0 else { continue }
                take(f, k)
                let i = at(f)
                given[i].replicas += k
                given[i].share = (given[i].share ?? 0) + s * k
                given[i].role = "failover for \(name(j)) (\(why(name(j), fence, artifacts: artifacts)))"
                short -= k
            }
            if short > 0 {
                let candidates = topology.failover.map(\.value.rawValue)
                out.unserved.append(Unserved(placement: placement.name,
                    reason: "\(short) of \(placement.replicas) replicas for \(name(j)) cannot be placed: \(why(name(j), fence, artifacts: artifacts)), and no in-fence failover has room (candidates: \(candidates.isEmpty ? "none" : candidates.joined(separator: ", "))); they stay unserved rather than cross the fence"))
            }
        }
        if topology.mode == .activePassive {
            for j in 0 ..< regionCount where !isSlot(place(j)) && ok(place(j)) {
                let s = place(j)
                var k = 0
                if topology.standby == .warm {
                    k = fit(s, placement.minReplicas)
                    take(s, k)
                }
                let i = at(s)
                given[i].replicas += k
                given[i].role = topology.standby == .warm && k < placement.minReplicas
                    ? "warm standby (room for \(k) of \(placement.minReplicas) minReplicas)" : "\(topology.standby.rawValue) standby"
            }
        }
        // Failover candidates hold the artifacts ahead of time: when a region fails, the bytes
        // may exist nowhere else, and a failover that must first copy from the failed region
        // is no failover.
        for jf in regionCount ..< placeCount where ok(place(jf)) && !given.contains(where: { $0.region == place(jf) }) {
            let i = at(place(jf))
            given[i].role = "failover candidate"
        }
        // Positions order as names do.
        given.sort { $0.region < $1.region }
        out.regions = given
        return out
    }

    /// Sets the traffic weights of a placement's regions (in region order): those with replicas
    /// and a share, by `weights(shares:)`.
    private static func weigh(_ regions: inout [Assigned]) {
        let sharing = regions.indices.filter { regions[$0].replicas > 0 && regions[$0].share != nil }
        let weights = weights(shares: sharing.map { regions[$0].share! })
        for (i, w) in zip(sharing, weights) { regions[i].weight = w }
    }

    /// Integer weights summing to 100 in proportion to integer shares, by largest remainder
    /// (ties by region name). Exact: no floating point.
    public static func weights(_ shares: [RegionName: Int]) -> [RegionName: Int] {
        let names = shares.keys.sorted()
        return Dictionary(uniqueKeysWithValues: zip(names, weights(shares: names.map { shares[$0]! })))
    }

    /// `weights(_:)` of shares given in region name order, in the same order; empty when they
    /// sum to nothing.
    static func weights(shares: [Int]) -> [Int] {
        let total = shares.reduce(0, +)
        guard total > 0 else { return [] }
        var out = shares.map { $0 * 100 / total }
        var rest = 100 - out.reduce(0, +)
        // Largest remainder first; on a tie, the region first in name order.
        let order = shares.indices.sorted { a, b in
            let x = shares[a] * 100 % total, y = shares[b] * 100 % total
            return x != y ? x > y : a < b
        }
        for i in order where rest > 0 {
            out[i] += 1
            rest -= 1
        }
        return out
    }

    private func stageAndDeploy(_ desired: Desired) {
        let placementList = state.placementList
        // Staging: every artifact a serving or standby region needs, from an in-fence source.
        // Only the missing copies are sorted: origins first (so that a registration an origin
        // needs for itself says so), then by region and name. In a scope of its own, so that
        // the missing copies and their users are freed before the deploys are drafted.
        do {
            // The artifact as its position in `state.artifactList`, which is in name order, so
            // positions order as the names do.
            // Regions as their positions too (in name order, so they order as names do).
            var missing: [(origin: Bool, region: Int32, artifact: Int32)] = []
            for (k, positions) in desired.artifacts.enumerated() {
                let r = Int32(k)
                for i in positions where !hasCopy(r, Int(i)) {
                    missing.append((originOf[Int(i)] == r, r, i))
                }
            }
            missing.sort { a, b in
                (a.origin ? 0 : 1, a.region, a.artifact) < (b.origin ? 0 : 1, b.region, b.artifact)
            }
            // Who needs each missing copy, for the reasons: "role of placement", in placement
            // order. Found one region at a time (the copies are in region order, origins first),
            // from the placements with replicas in each region, as positions in `placementList`
            // (which is in name order: the same order as sorting the names, without the sort).
            var placementsIn = [[Int32]](repeating: [], count: missing.isEmpty ? 0 : state.regionList.count)
            if !missing.isEmpty {
                for k in placementList.indices {
                    for a in desired.regions(of: k) { placementsIn[Int(a.region)].append(Int32(k)) }
                }
            }
            // The users in one region, as (artifact position << 32 | placement position), sorted:
            // an artifact's users are a run in placement order, found by binary search (a table
            // by name, made again for every region, hashed every name it held and looked up).
            var usersRegion: Int32 = -1
            var users: [UInt64] = []
            for (_, ri, i) in missing {
                let r = regionName(ri)
                if usersRegion != ri {
                    users.removeAll(keepingCapacity: true)
                    for k in placementsIn[Int(ri)] {
                        let m = Int(placementModel[Int(k)])
                        guard m >= 0 else { continue }
                        for j in Int(modelArtifactStart[m]) ..< Int(modelArtifactStart[m + 1]) {
                            users.append(UInt64(UInt32(bitPattern: modelArtifactList[j])) << 32 | UInt64(UInt32(bitPattern: k)))
                        }
                    }
                    users.sort()
                    usersRegion = ri
                }
                do {
                    let a = fact(Int(i))
                    let name = a.name
                    // The region reports a copy of the artifact only if it is among its holders:
                    // only then is its digest looked up.
                    let holds = holderRegion[Int(holderStart[Int(i)]) ..< Int(holderStart[Int(i) + 1])].contains(ri)
                    let staleDigest = holds ? copies[r]?[name.rawValue]?.digest : nil
                    let found = stageSource(Int(i), into: ri)
                    let src = (from: found.from.map(regionName), viaOrigin: found.viaOrigin)
                    var deps: [Int32] = []
                    if src.viaOrigin {
                        let origin = a.origin
                        let key = DraftKey(.stage, origin, name.rawValue)
                        if let registered = draft(key) {
                            // Registered for an earlier region (and waiting for the purges at
                            // its origin since): not drafted again, so no reason is written only
                            // to be thrown away.
                            deps.append(registered)
                        } else {
                            let reason = text { w in
                                w.write("register "); w.write(name.rawValue); w.write(" at its origin "); w.write(origin.rawValue)
                                w.write(": the source for "); w.write(r.rawValue)
                            }
                            deps.append(add(key, Action(kind: .stageArtifact, region: origin, artifact: name, from: nil, reason: reason)))
                        }
                    }
                    // "register NAME at its origin R: WHO needs it" or "stage NAME into R from
                    // SOURCE: WHO needs it", with " (the copy there has digest D)" before the
                    // colon when R holds another digest, and WHO "ROLE of PLACEMENT, …".
                    let reason = text { w in
                        if let from = src.from {
                            w.write("stage "); w.write(name.rawValue); w.write(" into "); w.write(r.rawValue)
                            w.write(" from "); w.write(from.rawValue)
                        } else {
                            w.write("register "); w.write(name.rawValue); w.write(" at its origin "); w.write(r.rawValue)
                        }
                        if let staleDigest {
                            w.write(" (the copy there has digest "); w.write(staleDigest); w.write(")")
                        }
                        w.write(": ")
                        let key = UInt64(UInt32(bitPattern: i)) << 32
                        var u = Self.lowerBound(users, key)
                        while u < users.count && users[u] >> 32 == key >> 32 {
                            let k = Int(users[u] & 0xFFFF_FFFF)
                            if u > 0 && users[u - 1] >> 32 == key >> 32 { w.write(", ") }
                            w.write(desired.assignment(of: k, in: ri)?.role ?? "region"); w.write(" of "); w.write(placementList[k].name.rawValue)
                            u += 1
                        }
                        w.write(" needs it")
                    }
                    add(DraftKey(.stage, r, name.rawValue), Action(kind: .stageArtifact, region: r, artifact: name, from: src.from, reason: reason), deps: deps)
                }
            }
        }
        // Deploys: create, scale or update; a version change rolls out region by region.
        for (position, placement) in state.placementList.enumerated() {
            // No regions: a placement that was not allocated (or has nowhere to run). Its
            // regions are in region order, so in name order.
            let regions = desired.regions(of: position)
            guard let model = state.models[placement.model.value], !regions.isEmpty else { continue }
            var previousRollout: Int32?
            for given in regions where given.replicas > 0 {
                let r = regionName(given.region), n = given.replicas, role = given.role
                let current = purged(placement.name.rawValue, from: r, purgedDeployments) ? nil : deployments[r]?[placement.name.rawValue]
                var reason: ReasonText
                var rollout = false
                if let c = current {
                    if c.model == model.name.rawValue && c.version == model.version.value && c.replicas == n { continue }
                    if c.model != model.name.rawValue || c.version != model.version.value {
                        reason = text("roll \(placement.name) in \(r) from \(c.model) \(c.version) to \(model.name) \(model.version.value) (\(n) replicas, \(role))")
                        rollout = true
                    } else {
                        reason = text("scale \(placement.name) in \(r) from \(c.replicas) to \(n) replicas (\(role))")
                    }
                } else {
                    // "deploy MODEL VERSION for PLACEMENT in R: N replica(s) as ROLE"
                    reason = text { w in
                        w.write("deploy "); w.write(model.name.rawValue); w.write(" "); w.write(model.version.value)
                        w.write(" for "); w.write(placement.name.rawValue); w.write(" in "); w.write(r.rawValue); w.write(": ")
                        w.write(n); w.write(n == 1 ? " replica as " : " replicas as "); w.write(role)
                    }
                }
                var deps: [Int32] = []
                if rollout, let prev = previousRollout { deps.append(prev) }
                let key = add(DraftKey(.deploy, r, placement.name.rawValue), Action(kind: .deploy, region: r, placement: placement.name, model: model.name,
                    version: model.version.value, replicas: n, reason: reason), deps: deps,
                    ifDrafted: model.artifacts.map { DraftKey(.stage, r, $0.value.rawValue) })
                if rollout { previousRollout = key }
            }
        }
    }

    /// The first position in the sorted `values` whose value is not less than `value`.
    private static func lowerBound(_ values: [UInt64], _ value: UInt64) -> Int {
        var low = 0, high = values.count
        while low < high {
            let mid = (low + high) / 2
            if values[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func observedTraffic(_ p: String) -> [RegionName: Int] {
        let all = trafficOf[p] ?? [:]
        return purgedDeployments.isEmpty ? all : all.filter { !purgedDeployments.contains(Pair(region: $0.key, name: p)) }
    }

    private func traffic(_ desired: Desired) {
        for (position, placement) in state.placementList.enumerated() {
            let p = placement.name
            // The weights wanted, in region order (so in name order); the positive ones against
            // the observed weights (all positive), before any table is made.
            let want = desired.regions(of: position).filter { $0.weight >= 0 }
            let have = observedTraffic(p.rawValue)
            let wantPositive = want.filter { $0.weight > 0 }
            guard wantPositive.count != have.count || wantPositive.contains(where: { have[regionName($0.region)] != $0.weight }) else { continue }
            var weights: [RegionName: Int] = [:]
            for a in want { weights[regionName(a.region)] = a.weight }
            for r in have.keys where weights[r] == nil { weights[r] = 0 }
            // A kill switch acts now: traffic leaves an isolated region before anything waits on deploys.
            // That action names only the isolated regions (a set-traffic sets the weights it names and
            // no others): the regions still serving keep their weights until the steer below, which
            // waits for their deploys. Steering more onto them here would move traffic onto a region
            // whose deploy (a roll, say) is not done (SPEC §4).
            let isolatedNow = have.keys.filter { isolated($0) }
            if !isolatedNow.isEmpty {
                let early = Dictionary(uniqueKeysWithValues: isolatedNow.map { ($0, 0) })
                add(DraftKey(.trafficIsolate, nil, p.rawValue), Action(kind: .setTraffic, placement: p, weights: early,
                    reason: text("take \(p)'s traffic off isolated \(isolatedNow.sorted().map(\.rawValue).joined(separator: ", ")) at once")))
            }
            let deps = wantPositive.map { DraftKey(.deploy, regionName($0.region), p.rawValue) }
                + (isolatedNow.isEmpty ? [] : [DraftKey(.trafficIsolate, nil, p.rawValue)])
            let described = weights.keys.sorted().map { "\($0) \(weights[$0]!)" }.joined(separator: ", ")
            add(DraftKey(.traffic, nil, p.rawValue), Action(kind: .setTraffic, placement: p, weights: weights,
                reason: text(wantPositive.isEmpty ? "take all of \(p)'s traffic away (nothing can serve it)" : "steer \(p)'s traffic: \(described)")),
                ifDrafted: deps)
        }
        // An isolated region loses the traffic of a placement no manifest declares as well, at
        // once (nothing there is undeployed; elsewhere an orphan's traffic goes before its undeploy).
        var isolatedRegions: [RegionName] = []
        for (k, r) in state.regionList.enumerated() where regionBits[k] & Self.isolatedBit != 0 && reachable(r.name) { isolatedRegions.append(r.name) }
        guard !isolatedRegions.isEmpty else { return }
        var orphans = Set<String>()
        for r in isolatedRegions {
            for (p, w) in observation(r).traffic where w > 0 && state.placements[PlacementName(p)] == nil { orphans.insert(p) }
        }
        for p in orphans.sorted() {
            let off = observedTraffic(p).keys.filter { isolated($0) }
            guard !off.isEmpty else { continue }
            add(DraftKey(.trafficIsolate, nil, p), Action(kind: .setTraffic, placement: PlacementName(p), weights: Dictionary(uniqueKeysWithValues: off.map { ($0, 0) }),
                reason: text("take \(p)'s traffic off isolated \(off.sorted().map(\.rawValue).joined(separator: ", ")) at once: no manifest declares it")))
        }
    }

    private func undeployAndPrune(_ desired: Desired) {
        for (k, region) in state.regionList.enumerated() where reachable(region.name) && !isolated(region.name) && attested(region.name) {
            let r = region.name
            let o = observation(r)
            // What goes is found first; only it is sorted.
            let leaving = o.deployments.keys.filter { p in
                !purged(p, from: r, purgedDeployments) && (state.placements.position(of: PlacementName(p)).flatMap { desired.assignment(of: $0, in: Int32(k))?.replicas } ?? 0) == 0
            }
            for p in leaving.sorted() {
                let name = PlacementName(p)
                if state.placements[name] == nil, (o.traffic[p] ?? 0) > 0 {
                    // An orphan still taking traffic: steer it away first.
                    let zero = observedTraffic(p).mapValues { _ in 0 }
                    add(DraftKey(.traffic, nil, p), Action(kind: .setTraffic, placement: name, weights: zero,
                        reason: text("take \(p)'s traffic away: no manifest declares it")))
                }
                let why = state.placements[name] == nil ? "no manifest declares placement \(p)" : "\(p) no longer runs in \(r)"
                // An orphan's traffic action may come with a later region's undeploy: looked up last.
                add(DraftKey(.undeploy, r, p), Action(kind: .undeploy, region: r, placement: name, reason: text("undeploy \(p) from \(r): \(why)")),
                    keyed: [DraftKey(.traffic, nil, p), DraftKey(.trafficIsolate, nil, p)])
            }
            let needed = desired.artifacts[k]
            let unneeded = o.artifacts.keys.filter { a in
                guard let i = state.artifacts.position(of: ArtifactName(a)) else { return !purged(a, from: r, purgedArtifacts) }
                // The origin copy stays.
                return !needed.sortedContains(Int32(i)) && originOf[i] != Int32(k) && !purged(a, from: r, purgedArtifacts)
            }
            for a in unneeded.sorted() {
                let name = ArtifactName(a)
                // After whatever used it here, and after every copy taken from it.
                let users = indices(in: r, [.undeploy, .deploy]) + stages(copying: a, from: r)
                add(DraftKey(.delete, r, a), Action(kind: .deleteArtifact, region: r, artifact: name,
                    reason: text(!state.artifacts.contains(name) ? "delete \(a) from \(r): no manifest declares it" : "delete \(a) from \(r): no placement there needs it")),
                    deps: users)
            }
        }
        // Capacity: a deploy that grows in a region waits for what other placements release there.
        // What releases capacity in a region is found once per region (it does not depend on the
        // deploy that waits), in draft order.
        var releasesIn: [RegionName: [Int32]] = [:]
        func releases(in r: RegionName) -> [Int32] {
            if let found = releasesIn[r] { return found }
            var found: [Int32] = []
            for j in indices(in: r, [.undeploy, .purge, .deploy]) {
                guard let q = drafted[Int(j)].placement else { continue }
                let shrinks: Bool
                switch drafted[Int(j)].kind {
                case .undeploy, .purge: shrinks = true
                case .deploy: shrinks = (drafted[Int(j)].replicas ?? 0) < (deployments[r]?[q.rawValue]?.replicas ?? 0)
                default: shrinks = false
                }
                if shrinks { found.append(j) }
            }
            releasesIn[r] = found
            return found
        }
        for i in drafted.indices where drafted[i].kind == .deploy {
            guard let r = drafted[i].region, let p = drafted[i].placement, let acc = drafted[i].model.flatMap({ modelAccelerators[$0] }) else { continue }
            let held = deployments[r]?[p.rawValue].flatMap { c in
                modelAccelerators[ModelName(c.model)].map { $0.type == acc.type ? c.replicas * $0.count : 0 }
            } ?? 0
            guard (drafted[i].replicas ?? 0) * acc.count > held else { continue }
            for j in releases(in: r) where drafted[Int(j)].placement != p { softEdges.append(Self.edge(Int32(i), on: j)) }
        }
    }

    /// Topological order with a deterministic tie-break (phase, region, subject); ids a1, a2…
    /// If the capacity waits close a cycle, the plan is ordered without any of them: a deploy
    /// that then finds no room fails and is retried on the next reconcile.
    private func order() -> Ordered {
        // Every draft is in: the keys not found when their draft was added are looked up now,
        // and the tables that only served lookups go before the ordering needs memory.
        for (i, key) in pendingEdges {
            if let j = draft(key) { edges.append(Self.edge(i, on: j)) }
        }
        pendingEdges = []
        keys = DraftTable()
        byRegion = [:]
        copiesFrom = nil
        if let sorted = topological(withSoft: true) { return sorted }
        if var sorted = topological(withSoft: false) {
            sorted.softDropped = true
            return sorted
        }
        return Ordered(actions: [], depStart: [0], depList: [], softDropped: true)
    }

    /// Actions in plan order, without ids; each one's dependencies as positions in that order,
    /// ascending (`depList[depStart[k] ..< depStart[k + 1]]`).
    struct Ordered {
        var actions: [Action]
        var depStart: [Int32]
        var depList: [Int32]
        /// The capacity waits closed a cycle, so the order has none of them.
        var softDropped = false
    }

    /// Gives actions in plan order their ids ("a" + their position, from 1) and their
    /// dependencies by id, in place.
    static func number(_ actions: inout [Action], depStart: [Int32], depList: [Int32]) {
        for k in actions.indices {
            actions[k].id = actionID(k + 1)
            actions[k].dependsOn = depList[Int(depStart[k]) ..< Int(depStart[k + 1])].map { actionID(Int($0) + 1) }
        }
    }

    /// `"a\(n)"`, the id of the plan's `n`th action (SPEC §4), written digit by digit into a
    /// small string (an id never allocates) instead of through interpolation's growing buffer:
    /// a large plan numbers its actions and every dependency. (Not timed on its own.)
    @inline(__always)
    public static func actionID(_ n: Int) -> String {
        precondition(n > 0)
        // "a" and at most 19 digits: 20 bytes, filled from the end.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var i = 20
            var v = n
            repeat {
                i -= 1
                buffer[i] = UInt8(truncatingIfNeeded: 48 + v % 10)
                v /= 10
            } while v > 0
            i -= 1
            buffer[i] = UInt8(ascii: "a")
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[i ..< 20]), as: UTF8.self)
        }
    }

    private func topological(withSoft: Bool) -> Ordered? {
        let n = drafted.count
        // Sorted edges give each draft's dependencies sorted and unique, the same as a set's
        // sorted elements, without hashing; both directions are kept as offsets into one array.
        var all = edges
        if withSoft { all += softEdges }
        all.sort()
        var depStart = [Int32](repeating: 0, count: n + 1)
        var depList: [Int32] = []
        depList.reserveCapacity(all.count)
        var dependentStart = [Int32](repeating: 0, count: n + 1)
        var previous = UInt64.max
        for e in all where e != previous {
            previous = e
            let i = Int(e >> 32), j = Int32(truncatingIfNeeded: e)
            guard Int(j) != i else { continue }
            depList.append(j)
            depStart[i + 1] += 1
            dependentStart[Int(j) + 1] += 1
        }
        all = []
        for i in 0 ..< n {
            depStart[i + 1] += depStart[i]
            dependentStart[i + 1] += dependentStart[i]
        }
        var dependentList = [Int32](repeating: 0, count: depList.count)
        do {
            var fill = dependentStart
            for i in 0 ..< n {
                for j in depList[Int(depStart[i]) ..< Int(depStart[i + 1])] {
                    dependentList[Int(fill[Int(j)])] = Int32(i)
                    fill[Int(j)] += 1
                }
            }
        }
        func sortKey(_ i: Int) -> (Int, String, String, UInt8) {
            let a = drafted[i]
            return (a.kind.rank, a.region?.rawValue ?? "", a.placement?.rawValue ?? a.artifact?.rawValue ?? "", variants[i].rawValue)
        }
        var remaining = (0 ..< n).map { depStart[$0 + 1] - depStart[$0] }
        // The tie-break as a rank: keys are unique, and (kind, region, name, variant) names a
        // key, so the order of the tuples is total and one sort decides every comparison the
        // heap will make.
        var rank = [Int32](repeating: 0, count: n)
        // The draft at each rank: the heap holds ranks, the smallest first.
        var byRank = [Int32](repeating: 0, count: n)
        do {
            let keysOf = (0 ..< n).map(sortKey)
            for (k, i) in (0 ..< n).sorted(by: { keysOf[$0] < keysOf[$1] }).enumerated() {
                rank[i] = Int32(k)
                byRank[k] = Int32(i)
            }
        }
        var ready = MinHeap<Int32>()
        for i in 0 ..< n where remaining[i] == 0 { ready.push(rank[i]) }
        var out: [Int32] = []
        out.reserveCapacity(n)
        while let k = ready.pop() {
            let i = byRank[Int(k)]
            out.append(i)
            for j in dependentList[Int(dependentStart[Int(i)]) ..< Int(dependentStart[Int(i) + 1])] {
                remaining[Int(j)] -= 1
                if remaining[Int(j)] == 0 { ready.push(rank[Int(j)]) }
            }
        }
        guard out.count == n else { return nil }
        dependentList = []
        // Each draft's position in plan order; its dependencies are listed in position order.
        var position = [Int32](repeating: 0, count: n)
        for (k, i) in out.enumerated() { position[Int(i)] = Int32(k) }
        var orderedStart = [Int32](repeating: 0, count: n + 1)
        var orderedList: [Int32] = []
        orderedList.reserveCapacity(depList.count)
        for k in 0 ..< n {
            let i = Int(out[k])
            orderedList += depList[Int(depStart[i]) ..< Int(depStart[i + 1])].map { position[Int($0)] }.sorted()
            orderedStart[k + 1] = Int32(orderedList.count)
        }
        depList = []
        // The actions leave their chunks (each freed once copied), then move into plan order in place.
        var actions = drafted.takeAll()
        actions.permute(taking: out)
        return Ordered(actions: actions, depStart: orderedStart, depList: orderedList)
    }
}

/// An open-addressing table of draft indices by their keys' hashes: 8 bytes a slot (the index
/// and 32 bits of the hash), where a dictionary from keys (two strings and a tag) cost 48, 6 MB
/// in a large plan. Callers compare a candidate with the key through the draft itself, only
/// when the stored hash bits agree.
struct DraftTable {
    /// `hash bits << 32 | index + 1`; 0 is empty.
    private var slots = [UInt64](repeating: 0, count: 16)
    private var count = 0

    func find(hash: Int, matches: (Int32) -> Bool) -> Int32? {
        let mask = slots.count - 1
        let bits = UInt64(UInt32(truncatingIfNeeded: hash))
        var s = hash & mask
        while true {
            let slot = slots[s]
            if slot == 0 { return nil }
            let i = Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
            if slot >> 32 == bits && matches(i) { return i }
            s = (s + 1) & mask
        }
    }

    /// Adds a draft that is not in the table.
    mutating func insert(_ i: Int32, hash: Int) {
        if (count + 1) * 2 > slots.count {
            // Positions come from the stored 32 bits of each hash, so a table grows without
            // hashing a key again (tables here stay far below 2^32 slots).
            let old = slots
            slots = [UInt64](repeating: 0, count: old.count * 2)
            for slot in old where slot != 0 { place(slot, at: Int(slot >> 32)) }
        }
        place(UInt64(UInt32(truncatingIfNeeded: hash)) << 32 | UInt64(UInt32(i) + 1), at: Int(UInt32(truncatingIfNeeded: hash)))
        count += 1
    }

    private mutating func place(_ slot: UInt64, at position: Int) {
        let mask = slots.count - 1
        var s = position & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = slot
    }
}

/// An append-only array kept in fixed-size chunks: appending never copies what is stored.
struct ChunkedArray<Element> {
    private static var shift: Int { 12 }
    private static var mask: Int { (1 << shift) - 1 }
    private var chunks: [[Element]] = []
    private(set) var count = 0

    var indices: Range<Int> { 0 ..< count }

    mutating func append(_ e: Element) {
        if count & Self.mask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(1 << Self.shift)
            chunks.append(chunk)
        }
        chunks[count >> Self.shift].append(e)
        count += 1
    }

    /// Everything, in one array; the chunks are freed one by one as they are copied.
    mutating func takeAll() -> [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        for c in chunks.indices {
            all.append(contentsOf: chunks[c])
            chunks[c] = []
        }
        chunks = []
        count = 0
        return all
    }

    subscript(i: Int) -> Element {
        // Read in place: asking one field of an action does not copy (and retain) all of it.
        _read {
            precondition(i >= 0 && i < count, "ChunkedArray index out of range")
            yield chunks[i >> Self.shift][i & Self.mask]
        }
        _modify {
            precondition(i >= 0 && i < count, "ChunkedArray index out of range")
            yield &chunks[i >> Self.shift][i & Self.mask]
        }
    }
}

/// A binary min-heap under a strict ordering.
/// A binary min-heap of comparable elements (the planner keeps ranks in it: comparing two is
/// one integer comparison, with no closure and no captured table to check access to).
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    private func less(_ a: Element, _ b: Element) -> Bool { a < b }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        heapSiftDown(&items, from: 0, by: <)
        return top
    }
}

extension Array where Element: Comparable {
    /// Drops each element equal to the one before it: on a sorted array, keeps one of each.
    mutating func removeAdjacentDuplicates() {
        guard count > 1 else { return }
        var kept = 1
        for i in 1 ..< count where self[i] != self[kept - 1] {
            self[kept] = self[i]
            kept += 1
        }
        removeLast(count - kept)
    }

    /// Whether a sorted array holds `e` (binary search).
    func sortedContains(_ e: Element) -> Bool {
        var low = 0, high = count
        while low < high {
            let mid = (low + high) / 2
            if self[mid] < e { low = mid + 1 } else { high = mid }
        }
        return low < count && self[low] == e
    }
}

/// Restores a binary min-heap's order under `less` from `start` down (`MinHeap`, and the merge of
/// plan parts, whose heap holds parts ordered by tables beside it). Inlined, so that `less` is too.
@inline(__always)
func heapSiftDown<T>(_ items: inout [T], from start: Int, by less: (T, T) -> Bool) {
    var i = start
    while true {
        let l = 2 * i + 1, r = l + 1
        var m = i
        if l < items.count && less(items[l], items[m]) { m = l }
        if r < items.count && less(items[r], items[m]) { m = r }
        if m == i { return }
        items.swapAt(i, m)
        i = m
    }
}
