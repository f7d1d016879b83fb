internal import ArgumentParser
internal import MeridianEngine

/// `--state URL`: where the journal and ledger live (SPEC §6).
struct StateOptions: ParsableArguments {
    @Option(name: .customLong("state"), help: ArgumentHelp("Meridian's state: sqlite:PATH or postgres://… (default: sqlite:.meridian/state.db).", valueName: "url"))
    var url: String = "sqlite:.meridian/state.db"

    func validate() throws {
        if !url.hasPrefix("sqlite:") && !url.hasPrefix("postgres://") && !url.hasPrefix("postgresql://") {
            throw ValidationError("--state must be sqlite:PATH or postgres://…")
        }
    }

    /// `exclusive`: the writer's lock (apply); reading the ledger does without it.
    func open(exclusive: Bool) throws -> any StateStore {
        guard url.hasPrefix("sqlite:") else {
            Output.err("meridian: PostgreSQL state belongs to the controller's replicas, which hold its lease (`meridian controller --state postgres://…`); apply and ledger use sqlite:PATH")
            throw Exit.environment
        }
        let path = String(url.dropFirst("sqlite:".count))
        do { return try SQLiteStateStore(path: path, exclusive: exclusive) } catch {
            Output.err("meridian: \(error)")
            throw Exit.environment
        }
    }
}
