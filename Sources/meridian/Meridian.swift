internal import ArgumentParser
internal import MeridianManifests

@main
struct Meridian: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meridian",
        abstract: "GitOps reconciler for multi-region AI platforms that keeps every artifact inside its residency fence.",
        version: "0.1.0",
        subcommands: [Validate.self, PlanCommand.self, Apply.self, Observe.self, Drill.self, Fence.self, Ledger.self, ControllerCommand.self, Agent.self]
    )

    static func main() async {
        ManifestLoader.keepLargeBlocksMapped()
        await main(nil)
    }
}

/// Exit codes of SPEC §6. Usage errors are ArgumentParser's own (64).
enum Exit {
    static let invalid = ExitCode(1)
    static let changes = ExitCode(2)
    static let environment = ExitCode(3)
    /// An argument that names nothing in valid manifests (SPEC §6: "other non-zero codes for
    /// usage … errors"; 1 is kept for invalid manifests, fence violations and failed applies).
    static let usage = ExitCode.validationFailure
}
