internal import ArgumentParser
internal import Foundation
internal import MeridianEngine

struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The evidence ledger: every apply, hash-chained (SPEC §5).",
        subcommands: [Verify.self, Export.self])

    /// Every entry, and the chain's verdict.
    static func read(_ state: StateOptions) async throws -> ([LedgerEntry], LedgerVerifier.Report) {
        let store = try await ControllerCommand.open(state)
        do {
            let (entries, head) = try await store.ledger()
            return (entries, LedgerVerifier.verify(entries, head: head))
        } catch {
            Output.err("meridian: \(error)")
            throw Exit.environment
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain: exit 0 when intact, 1 when an entry was altered, removed, inserted or cut off the end.")

        @OptionGroup var state: StateOptions

        func run() async throws {
            let (entries, report) = try await Ledger.read(state)
            if report.isIntact {
                Output.out(report.description + (entries.last.map { "; head \($0.hash)" } ?? ""))
            } else {
                Output.err(report.description)
                throw Exit.invalid
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write, as JSON Lines, the ledger entries that concern a jurisdiction's regions.",
            discussion: """
            Each line is {"seq", "prevHash", "hash", "entry"}; hash = sha256(prevHash + "\\n" + entry), with entry in
            canonical JSON (sorted keys, no spaces), so an auditor can check each entry without Meridian.
            """)

        @OptionGroup var state: StateOptions

        @Option(help: ArgumentHelp("The jurisdiction whose regions the entries must concern.", valueName: "j"))
        var jurisdiction: String

        @Option(help: ArgumentHelp("Write to a file instead of stdout.", valueName: "file"))
        var out: String?

        func run() async throws {
            let (entries, report) = try await Ledger.read(state)
            guard report.isIntact else {
                Output.err(report.description + "\nmeridian: refusing to export from a broken ledger")
                throw Exit.invalid
            }
            let lines = entries.filter { $0.decoded()?.concerns(jurisdiction: jurisdiction) ?? false }.map(\.exportLine)
            try Output.emit(lines.map { $0 + "\n" }.joined(), to: out)
            Output.err("meridian: \(lines.count) of \(entries.count) ledger entries concern jurisdiction \(jurisdiction)")
        }
    }
}
