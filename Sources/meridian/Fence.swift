internal import ArgumentParser
internal import MeridianCore
internal import MeridianManifests

struct Fence: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Residency fences.",
        subcommands: [Explain.self])

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how an artifact's effective fence is made, and whether a region is inside it.",
            discussion: """
            Prints the lineage tree with every fence that applies (by name or by label selector) and the
            set each step leaves. With --region, says whether the artifact may be stored in that region
            (and every region its storage replicates to) and, if not, the chain that excludes it.
            Exits 1 when the region is not allowed or the manifests are invalid.
            """)

        @Argument(help: "The artifact to explain.")
        var artifact: String

        @Option(help: "A region to test against the artifact's effective fence.")
        var region: String?

        @OptionGroup var source: SourceOptions

        func run() throws {
            let loaded = try source.load()
            let result = loaded.result
            let path = loaded.label
            guard let explanation = FenceExplanation(result.fences, artifact: ArtifactName(artifact), region: region.map(RegionName.init)) else {
                Output.err("meridian: no artifact '\(artifact)' in \(path)")
                Output.report(result.diagnostics)
                // Missing because the manifests are invalid (exit 1), or simply not declared (a usage error).
                throw result.isValid ? Exit.usage : Exit.invalid
            }
            Output.out(explanation.text)
            let errors = result.diagnostics.filter { $0.severity == .error }.count
            if errors > 0 {
                Output.err("\(path): the manifests have \(errors) error\(errors == 1 ? "" : "s"); `meridian validate \(path)` lists them")
            }
            if explanation.regionAllowed == false || errors > 0 { throw Exit.invalid }
        }
    }
}
