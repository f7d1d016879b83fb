internal import ArgumentParser
internal import MeridianCore
internal import MeridianManifests

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and check manifests; every problem is printed as path:line:col: error: [rule] message.")

    @OptionGroup var source: SourceOptions

    func run() throws {
        let loaded = try source.load()
        Output.keepUntilExit(loaded.result, loaded.git)
        let result = loaded.result
        let path = loaded.label
        Output.report(result.diagnostics)
        let errors = result.diagnostics.filter { $0.severity == .error }.count
        guard errors == 0 else {
            Output.err("\(path): \(errors) error\(errors == 1 ? "" : "s") in \(result.fileCount) file\(result.fileCount == 1 ? "" : "s")")
            throw Exit.invalid
        }
        let counts = result.state.counts.filter { $0.1 > 0 }.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")
        Output.out("\(path): valid (\(result.fileCount) files, \(result.state.objectCount) objects: \(counts.isEmpty ? "none" : counts))")
    }
}
