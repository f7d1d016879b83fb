public import MeridianCore
internal import Foundation

/// Builds each region's adapter from its manifest, and observes a whole fleet.
public struct RegionAdapters: Sendable {
    public let adapters: [RegionName: any RegionAdapter]
    /// Problems found while building adapters (a missing token, say); those regions observe as unreachable.
    public let problems: [RegionName: String]

    public init(adapters: [RegionName: any RegionAdapter], problems: [RegionName: String] = [:]) {
        self.adapters = adapters
        self.problems = problems
    }

    /// `workingDirectory`: where relative local paths and exec commands are resolved.
    /// `environment`: where http adapters find their tokens (`tokenEnv`).
    public init(for state: DesiredState, workingDirectory: String = ".", environment: [String: String],
                requestTimeout: Double = 15, execTimeout: Double = 30) {
        var adapters: [RegionName: any RegionAdapter] = [:]
        var problems: [RegionName: String] = [:]
        for region in state.regionList {
            var accelerators: [String: Int] = [:]
            for a in region.accelerators { accelerators[a.type, default: 0] += a.count }
            switch region.adapter {
            case .local(let path):
                let dir = path ?? ".meridian/regions/\(region.name)"
                let full = dir.hasPrefix("/") ? dir : workingDirectory + "/" + dir
                adapters[region.name] = LocalRegionAdapter(region: region.name, directory: full,
                                                           jurisdiction: region.jurisdiction.value.rawValue, accelerators: accelerators)
            case .http(let url, let tokenEnv):
                var token: String?
                if let tokenEnv {
                    token = environment[tokenEnv]
                    if token == nil || token!.isEmpty {
                        problems[region.name] = "\(region.name): environment variable \(tokenEnv) (the agent's token) is not set"
                        continue
                    }
                }
                adapters[region.name] = HTTPRegionAdapter(region: region.name, url: url, token: token, requestTimeout: requestTimeout)
            case .exec(let command):
                adapters[region.name] = ExecRegionAdapter(region: region.name, command: command, timeout: execTimeout,
                                                          workingDirectory: workingDirectory)
            }
        }
        self.adapters = adapters
        self.problems = problems
    }

    /// One region's observation, or why there is none. A plain struct: a child task's result
    /// holding a typed-throws `Result` crashed the optimised build (Swift 6.3.1, task group offer).
    struct Outcome: Sendable {
        let region: RegionName
        let observation: RegionObservation?
        let error: String?
    }

    static func observe(_ adapter: any RegionAdapter) async -> Outcome {
        do throws(AdapterError) {
            return Outcome(region: adapter.region, observation: try await adapter.observe(), error: nil)
        } catch {
            return Outcome(region: adapter.region, observation: nil, error: error.message)
        }
    }

    public subscript(_ region: RegionName) -> (any RegionAdapter)? { adapters[region] }

    /// Observes every region at once (at most `parallelism` at a time). A region that cannot be
    /// observed is reported as unreachable, with a warning saying why.
    public func observeAll(parallelism: Int = 16) async -> (ObservedState, [String]) {
        var observed = ObservedState()
        var warnings: [String] = []
        for (r, why) in problems.sorted(by: { $0.key < $1.key }) {
            observed.regions[r.rawValue] = RegionObservation(reachable: false)
            warnings.append("\(why); treating the region as unreachable")
        }
        let names = adapters.keys.sorted()
        await withTaskGroup(of: Outcome.self) { group in
            var next = 0
            func launch() {
                guard next < names.count else { return }
                let name = names[next]
                next += 1
                let adapter = adapters[name]!
                group.addTask { await Self.observe(adapter) }
            }
            for _ in 0 ..< max(1, parallelism) { launch() }
            for await outcome in group {
                if let o = outcome.observation {
                    observed.regions[outcome.region.rawValue] = o
                } else {
                    observed.regions[outcome.region.rawValue] = RegionObservation(reachable: false)
                    warnings.append("\(outcome.region): cannot be observed (\(outcome.error ?? "?")); treating the region as unreachable")
                }
                launch()
            }
        }
        warnings.sort()
        return (observed, warnings)
    }
}
