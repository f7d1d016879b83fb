public import MeridianCore

/// A region simulated in software: what the local adapter keeps in a directory and the region
/// agent keeps in SQLite. It holds the observation the region reports, what each deployment
/// holds of its accelerators, and which idempotency keys it has executed.
public struct SimulatedRegion: Sendable, Hashable, Codable {
    public struct Execution: Sendable, Hashable, Codable {
        /// How many times the command had an effect: 1, or the region broke its promise.
        public var applied: Int
        /// How many times the key was received (retries and replays included).
        public var requests: Int
        public var generation: Int

        public init(applied: Int, requests: Int, generation: Int) {
            self.applied = applied
            self.requests = requests
            self.generation = generation
        }
    }

    public var name: String
    public var observation: RegionObservation
    /// placement → accelerators its deployment holds.
    public var held: [String: AcceleratorDemand]
    public var executions: [String: Execution]
    /// Keys in the order first seen, so the oldest are forgotten first.
    public var keyOrder: [String]

    /// Keys remembered per region; a replay older than this many commands is executed again,
    /// which is harmless because every command sets state rather than adding to it.
    public static let rememberedKeys = 20_000

    /// A new region: empty, reachable, attesting its declared jurisdiction, all capacity free.
    public init(name: String, jurisdiction: String, accelerators: [String: Int]) {
        self.name = name
        var capacity: [String: AcceleratorCapacity] = [:]
        for (type, n) in accelerators { capacity[type] = AcceleratorCapacity(total: n, free: n) }
        observation = RegionObservation(reachable: true, generation: 0, jurisdiction: jurisdiction, capacity: capacity)
        held = [:]
        executions = [:]
        keyOrder = []
    }

    /// Executes `command` once per key. `ready`: whether a deployment is ready as soon as it is made
    /// (the agent's `--ready-after` delays it).
    public mutating func execute(_ command: RegionCommand, key: String, readyAtOnce: Bool = true) throws(AdapterError) -> ExecutionResult {
        if var seen = executions[key] {
            seen.requests += 1
            executions[key] = seen
            return ExecutionResult(generation: seen.generation, replayed: true)
        }
        try applyOnce(command, readyAtOnce: readyAtOnce)
        executions[key] = Execution(applied: 1, requests: 1, generation: observation.generation)
        keyOrder.append(key)
        if keyOrder.count > Self.rememberedKeys {
            let drop = keyOrder.count - Self.rememberedKeys
            for k in keyOrder.prefix(drop) { executions.removeValue(forKey: k) }
            keyOrder.removeFirst(drop)
        }
        return ExecutionResult(generation: observation.generation, replayed: false,
                               deployment: command.type == .deploy ? command.placement.flatMap { observation.deployments[$0] } : nil)
    }

    /// Applies `command` with no idempotency bookkeeping (the agent keeps its keys in SQLite);
    /// the generation grows by one when the observation changed. A command changes at most its
    /// artifact's copy, its placement's deployment and traffic, and the capacity, so only those
    /// are compared: a copy of the whole observation, kept while the region changes, would make
    /// the change copy every dictionary it touches.
    public mutating func applyOnce(_ command: RegionCommand, readyAtOnce: Bool = true) throws(AdapterError) {
        let before = touched(by: command)
        try apply(command, readyAtOnce: readyAtOnce)
        if touched(by: command) != before { observation.generation += 1 }
    }

    /// What of the observation `command` can change.
    private struct Touched: Equatable {
        var copy: ObservedArtifact?
        var deployment: ObservedDeployment?
        var traffic: Int?
        var capacity: [String: AcceleratorCapacity]?
    }

    private func touched(by c: RegionCommand) -> Touched {
        Touched(copy: c.artifact.flatMap { observation.artifacts[$0] }, deployment: c.placement.flatMap { observation.deployments[$0] },
                traffic: c.placement.flatMap { observation.traffic[$0] }, capacity: observation.capacity)
    }

    private var jurisdiction: String { observation.jurisdiction ?? "(none)" }

    /// Defence in depth: a region refuses to hold or serve what its fence keeps out, whatever the
    /// plan says.
    private func requireInsideFence(_ c: RegionCommand, _ what: String) throws(AdapterError) {
        guard let fence = c.fence else {
            throw .permanent("refused: \(c.type.rawValue) of \(what) in \(name) carries no fence")
        }
        guard let j = observation.jurisdiction, fence.contains(j) else {
            throw .permanent("refused by \(name): \(what) may live only in [\(fence.joined(separator: ", "))], and this region is in \(jurisdiction)")
        }
    }

    private mutating func release(_ placement: String) {
        if let h = held.removeValue(forKey: placement) { observation.capacity?[h.type]?.free += h.count }
        observation.deployments.removeValue(forKey: placement)
        observation.traffic.removeValue(forKey: placement)
    }

    private mutating func apply(_ c: RegionCommand, readyAtOnce: Bool) throws(AdapterError) {
        guard c.region == name else { throw .permanent("a command for \(c.region) was sent to \(name)") }
        switch c.type {
        case .purge:
            if let p = c.placement { release(p) }
            if let a = c.artifact { observation.artifacts.removeValue(forKey: a) }
        case .undeploy:
            guard let p = c.placement else { throw .permanent("undeploy without a placement") }
            release(p)
        case .deleteArtifact:
            guard let a = c.artifact else { throw .permanent("delete-artifact without an artifact") }
            observation.artifacts.removeValue(forKey: a)
        case .stageArtifact:
            guard let a = c.artifact, let digest = c.digest else { throw .permanent("stage-artifact needs an artifact and its digest") }
            try requireInsideFence(c, "artifact \(a)")
            observation.artifacts[a] = ObservedArtifact(digest: digest)
        case .deploy:
            guard let p = c.placement, let m = c.model, let v = c.version, let n = c.replicas, n >= 0 else {
                throw .permanent("deploy needs a placement, model, version and replicas")
            }
            try requireInsideFence(c, "model \(m)")
            var use: AcceleratorDemand?
            if let acc = c.accelerator {
                guard let cap = observation.capacity?[acc.type] else {
                    throw .permanent("\(name) has no \(acc.type) accelerators")
                }
                let mine = held[p].map { $0.type == acc.type ? $0.count : 0 } ?? 0
                let need = n * acc.count
                if need > cap.free + mine {
                    throw .transient("\(name) has \(cap.free + mine) \(acc.type) free for \(p), which needs \(need)")
                }
                use = AcceleratorDemand(type: acc.type, count: need)
            }
            if let h = held.removeValue(forKey: p) { observation.capacity?[h.type]?.free += h.count }
            if let use {
                observation.capacity?[use.type]?.free -= use.count
                held[p] = use
            }
            let old = observation.deployments[p]
            let unchanged = old.map { $0.model == m && $0.version == v && $0.replicas == n } ?? false
            let ready = readyAtOnce ? n : (unchanged ? old?.ready ?? 0 : 0)
            observation.deployments[p] = ObservedDeployment(model: m, version: v, replicas: n, ready: ready)
        case .setTraffic:
            guard let p = c.placement, let w = c.weight, w >= 0 else { throw .permanent("set-traffic needs a placement and a weight") }
            if w == 0 {
                observation.traffic.removeValue(forKey: p)
                return
            }
            try requireInsideFence(c, "traffic of \(p)")
            guard let d = observation.deployments[p], d.ready >= d.replicas, d.replicas > 0 else {
                throw .transient("\(name) will not take traffic of \(p): its deployment is not ready")
            }
            observation.traffic[p] = w
        }
    }

    /// Marks deployments ready (the agent's delayed readiness).
    public mutating func markReady(_ placement: String) {
        guard var d = observation.deployments[placement], d.ready != d.replicas else { return }
        d.ready = d.replicas
        observation.deployments[placement] = d
        observation.generation += 1
    }
}
