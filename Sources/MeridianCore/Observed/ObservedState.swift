/// What adapters report of each region (SPEC §3). The snapshot format `--observed FILE` reads
/// and `meridian observe` writes is this type's JSON form.
public struct ObservedState: Sendable, Hashable, Codable {
    public var formatVersion: Int
    public var regions: [String: RegionObservation]

    public init(regions: [String: RegionObservation] = [:]) {
        formatVersion = 1
        self.regions = regions
    }

    /// A region's observation; a region missing from the snapshot is empty and reachable, with
    /// its declared capacity all free.
    public func region(_ name: RegionName, declared: Region?) -> RegionObservation {
        var o = regions[name.rawValue] ?? RegionObservation()
        if o.capacity == nil, let declared {
            var cap: [String: AcceleratorCapacity] = [:]
            for a in declared.accelerators { cap[a.type] = AcceleratorCapacity(total: a.count, free: a.count) }
            o.capacity = cap
        }
        return o
    }
}

public struct AcceleratorCapacity: Sendable, Hashable, Codable {
    public var total: Int
    public var free: Int
    public init(total: Int, free: Int) {
        self.total = total
        self.free = free
    }
}

public struct ObservedArtifact: Sendable, Hashable, Codable {
    public var digest: String
    public init(digest: String) { self.digest = digest }
}

extension ObservedDeployment {
    /// From its JSON form, as `Decodable` reads it (see `RegionObservation.init(json:)`).
    public init(fields d: JSONFields) throws(JSONError) {
        self.init(model: try d.string("model"), version: try d.string("version"), replicas: try d.int("replicas"), ready: try d.int("ready"))
    }

    public func write(into w: inout JSONWriter) {
        w.beginObject()
        w.key("model"); w.string(model)
        w.key("ready"); w.int(ready)
        w.key("replicas"); w.int(replicas)
        w.key("version"); w.string(version)
        w.endObject()
    }
}

public struct ObservedDeployment: Sendable, Hashable, Codable {
    public var model: String
    public var version: String
    public var replicas: Int
    public var ready: Int
    public init(model: String, version: String, replicas: Int, ready: Int) {
        self.model = model
        self.version = version
        self.replicas = replicas
        self.ready = ready
    }
}

public struct RegionObservation: Sendable, Hashable, Codable {
    public var reachable: Bool
    public var generation: Int
    /// The jurisdiction the region attests; nil when it does not say.
    public var jurisdiction: String?
    /// nil: not reported, so the declared capacity is all free.
    public var capacity: [String: AcceleratorCapacity]?
    public var artifacts: [String: ObservedArtifact]
    public var deployments: [String: ObservedDeployment]
    public var traffic: [String: Int]

    public init(reachable: Bool = true, generation: Int = 0, jurisdiction: String? = nil, capacity: [String: AcceleratorCapacity]? = nil,
                artifacts: [String: ObservedArtifact] = [:], deployments: [String: ObservedDeployment] = [:], traffic: [String: Int] = [:]) {
        self.reachable = reachable
        self.generation = generation
        self.jurisdiction = jurisdiction
        self.capacity = capacity
        self.artifacts = artifacts
        self.deployments = deployments
        self.traffic = traffic
    }

    enum CodingKeys: String, CodingKey {
        case reachable, generation, jurisdiction, capacity, artifacts, deployments, traffic
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reachable = try c.decodeIfPresent(Bool.self, forKey: .reachable) ?? true
        generation = try c.decodeIfPresent(Int.self, forKey: .generation) ?? 0
        jurisdiction = try c.decodeIfPresent(String.self, forKey: .jurisdiction)
        capacity = try c.decodeIfPresent([String: AcceleratorCapacity].self, forKey: .capacity)
        artifacts = try c.decodeIfPresent([String: ObservedArtifact].self, forKey: .artifacts) ?? [:]
        deployments = try c.decodeIfPresent([String: ObservedDeployment].self, forKey: .deployments) ?? [:]
        traffic = try c.decodeIfPresent([String: Int].self, forKey: .traffic) ?? [:]
    }
}

extension RegionObservation {
    /// The observation as compact JSON, keys in order: what `RegionObservation`'s `Codable`
    /// form decodes (an absent jurisdiction or capacity is left out, as the synthesized encoder
    /// leaves it). A region agent serves this after every change; Foundation's encoder was a
    /// large share of an agent's CPU under load.
    public func json() -> String {
        var w = JSONWriter(pretty: false)
        write(into: &w)
        return w.finish()
    }

    /// Keys in byte order, as every JSON Meridian writes has them.
    public func write(into w: inout JSONWriter) {
        w.beginObject()
        w.key("artifacts")
        w.object(artifacts) { w, a in
            w.beginObject()
            w.key("digest"); w.string(a.digest)
            w.endObject()
        }
        if let capacity {
            w.key("capacity")
            w.object(capacity) { w, c in
                w.beginObject()
                w.key("free"); w.int(c.free)
                w.key("total"); w.int(c.total)
                w.endObject()
            }
        }
        w.key("deployments")
        w.object(deployments) { w, d in d.write(into: &w) }
        w.key("generation"); w.int(generation)
        if let jurisdiction { w.key("jurisdiction"); w.string(jurisdiction) }
        w.key("reachable"); w.raw(reachable ? "true" : "false")
        w.key("traffic")
        w.object(traffic) { w, weight in w.int(weight) }
        w.endObject()
    }
}
