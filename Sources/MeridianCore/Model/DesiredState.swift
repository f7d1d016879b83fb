/// The whole desired state of one revision: every object, indexed by its typed name.
/// Built only from a revision that decoded without errors; `DesiredState.build` then checks
/// names, references and the structural rules and reports every problem it finds.
public struct DesiredState: Sendable {
    public let jurisdictions: [JurisdictionName: Jurisdiction]
    public let regions: [RegionName: Region]
    public let artifacts: [ArtifactName: Artifact]
    public let fences: [FenceName: ResidencyFence]
    public let models: [ModelName: Model]
    public let topologies: [TopologyName: Topology]
    public let placements: [PlacementName: Placement]
    public let guardrails: [GuardrailName: Guardrail]

    /// Every kind's objects in name order, sorted once here: iteration that feeds output, checks
    /// or plans never depends on hashing, and nothing downstream sorts again.
    public let jurisdictionList: [Jurisdiction]
    public let regionList: [Region]
    public let artifactList: [Artifact]
    public let fenceList: [ResidencyFence]
    public let modelList: [Model]
    public let topologyList: [Topology]
    public let placementList: [Placement]
    public let guardrailList: [Guardrail]

    public init(
        jurisdictions: [JurisdictionName: Jurisdiction] = [:], regions: [RegionName: Region] = [:],
        artifacts: [ArtifactName: Artifact] = [:], fences: [FenceName: ResidencyFence] = [:],
        models: [ModelName: Model] = [:], topologies: [TopologyName: Topology] = [:],
        placements: [PlacementName: Placement] = [:], guardrails: [GuardrailName: Guardrail] = [:]
    ) {
        self.jurisdictions = jurisdictions
        self.regions = regions
        self.artifacts = artifacts
        self.fences = fences
        self.models = models
        self.topologies = topologies
        self.placements = placements
        self.guardrails = guardrails
        jurisdictionList = jurisdictions.sortedValues
        regionList = regions.sortedValues
        artifactList = artifacts.sortedValues
        fenceList = fences.sortedValues
        modelList = models.sortedValues
        topologyList = topologies.sortedValues
        placementList = placements.sortedValues
        guardrailList = guardrails.sortedValues
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

    /// The reference and structural checks of `build`, on their own: they read the state only,
    /// so a loader may run them beside other checks.
    public func structuralDiagnostics() -> [Diagnostic] { StructuralValidator(state: self).validate() }

    /// Indexes the objects by name and reports names declared twice; `build` without the
    /// structural checks.
    public static func index(_ objects: [ManifestObject]) -> (DesiredState, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var jurisdictions: [JurisdictionName: Jurisdiction] = [:]
        var regions: [RegionName: Region] = [:]
        var artifacts: [ArtifactName: Artifact] = [:]
        var fences: [FenceName: ResidencyFence] = [:]
        var models: [ModelName: Model] = [:]
        var topologies: [TopologyName: Topology] = [:]
        var placements: [PlacementName: Placement] = [:]
        var guardrails: [GuardrailName: Guardrail] = [:]

        func insert<S, V>(_ value: V, _ meta: ObjectMeta, into dict: inout [Name<S>: V], metaOf: (V) -> ObjectMeta) {
            let key = Name<S>(meta.name)
            if let first = dict[key] {
                let firstMeta = metaOf(first)
                diagnostics.append(Diagnostic(.nameDuplicate,
                    "\(meta.kind.rawValue) '\(meta.name)' is declared more than once; also declared at \(meta.nameLocation)",
                    at: firstMeta.nameLocation))
                diagnostics.append(Diagnostic(.nameDuplicate,
                    "\(meta.kind.rawValue) '\(meta.name)' is declared more than once; first declared at \(firstMeta.nameLocation)",
                    at: meta.nameLocation))
            } else {
                dict[key] = value
            }
        }

        // Tables sized up front: growing a 70,000-entry table moves every value ~17 times.
        var counts = [Int](repeating: 0, count: 8)
        for object in objects {
            switch object {
            case .jurisdiction: counts[0] += 1
            case .region: counts[1] += 1
            case .artifact: counts[2] += 1
            case .residencyFence: counts[3] += 1
            case .model: counts[4] += 1
            case .topology: counts[5] += 1
            case .placement: counts[6] += 1
            case .guardrail: counts[7] += 1
            }
        }
        jurisdictions.reserveCapacity(counts[0])
        regions.reserveCapacity(counts[1])
        artifacts.reserveCapacity(counts[2])
        fences.reserveCapacity(counts[3])
        models.reserveCapacity(counts[4])
        topologies.reserveCapacity(counts[5])
        placements.reserveCapacity(counts[6])
        guardrails.reserveCapacity(counts[7])

        for object in objects {
            switch object {
            case .jurisdiction(let o): insert(o, o.meta, into: &jurisdictions) { $0.meta }
            case .region(let o): insert(o, o.meta, into: &regions) { $0.meta }
            case .artifact(let o): insert(o, o.meta, into: &artifacts) { $0.meta }
            case .residencyFence(let o): insert(o, o.meta, into: &fences) { $0.meta }
            case .model(let o): insert(o, o.meta, into: &models) { $0.meta }
            case .topology(let o): insert(o, o.meta, into: &topologies) { $0.meta }
            case .placement(let o): insert(o, o.meta, into: &placements) { $0.meta }
            case .guardrail(let o): insert(o, o.meta, into: &guardrails) { $0.meta }
            }
        }

        let state = DesiredState(
            jurisdictions: jurisdictions, regions: regions, artifacts: artifacts, fences: fences,
            models: models, topologies: topologies, placements: placements, guardrails: guardrails)
        return (state, diagnostics)
    }
}

extension Dictionary where Key: Comparable {
    /// Values in key order: iteration that feeds output or plans never depends on hashing.
    /// Sorts the keys alone: moving large values around while sorting costs more than looking
    /// each one up once afterwards.
    public var sortedValues: [Value] { keys.sorted().map { self[$0].unsafelyUnwrapped } }
}
