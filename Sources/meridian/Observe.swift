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
