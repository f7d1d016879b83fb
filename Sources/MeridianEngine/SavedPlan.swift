public import MeridianCore
internal import Foundation

/// A plan written by `plan --format json --out F` (SPEC §4), read back for `apply --plan F`.
public enum SavedPlan {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static let maxBytes = 512 << 20

    struct Source: Decodable { let commit: String?; let digest: String; let path: String }
    struct RawAction: Decodable {
        let id: String
        let type: String
        let region: String?
        let artifact: String?
        let placement: String?
        let from: String?
        let model: String?
        let version: String?
        let replicas: Int?
        let weights: [String: Int]?
        let dependsOn: [String]
        let reason: String
    }
    struct RawUnserved: Decodable { let placement: String; let reason: String }
    struct Raw: Decodable {
        let formatVersion: Int
        let source: Source
        let observedGenerations: [String: Int]
        let actions: [RawAction]
        let unserved: [RawUnserved]
    }

    public static func load(path: String) throws(Error) -> Plan {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Error(description: "\(path): is a directory, not a saved plan file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Error(description: "\(path): cannot be read") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxBytes + 1) ?? Data() } catch {
            throw Error(description: "\(path): cannot be read: \(error.localizedDescription)")
        }
        if data.count > maxBytes { throw Error(description: "\(path): larger than \(maxBytes) bytes") }
        return try decode([UInt8](data), source: path)
    }

    public static func decode(_ bytes: [UInt8], source: String) throws(Error) -> Plan {
        let raw: Raw
        do { raw = try JSONDecoder().decode(Raw.self, from: Data(bytes)) } catch {
            throw Error(description: "\(source): not a JSON plan (write one with `meridian plan --format json --out FILE`): \(error)")
        }
        guard raw.formatVersion == 1 else { throw Error(description: "\(source): plan formatVersion \(raw.formatVersion) is not supported") }
        var ids = Set<String>()
        var actions: [Action] = []
        for a in raw.actions {
            guard let kind = Action.Kind(rawValue: a.type) else { throw Error(description: "\(source): action \(a.id): unknown type \(a.type)") }
            guard ids.insert(a.id).inserted else { throw Error(description: "\(source): action id \(a.id) appears twice") }
            for d in a.dependsOn where !ids.contains(d) {
                throw Error(description: "\(source): action \(a.id) depends on \(d), which does not come before it")
            }
            let needsRegion = kind != .setTraffic
            if needsRegion && a.region == nil { throw Error(description: "\(source): action \(a.id) (\(a.type)) has no region") }
            if kind == .setTraffic && (a.placement == nil || a.weights == nil) {
                throw Error(description: "\(source): action \(a.id) (set-traffic) needs a placement and weights")
            }
            if kind == .deploy && (a.placement == nil || a.model == nil || a.version == nil || a.replicas == nil) {
                throw Error(description: "\(source): action \(a.id) (deploy) needs placement, model, version and replicas")
            }
            if (kind == .stageArtifact || kind == .deleteArtifact) && a.artifact == nil {
                throw Error(description: "\(source): action \(a.id) (\(a.type)) has no artifact")
            }
            var weights: [RegionName: Int]?
            if let w = a.weights {
                weights = [:]
                for (r, x) in w { weights![RegionName(r)] = x }
            }
            actions.append(Action(id: a.id, kind: kind, region: a.region.map(RegionName.init), artifact: a.artifact.map(ArtifactName.init),
                                  placement: a.placement.map(PlacementName.init), from: a.from.map(RegionName.init),
                                  model: a.model.map(ModelName.init), version: a.version, replicas: a.replicas, weights: weights,
                                  dependsOn: a.dependsOn, reason: a.reason))
        }
        var generations: [RegionName: Int] = [:]
        for (r, g) in raw.observedGenerations { generations[RegionName(r)] = g }
        return Plan(source: PlanSource(commit: raw.source.commit, digest: raw.source.digest, path: raw.source.path),
                    observedGenerations: generations, actions: actions,
                    unserved: raw.unserved.map { Unserved(placement: PlacementName($0.placement), reason: $0.reason) })
    }

    /// The plan's identity: SHA-256 of its JSON form.
    public static func digest(_ plan: Plan) -> String {
        var h = SHA256()
        PlanJSON.render(plan) { h.update(bytes: $0) }
        return "sha256:" + h.finalize()
    }

    /// Why a saved plan may no longer be applied (SPEC §5): its source, or a generation of a region
    /// it touches, changed since it was made. Empty when it is current.
    public static func staleness(of plan: Plan, source: PlanSource, observed: ObservedState) -> [String] {
        var reasons: [String] = []
        if plan.source.commit != source.commit {
            reasons.append("the source commit is \(source.commit ?? "none (a directory)"), the plan was made at \(plan.source.commit ?? "none (a directory)")")
        } else if plan.source.digest != source.digest {
            reasons.append("the manifests changed: content digest \(source.digest.prefix(19))…, the plan was made from \(plan.source.digest.prefix(19))…")
        }
        if plan.source.path != source.path {
            reasons.append("the manifest path is \(source.path), the plan was made from \(plan.source.path)")
        }
        for (r, g) in plan.observedGenerations.sorted(by: { $0.key < $1.key }) {
            let now = observed.regions[r.rawValue]
            if let now, !now.reachable {
                reasons.append("region \(r) cannot be observed now (the plan saw generation \(g))")
            } else if (now?.generation ?? 0) != g {
                reasons.append("region \(r) is at generation \(now?.generation ?? 0), the plan saw \(g)")
            }
        }
        return reasons
    }
}
