internal import ArgumentParser
internal import Foundation
internal import MeridianAdapters
internal import MeridianCore
internal import MeridianManifests

enum Observation {
    /// Observes every region through its adapter; regions that cannot be reached are reported
    /// unreachable, with a warning on stderr.
    static func observe(_ adapters: RegionAdapters) async -> ObservedState {
        let (state, warnings) = await adapters.observeAll()
        for w in warnings { Output.err("meridian: warning: \(w)") }
        return state
    }

    /// A snapshot may hold regions no manifest declares (one taken before a region's manifest was
    /// removed, or written by another tool). Meridian has no adapter for such a region, so it
    /// plans nothing there; what it holds is named, so that a copy left in a region nobody
    /// manages (outside every fence: its jurisdiction is unknown) is not passed over in silence.
    static func undeclaredRegions(in observed: ObservedState, state: DesiredState) -> [String] {
        observed.regions.keys.filter { state.regions[RegionName($0)] == nil }.sorted().map { name in
            let o = observed.regions[name]!
            let artifacts = o.artifacts.keys.sorted()
            var holds: [String] = []
            if !artifacts.isEmpty {
                let shown = artifacts.prefix(5).joined(separator: ", ") + (artifacts.count > 5 ? ", …" : "")
                holds.append("\(artifacts.count) artifact\(artifacts.count == 1 ? "" : "s") (\(shown))")
            }
            if !o.deployments.isEmpty { holds.append("\(o.deployments.count) deployment\(o.deployments.count == 1 ? "" : "s")") }
            if !o.traffic.isEmpty { holds.append("traffic for \(o.traffic.count) placement\(o.traffic.count == 1 ? "" : "s")") }
            let what = holds.isEmpty ? "it holds nothing" : "what it holds stays as it is: " + holds.joined(separator: ", ")
            return "region '\(name)' is observed but no manifest declares it, so Meridian cannot reach it and plans nothing there; \(what)"
        }
    }
}

struct Observe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Observe every region through its adapter and write the observed snapshot (SPEC §3).",
        discussion: "Regions that cannot be reached appear with reachable: false, and a warning on stderr says why.")

    @OptionGroup var source: SourceOptions

    @Option(help: ArgumentHelp("Write the snapshot to a file instead of stdout.", valueName: "file"))
    var out: String?

    func run() async throws {
        let loaded = try source.load()
        Output.report(loaded.result.diagnostics)
        guard loaded.result.isValid else {
            Output.err("\(loaded.label): invalid manifests; the regions they declare cannot be trusted")
            throw Exit.invalid
        }
        let observed = await Observation.observe(RegionAdapters(for: loaded.result.state, environment: ProcessInfo.processInfo.environment))
        try Output.emit(ObservedSnapshot.encode(observed), to: out)
    }
}
