/// The whole desired state of one revision: every object, indexed by its typed name.
/// Built only from a revision that decoded without errors; `DesiredState.build` then checks
/// names, references and the structural rules and reports every problem it finds.
public struct DesiredState: Sendable {
    /// Every kind's objects, each stored once, in name order (`…List`), with an index by name:
    /// iteration that feeds output, checks or plans never depends on hashing, nothing downstream
    /// sorts again, and a fleet's objects are not held twice (a table of names to whole objects
    /// beside the sorted list was a fifth of a 100,000-object load's memory).
    public let jurisdictions: ObjectTable<JurisdictionSpace, Jurisdiction>
    public let regions: ObjectTable<RegionSpace, Region>
    public let artifacts: ObjectTable<ArtifactSpace, Artifact>
    public let fences: ObjectTable<FenceSpace, ResidencyFence>
    public let models: ObjectTable<ModelSpace, Model>
    public let topologies: ObjectTable<TopologySpace, Topology>
    public let placements: ObjectTable<PlacementSpace, Placement>
    public let guardrails: ObjectTable<GuardrailSpace, Guardrail>

    public var jurisdictionList: [Jurisdiction] { jurisdictions.list }
    public var regionList: [Region] { regions.list }
    public var artifactList: [Artifact] { artifacts.list }
    public var fenceList: [ResidencyFence] { fences.list }
    public var modelList: [Model] { models.list }
    public var topologyList: [Topology] { topologies.list }
    public var placementList: [Placement] { placements.list }
    public var guardrailList: [Guardrail] { guardrails.list }

    public init(
        jurisdictions: [JurisdictionName: Jurisdiction] = [:], regions: [RegionName: Region] = [:],
        artifacts: [ArtifactName: Artifact] = [:], fences: [FenceName: ResidencyFence] = [:],
        models: [ModelName: Model] = [:], topologies: [TopologyName: Topology] = [:],
        placements: [PlacementName: Placement] = [:], guardrails: [GuardrailName: Guardrail] = [:]
    ) {
        self.init(jurisdictions: ObjectTable(jurisdictions), regions: ObjectTable(regions), artifacts: ObjectTable(artifacts),
                  fences: ObjectTable(fences), models: ObjectTable(models), topologies: ObjectTable(topologies),
                  placements: ObjectTable(placements), guardrails: ObjectTable(guardrails))
    }

    init(jurisdictions: ObjectTable<JurisdictionSpace, Jurisdiction>, regions: ObjectTable<RegionSpace, Region>,
         artifacts: ObjectTable<ArtifactSpace, Artifact>, fences: ObjectTable<FenceSpace, ResidencyFence>,
         models: ObjectTable<ModelSpace, Model>, topologies: ObjectTable<TopologySpace, Topology>,
         placements: ObjectTable<PlacementSpace, Placement>, guardrails: ObjectTable<GuardrailSpace, Guardrail>) {
        self.jurisdictions = jurisdictions
        self.regions = regions
        self.artifacts = artifacts
        self.fences = fences
        self.models = models
        self.topologies = topologies
        self.placements = placements
        self.guardrails = guardrails
    }

    public var objectCount: Int {
        jurisdictions.count + regions.count + artifacts.count + fences.count + models.count
            + topologies.count + placements.count + guardrails.count
    }

    public var isEmpty: Bool { objectCount == 0 }

    /// Counts per kind, in the order kinds are listed in the spec.
    public var counts: [(Kind, Int)] {
        [
            (.jurisdiction, jurisdictions.count), (.region, regions.count), (.artifact, artifacts.count),
            (.residencyFence, fences.count), (.model, models.count), (.topology, topologies.count),
            (.placement, placements.count), (.guardrail, guardrails.count),
        ]
    }

    /// Indexes the objects by name and runs every desired-state check. A name declared twice is
    /// reported at both places; the first declaration (in path order) is kept so that the
    /// remaining checks still run and the user sees everything in one pass.
    public static func build(_ objects: [ManifestObject]) -> (DesiredState, [Diagnostic]) {
        let (state, duplicates) = index(objects)
        return (state, duplicates + state.structuralDiagnostics())
    }

    /// The reference and structural checks of `build`, on their own: every group of
    /// `StructuralChecks`, each on its input tables, in group order.
    public func structuralDiagnostics() -> [Diagnostic] { StructuralChecks(self).diagnostics }

    /// Indexes the objects by name and reports names declared twice; `build` without the
    /// structural checks.
    public static func index(_ objects: [ManifestObject]) -> (DesiredState, [Diagnostic]) {
        index(files: [objects])
    }

    /// `index` for objects that come in files (in path order), which it takes apart as it goes:
    /// each file's objects are released once they are sorted into their kinds (unless another
    /// owner, such as a parse cache, keeps them), so a large fleet is never held twice.
    ///
    /// `both` runs two pieces of work and returns when both are done; a loader passes one that
    /// runs them on two cores (the artifacts' table, most of a fleet, beside every other
    /// kind's). Core starts no thread of its own: without `both` they run one after the other.
    ///
    /// With `earlier`, the tables of `unchanged` kinds are lent from it, and those of `sameNames`
    /// kinds are patched from it: see below for what the caller vouches for each.
    ///
    /// `kinds`, when given, is each file's kinds (`KindSet(of:)` of its objects): a file of one
    /// kind is then counted, and passed over when its kind needs no gathering, without asking
    /// each object its kind (which copies the object out of its file).
    public static func index(files: consuming [[ManifestObject]],
                             both: (_ first: @Sendable () -> Void, _ second: @Sendable () -> Void) -> Void = { $0(); $1() },
                             earlier: DesiredState? = nil, unchanged: KindSet = [], sameNames: KindSet = [], changedFiles: [Int] = [],
                             kinds: [KindSet] = [])
        -> (DesiredState, [Diagnostic]) {
        precondition(kinds.isEmpty || kinds.count == files.count, "index: one kind set per file")
        // The slot of a file whose objects are all of one kind (nil: several, or not known).
        func onlySlot(_ i: Int) -> Int? {
            guard !kinds.isEmpty, kinds[i].rawValue.nonzeroBitCount == 1 else { return nil }
            return kinds[i].rawValue.trailingZeroBitCount
        }
        // How many objects of each kind the files at `range` declare. By index, each object read
        // in place: a `for in` copied (and retained, then released) every field of every object
        // only to learn its kind.
        func kindCounts(_ range: Range<Int>) -> [Int] {
            var counts = [Int](repeating: 0, count: 8)
            for i in range {
                if let slot = onlySlot(i) {
                    counts[slot] += files[i].count
                    continue
                }
                for k in files[i].indices { counts[files[i][k].slot] += 1 }
            }
            return counts
        }
        let counts = kindCounts(files.indices)
        // The kinds whose table is lent by `earlier`: the caller vouches that every file holding
        // objects of the kind is as it was (the same path and content, and no such file added or
        // removed), so the kind's objects are the same ones in the same order, and its table
        // would be built equal. Only a table that dropped no repeated name is lent (it holds as
        // many objects as are declared now), so there are no duplicates to report again either.
        var lent = [Bool](repeating: false, count: 8)
        if let earlier {
            for slot in 0 ..< 8 where unchanged.contains(KindSet(rawValue: 1 << slot)) { lent[slot] = counts[slot] == earlier.count(slot: slot) }
        }
        // The kinds whose table is patched from `earlier`'s: the caller vouches that every file
        // holding objects of the kind, but those at `changedFiles`, is as it was, that no such
        // file was added or removed, and that each changed file declares the same names of the
        // kind in the same order as before (a placement's replicas edited). The kind's names are
        // then the same, so its table would be built with the same names at the same positions:
        // `earlier`'s, with the changed files' objects put in place of theirs. As for a lent
        // table, only one that dropped no repeated name is patched.
        var patched = Patched()
        if let earlier, !sameNames.isEmpty {
            var replacing = [[ManifestObject]](repeating: [], count: 8)
            for slot in 0 ..< 8 where sameNames.contains(KindSet(rawValue: 1 << slot)) && !lent[slot] && counts[slot] == earlier.count(slot: slot) {
                for i in changedFiles where files.indices.contains(i) {
                    for k in files[i].indices where files[i][k].slot == slot { replacing[slot].append(files[i][k]) }
                }
            }
            func patch<S, V>(_ slot: Int, _ table: ObjectTable<S, V>, _ value: (ManifestObject) -> V?, meta: (V) -> ObjectMeta) -> ObjectTable<S, V>? {
                guard !replacing[slot].isEmpty else { return nil }
                return table.replacing(replacing[slot].compactMap(value), meta: meta)
            }
            patched.jurisdictions = patch(0, earlier.jurisdictions, { if case .jurisdiction(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.regions = patch(1, earlier.regions, { if case .region(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.artifacts = patch(2, earlier.artifacts, { if case .artifact(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.fences = patch(3, earlier.fences, { if case .residencyFence(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.models = patch(4, earlier.models, { if case .model(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.topologies = patch(5, earlier.topologies, { if case .topology(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.placements = patch(6, earlier.placements, { if case .placement(let o) = $0 { o } else { nil } }, meta: \.meta)
            patched.guardrails = patch(7, earlier.guardrails, { if case .guardrail(let o) = $0 { o } else { nil } }, meta: \.meta)
        }
        // The kinds whose objects need not be gathered: lent, patched, or none declared.
        var skip = lent
        for slot in 0 ..< 8 where patched.has(slot: slot) || counts[slot] == 0 { skip[slot] = true }
        var jurisdictions: [Jurisdiction] = [], regions: [Region] = [], artifacts: [Artifact] = [], fences: [ResidencyFence] = []
        var models: [Model] = [], topologies: [Topology] = [], placements: [Placement] = [], guardrails: [Guardrail] = []
        if !skip.contains(false) {
            // Every kind lent, patched or empty: no object to gather.
        } else if lent.contains(true) || patched.any {
            jurisdictions.reserveCapacity(lent[0] ? 0 : counts[0])
            regions.reserveCapacity(lent[1] ? 0 : counts[1])
            artifacts.reserveCapacity(lent[2] ? 0 : counts[2])
            fences.reserveCapacity(lent[3] ? 0 : counts[3])
            models.reserveCapacity(lent[4] ? 0 : counts[4])
            topologies.reserveCapacity(lent[5] ? 0 : counts[5])
            placements.reserveCapacity(lent[6] ? 0 : counts[6])
            guardrails.reserveCapacity(lent[7] ? 0 : counts[7])
            // Files that are the parse cache's (a re-read after a small commit): the objects of
            // the kinds still to index are copied, in order, and the rest not touched at all.
            for i in files.indices {
                if !kinds.isEmpty, (0 ..< 8).allSatisfy({ skip[$0] || !kinds[i].contains(KindSet(rawValue: 1 << $0)) }) { continue }
                for k in files[i].indices where !skip[files[i][k].slot] {
                    switch files[i][k] {
                    case .jurisdiction(let o): jurisdictions.append(o)
                    case .region(let o): regions.append(o)
                    case .artifact(let o): artifacts.append(o)
                    case .residencyFence(let o): fences.append(o)
                    case .model(let o): models.append(o)
                    case .topology(let o): topologies.append(o)
                    case .placement(let o): placements.append(o)
                    case .guardrail(let o): guardrails.append(o)
                    }
                }
            }
        } else {
            // Gathered on both cores: the files in two runs of about half the objects each, each
            // run's objects put into their kinds' lists from where the first run's objects of the
            // kind end, so every list comes out in declaration order, as one pass in order would
            // make it. (On one core this was 15 ms of the benchmark fleet's load with the other
            // core idle; most of it is the retain of each object as its case is bound, a cache
            // miss on an object a parse worker made, asked for a few objects ahead.)
            let total = files.reduce(0) { $0 + $1.count }
            var split = 0, firstRun = 0
            while split < files.count && firstRun + files[split].count <= total / 2 {
                firstRun += files[split].count
                split += 1
            }
            // Straight into each kind's list, made at its count (filled in place, never copied).
            let starts = kindCounts(0 ..< split), middle = split, ends = counts
            func gather(into gathering: Gathering) {
                files.withUnsafeMutableBufferPointer { buffer in
                    nonisolated(unsafe) let all = buffer
                    both({ gathering.gather(all, 0 ..< middle, from: [Int](repeating: 0, count: 8), to: starts) },
                         { gathering.gather(all, middle ..< all.count, from: starts, to: ends) })
                }
            }
            let made = Self.filled(counts[0]) { j in Self.filled(counts[1]) { r in Self.filled(counts[2]) { a in
                Self.filled(counts[3]) { f in Self.filled(counts[4]) { m in Self.filled(counts[5]) { t in
                    Self.filled(counts[6]) { p in Self.filled(counts[7]) { g in
                        gather(into: Gathering(jurisdictions: j, regions: r, artifacts: a, fences: f, models: m, topologies: t, placements: p, guardrails: g))
                    } }
                } } }
            } } }
            jurisdictions = made.0
            (regions, artifacts) = (made.1.0, made.1.1.0)
            (fences, models) = (made.1.1.1.0, made.1.1.1.1.0)
            (topologies, placements, guardrails) = (made.1.1.1.1.1.0, made.1.1.1.1.1.1.0, made.1.1.1.1.1.1.1.0)
        }
        // Each side takes its lists out of the box (moved, never copied: a second reference
        // would make the table's sort copy the whole list) and leaves its tables in it.
        let box = Tables(jurisdictions: consume jurisdictions, regions: consume regions, artifacts: consume artifacts,
                         fences: consume fences, models: consume models, topologies: consume topologies,
                         placements: consume placements, guardrails: consume guardrails)
        let lentTables = lent, patches = patched
        both({
            box.artifactTable = lentTables[2] ? earlier!.artifacts
                : patches.artifacts ?? ObjectTable(declared: box.artifacts.take()!, meta: \.meta, duplicates: &box.artifactDuplicates)
        }, {
            var d: [Diagnostic] = []
            box.rest = (lentTables[0] ? earlier!.jurisdictions
                            : patches.jurisdictions ?? ObjectTable(declared: box.jurisdictions.take()!, meta: \.meta, duplicates: &d),
                        lentTables[1] ? earlier!.regions : patches.regions ?? ObjectTable(declared: box.regions.take()!, meta: \.meta, duplicates: &d),
                        lentTables[3] ? earlier!.fences : patches.fences ?? ObjectTable(declared: box.fences.take()!, meta: \.meta, duplicates: &d),
                        lentTables[4] ? earlier!.models : patches.models ?? ObjectTable(declared: box.models.take()!, meta: \.meta, duplicates: &d),
                        lentTables[5] ? earlier!.topologies
                            : patches.topologies ?? ObjectTable(declared: box.topologies.take()!, meta: \.meta, duplicates: &d),
                        lentTables[6] ? earlier!.placements
                            : patches.placements ?? ObjectTable(declared: box.placements.take()!, meta: \.meta, duplicates: &d),
                        lentTables[7] ? earlier!.guardrails
                            : patches.guardrails ?? ObjectTable(declared: box.guardrails.take()!, meta: \.meta, duplicates: &d))
            box.restDuplicates = d
        })
        let rest = box.rest.take()!
        let state = DesiredState(jurisdictions: rest.0, regions: rest.1, artifacts: box.artifactTable.take()!, fences: rest.2,
                                 models: rest.3, topologies: rest.4, placements: rest.5, guardrails: rest.6)
        return (state, box.artifactDuplicates + box.restDuplicates)
    }

    /// The kinds whose table this state shares with `other` (the very same storage: a table
    /// one index lent the next); an empty table is never counted.
    public func sharedTables(with other: DesiredState) -> KindSet {
        func same<S, V>(_ a: ObjectTable<S, V>, _ b: ObjectTable<S, V>) -> Bool {
            a.list.withUnsafeBufferPointer { x in b.list.withUnsafeBufferPointer { y in x.count > 0 && x.baseAddress == y.baseAddress && x.count == y.count } }
        }
        var kinds: KindSet = []
        if same(jurisdictions, other.jurisdictions) { kinds.insert(KindSet(.jurisdiction)) }
        if same(regions, other.regions) { kinds.insert(KindSet(.region)) }
        if same(artifacts, other.artifacts) { kinds.insert(KindSet(.artifact)) }
        if same(fences, other.fences) { kinds.insert(KindSet(.residencyFence)) }
        if same(models, other.models) { kinds.insert(KindSet(.model)) }
        if same(topologies, other.topologies) { kinds.insert(KindSet(.topology)) }
        if same(placements, other.placements) { kinds.insert(KindSet(.placement)) }
        if same(guardrails, other.guardrails) { kinds.insert(KindSet(.guardrail)) }
        return kinds
    }

    /// The kinds whose table here has `other`'s names from the very same storage: those lent
    /// (`sharedTables`) and those patched (see `index`'s `sameNames`).
    public func sharedNames(with other: DesiredState) -> KindSet {
        var kinds: KindSet = []
        if jurisdictions.sharesNames(with: other.jurisdictions) { kinds.insert(KindSet(.jurisdiction)) }
        if regions.sharesNames(with: other.regions) { kinds.insert(KindSet(.region)) }
        if artifacts.sharesNames(with: other.artifacts) { kinds.insert(KindSet(.artifact)) }
        if fences.sharesNames(with: other.fences) { kinds.insert(KindSet(.residencyFence)) }
        if models.sharesNames(with: other.models) { kinds.insert(KindSet(.model)) }
        if topologies.sharesNames(with: other.topologies) { kinds.insert(KindSet(.topology)) }
        if placements.sharesNames(with: other.placements) { kinds.insert(KindSet(.placement)) }
        if guardrails.sharesNames(with: other.guardrails) { kinds.insert(KindSet(.guardrail)) }
        return kinds
    }

    /// This state with only the tables of `kinds`; every other table empty.
    public func only(_ kinds: KindSet) -> DesiredState {
        DesiredState(
            jurisdictions: kinds.contains(KindSet(.jurisdiction)) ? jurisdictions : ObjectTable([:]),
            regions: kinds.contains(KindSet(.region)) ? regions : ObjectTable([:]),
            artifacts: kinds.contains(KindSet(.artifact)) ? artifacts : ObjectTable([:]),
            fences: kinds.contains(KindSet(.residencyFence)) ? fences : ObjectTable([:]),
            models: kinds.contains(KindSet(.model)) ? models : ObjectTable([:]),
            topologies: kinds.contains(KindSet(.topology)) ? topologies : ObjectTable([:]),
            placements: kinds.contains(KindSet(.placement)) ? placements : ObjectTable([:]),
            guardrails: kinds.contains(KindSet(.guardrail)) ? guardrails : ObjectTable([:]))
    }

    /// Whether the table of `kind` (one kind) holds the same objects here as in `other`
    /// (`ObjectTable.holdsSameObjects`).
    public func holdsSameObjects(as other: DesiredState, kind: KindSet) -> Bool {
        switch kind {
        case KindSet(.jurisdiction): jurisdictions.holdsSameObjects(as: other.jurisdictions)
        case KindSet(.region): regions.holdsSameObjects(as: other.regions)
        case KindSet(.artifact): artifacts.holdsSameObjects(as: other.artifacts)
        case KindSet(.residencyFence): fences.holdsSameObjects(as: other.fences)
        case KindSet(.model): models.holdsSameObjects(as: other.models)
        case KindSet(.topology): topologies.holdsSameObjects(as: other.topologies)
        case KindSet(.placement): placements.holdsSameObjects(as: other.placements)
        case KindSet(.guardrail): guardrails.holdsSameObjects(as: other.guardrails)
        default: preconditionFailure("holdsSameObjects(as:kind:) takes one kind, not \(kind.rawValue)")
        }
    }

    /// How many objects the table of a kind (by its position in `index`'s tables) holds.
    private func count(slot: Int) -> Int {
        switch slot {
        case 0: jurisdictions.count
        case 1: regions.count
        case 2: artifacts.count
        case 3: fences.count
        case 4: models.count
        case 5: topologies.count
        case 6: placements.count
        default: guardrails.count
        }
    }

    /// The tables `index` patched from the earlier state's, by kind.
    private struct Patched: Sendable {
        var jurisdictions: ObjectTable<JurisdictionSpace, Jurisdiction>?, regions: ObjectTable<RegionSpace, Region>?
        var artifacts: ObjectTable<ArtifactSpace, Artifact>?, fences: ObjectTable<FenceSpace, ResidencyFence>?
        var models: ObjectTable<ModelSpace, Model>?, topologies: ObjectTable<TopologySpace, Topology>?
        var placements: ObjectTable<PlacementSpace, Placement>?, guardrails: ObjectTable<GuardrailSpace, Guardrail>?

        func has(slot: Int) -> Bool {
            switch slot {
            case 0: jurisdictions != nil
            case 1: regions != nil
            case 2: artifacts != nil
            case 3: fences != nil
            case 4: models != nil
            case 5: topologies != nil
            case 6: placements != nil
            default: guardrails != nil
            }
        }

        var any: Bool { (0 ..< 8).contains { has(slot: $0) } }
    }

    /// A list of `count` elements, each initialized by `body` through the pointer it is given
    /// (before `body` returns), and what `body` returns.
    private static func filled<T, R>(_ count: Int, _ body: (UnsafeMutablePointer<T>) -> R) -> ([T], R) {
        var result: R?
        let list = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress {
                result = body(base)
            } else {
                // No element to write (and no storage): a pointer that is never written through.
                let none = UnsafeMutablePointer<T>.allocate(capacity: 1)
                result = body(none)
                none.deallocate()
            }
            initialized = count
        }
        return (list, result!)
    }

    /// Where `index`'s gathering puts each kind's objects (the kinds' lists, made at their
    /// counts): every slot is written once, by one of the two runs (the second run's from where
    /// the first's end), so the runs share no slot and need no lock.
    private final class Gathering: @unchecked Sendable {
        let jurisdictions: UnsafeMutablePointer<Jurisdiction>, regions: UnsafeMutablePointer<Region>
        let artifacts: UnsafeMutablePointer<Artifact>, fences: UnsafeMutablePointer<ResidencyFence>
        let models: UnsafeMutablePointer<Model>, topologies: UnsafeMutablePointer<Topology>
        let placements: UnsafeMutablePointer<Placement>, guardrails: UnsafeMutablePointer<Guardrail>

        init(jurisdictions: UnsafeMutablePointer<Jurisdiction>, regions: UnsafeMutablePointer<Region>,
             artifacts: UnsafeMutablePointer<Artifact>, fences: UnsafeMutablePointer<ResidencyFence>,
             models: UnsafeMutablePointer<Model>, topologies: UnsafeMutablePointer<Topology>,
             placements: UnsafeMutablePointer<Placement>, guardrails: UnsafeMutablePointer<Guardrail>) {
            (self.jurisdictions, self.regions, self.artifacts, self.fences) = (jurisdictions, regions, artifacts, fences)
            (self.models, self.topologies, self.placements, self.guardrails) = (models, topologies, placements, guardrails)
        }

        /// The objects of `files[range]`, in order, each kind's from `start[slot]` up to exactly
        /// `end[slot]`; each file is emptied as it is read (its objects released there, on this
        /// run's core). The counts are checked as the slots are written: a miscount (a file's
        /// kinds said wrongly) stops the process rather than write outside a list or leave a
        /// slot unwritten.
        func gather(_ files: UnsafeMutableBufferPointer<[ManifestObject]>, _ range: Range<Int>, from start: [Int], to end: [Int]) {
            var at = start
            defer { precondition(at == end, "index: the objects gathered are not the objects counted") }
            for i in range {
                var file: [ManifestObject] = []
                swap(&file, &files[i])
                file.withUnsafeBufferPointer { objects in
                    for k in objects.indices {
                        // The object bound below is retained: a cache miss on its fields' object,
                        // asked for a few objects ahead.
                        Prefetch.firstWord(of: objects, at: k + Prefetch.distance)
                        let slot = objects[k].slot
                        precondition(at[slot] < end[slot], "index: more objects of a kind than counted")
                        switch objects[k] {
                        case .jurisdiction(let o): (jurisdictions + at[0]).initialize(to: o); at[0] += 1
                        case .region(let o): (regions + at[1]).initialize(to: o); at[1] += 1
                        case .artifact(let o): (artifacts + at[2]).initialize(to: o); at[2] += 1
                        case .residencyFence(let o): (fences + at[3]).initialize(to: o); at[3] += 1
                        case .model(let o): (models + at[4]).initialize(to: o); at[4] += 1
                        case .topology(let o): (topologies + at[5]).initialize(to: o); at[5] += 1
                        case .placement(let o): (placements + at[6]).initialize(to: o); at[6] += 1
                        case .guardrail(let o): (guardrails + at[7]).initialize(to: o); at[7] += 1
                        }
                    }
                }
            }
        }
    }

    /// `index`'s lists and tables while the two sides build them; each field is touched by
    /// one side only, and read back once both are done.
    private final class Tables: @unchecked Sendable {
        var jurisdictions: [Jurisdiction]?, regions: [Region]?, artifacts: [Artifact]?, fences: [ResidencyFence]?
        var models: [Model]?, topologies: [Topology]?, placements: [Placement]?, guardrails: [Guardrail]?
        var artifactTable: ObjectTable<ArtifactSpace, Artifact>?
        var artifactDuplicates: [Diagnostic] = []
        var rest: (ObjectTable<JurisdictionSpace, Jurisdiction>, ObjectTable<RegionSpace, Region>, ObjectTable<FenceSpace, ResidencyFence>,
                   ObjectTable<ModelSpace, Model>, ObjectTable<TopologySpace, Topology>, ObjectTable<PlacementSpace, Placement>,
                   ObjectTable<GuardrailSpace, Guardrail>)?
        var restDuplicates: [Diagnostic] = []

        init(jurisdictions: consuming [Jurisdiction], regions: consuming [Region], artifacts: consuming [Artifact],
             fences: consuming [ResidencyFence], models: consuming [Model], topologies: consuming [Topology],
             placements: consuming [Placement], guardrails: consuming [Guardrail]) {
            self.jurisdictions = jurisdictions
            self.regions = regions
            self.artifacts = artifacts
            self.fences = fences
            self.models = models
            self.topologies = topologies
            self.placements = placements
            self.guardrails = guardrails
        }
    }
}

private extension ManifestObject {
    /// The kind's position in `DesiredState.index`'s tables: its bit in a `KindSet`, so that a
    /// set of kinds and the tables agree by construction.
    var slot: Int { KindSet(kind).rawValue.trailingZeroBitCount }
}

/// The objects of one kind, stored once, in name order, with an index by name.
public struct ObjectTable<Space: NameSpace, Value: Sendable>: Sendable {
    /// In name order (byte-wise).
    public let list: [Value]
    private let index: NameIndex<Space>
    /// This table's identity, which a table patched from it names (see `replacing`).
    private let token = TableToken()
    /// What this table was patched from, if it was.
    private let patch: TablePatch?

    /// From objects in declaration (path) order. A name declared twice is reported at both
    /// places, and the first declaration is kept, so the remaining checks still run and the
    /// user sees everything in one pass.
    init(declared: consuming [Value], meta: (Value) -> ObjectMeta, duplicates diagnostics: inout [Diagnostic]) {
        var list = declared
        let n = list.count
        let names = list.indices.map { i in
            Prefetch.ahead(in: list, of: i)
            return Name<Space>(meta(list[i]).name)
        }
        // By name, then by declaration: a name's first declaration comes first.
        let order = list.indices.sorted { a, b in
            switch UTF8Bytes.compare(names[a].rawValue, names[b].rawValue) {
            case .less: true
            case .greater: false
            case .equal: a < b
            }
        }
        // Where each slot of the table takes its object from: the first declarations in name
        // order, then the duplicates, which are dropped.
        var from: [Int] = []
        from.reserveCapacity(n)
        var dropped: [Int] = []
        var kept = -1
        for i in order {
            if kept >= 0 && names[kept] == names[i] {
                let first = meta(list[kept]), again = meta(list[i])
                diagnostics.append(Diagnostic(.nameDuplicate,
                    "\(again.kind.rawValue) '\(again.name)' is declared more than once; also declared at \(again.nameLocation)",
                    at: first.nameLocation))
                diagnostics.append(Diagnostic(.nameDuplicate,
                    "\(again.kind.rawValue) '\(again.name)' is declared more than once; first declared at \(first.nameLocation)",
                    at: again.nameLocation))
                dropped.append(i)
                continue
            }
            kept = i
            from.append(i)
        }
        let unique = from.count
        from += dropped
        // The objects move into place in the array they came in, so the table never needs a
        // second copy of a kind's objects.
        list.permute(taking: from)
        list.removeLast(n - unique)
        self.list = list
        index = NameIndex(names: from[..<unique].map { names[$0] })
        patch = nil
    }

    /// From objects already in name order, each name once (a part of a table: see
    /// `PlanPartition`).
    init(sorted list: [Value], meta: (Value) -> ObjectMeta) {
        self.list = list
        index = NameIndex(names: list.map { Name<Space>(meta($0).name) })
        patch = nil
    }

    /// This table with `objects` in place of the objects of the same names, at their
    /// positions; nil when one of the names is not in the table. The names, their order and the
    /// index are this table's, shared.
    ///
    /// The new table remembers which positions it replaced, and (weakly) this table: compared
    /// with this table, it holds the same objects everywhere else without comparing them (see
    /// `replacedPositions(from:)`). Copied out of this table field by field, an object's bits may differ
    /// from its original's in the padding between fields, so a bit-for-bit comparison would
    /// fall back to `==` for every object.
    func replacing(_ objects: [Value], meta: (Value) -> ObjectMeta) -> ObjectTable? {
        var list = self.list
        var replaced: [Int32] = []
        for k in objects.indices {
            guard let at = index.position(of: Name<Space>(meta(objects[k]).name)) else { return nil }
            list[at] = objects[k]
            replaced.append(Int32(at))
        }
        return ObjectTable(list: list, index: index, patch: TablePatch(base: token, replaced: Set(replaced)))
    }

    private init(list: [Value], index: NameIndex<Space>, patch: TablePatch) {
        self.list = list
        self.index = index
        self.patch = patch
    }

    /// The positions this table replaced in `other`, when it was patched from that very table
    /// (alive: the reference is weak, so no other table can pass for it): every other position
    /// holds a copy of `other`'s object. Nil otherwise.
    public func replacedPositions(from other: ObjectTable) -> Set<Int32>? {
        guard let patch, let base = patch.base, base === other.token else { return nil }
        return patch.replaced
    }

    /// The positions at which this table may hold other objects than `other`, when that is
    /// known without comparing them: none when both are one storage (a table lent from one
    /// index to the next), the replaced ones when this table was patched from `other` (see
    /// `replacedPositions(from:)`). Either way both have the same names at the same positions.
    /// Nil otherwise.
    public func changedPositions(since other: ObjectTable) -> Set<Int32>? {
        let one = list.withUnsafeBufferPointer { x in
            other.list.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress && x.count == y.count }
        }
        return one ? [] : replacedPositions(from: other)
    }

    /// Whether `other` has the same names in the same order, compared byte for byte (at once
    /// when they share the storage of their names).
    public func hasSameNames(as other: ObjectTable) -> Bool {
        guard list.count == other.list.count else { return false }
        if list.isEmpty || sharesNames(with: other) { return true }
        return zip(index.names, other.index.names).allSatisfy { UTF8Bytes.equal($0.rawValue, $1.rawValue) }
    }

    /// Whether `other` has this table's names from the very same storage (a table lent from one
    /// index to the next, or one patched from it: see `replacing`); never for an empty table.
    func sharesNames(with other: ObjectTable) -> Bool {
        index.names.withUnsafeBufferPointer { x in
            other.index.names.withUnsafeBufferPointer { y in x.count > 0 && x.baseAddress == y.baseAddress && x.count == y.count }
        }
    }

    /// From a table of names (tests and tools that build a state by hand).
    public init(_ table: [Name<Space>: Value]) {
        let names = table.keys.sorted()
        list = names.map { table[$0].unsafelyUnwrapped }
        index = NameIndex(names: names)
        patch = nil
    }

    public subscript(_ name: Name<Space>) -> Value? { index.position(of: name).map { list[$0] } }

    /// Whether `other` holds the same objects, in the same order (and so the same names at the
    /// same positions). Compared in place, each object first bit for bit: an object from a file
    /// that did not change is the parse cache's, so both tables hold the very same fields.
    public func holdsSameObjects(as other: ObjectTable) -> Bool where Value: Equatable {
        guard list.count == other.list.count else { return false }
        return list.withUnsafeBufferPointer { x in
            other.list.withUnsafeBufferPointer { y in
                // One storage (a table lent from one index to the next): the same objects.
                if x.baseAddress == y.baseAddress { return true }
                // Patched from the other (or the other from this): only the replaced positions.
                if let replaced = replacedPositions(from: other) ?? other.replacedPositions(from: self) {
                    return replaced.allSatisfy { sameValue(x.baseAddress! + Int($0), y.baseAddress! + Int($0)) }
                }
                for k in x.indices where !sameValue(x.baseAddress! + k, y.baseAddress! + k) { return false }
                return true
            }
        }
    }

    public func contains(_ name: Name<Space>) -> Bool { index.position(of: name) != nil }

    /// Where `name` is in `list`.
    public func position(of name: Name<Space>) -> Int? { index.position(of: name) }

    public var count: Int { list.count }
    public var isEmpty: Bool { list.isEmpty }
    /// The objects, in name order.
    public var values: [Value] { list }
    /// The names, in name order.
    public var keys: [Name<Space>] { index.names }
}

/// A table's identity (`ObjectTable.replacing`).
final class TableToken: Sendable {}

/// What a patched table was patched from: that table's token, held weakly, and the positions
/// whose objects it replaced.
struct TablePatch: Sendable {
    weak var base: TableToken?
    let replaced: Set<Int32>
}

/// Whether two values are equal, compared first bit for bit. Identical bits are equal values
/// for the model's types (none holds a floating-point value, whose NaN is unequal to itself,
/// and equal references are the same storage); otherwise `==` decides.
@inline(__always)
func sameValue<V: Equatable>(_ u: UnsafePointer<V>, _ v: UnsafePointer<V>) -> Bool {
    memcmpBytes(UnsafeRawPointer(u), UnsafeRawPointer(v), MemoryLayout<V>.size) || u.pointee == v.pointee
}
