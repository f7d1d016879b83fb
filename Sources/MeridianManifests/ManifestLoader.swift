public import MeridianCore

/// One manifest file's bytes, as a source hands them over.
public struct ManifestFile: Sendable {
    /// The path shown in diagnostics (`manifests/regions/eu.yaml`, or `<sha>:path` for git).
    public let path: String
    public let bytes: [UInt8]

    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }
}

/// What loading a revision produced. The state is usable only when `isValid`: a parse error
/// anywhere invalidates the whole revision, because a missing document reads exactly like
/// "delete this".
public struct LoadResult: Sendable {
    public let state: DesiredState
    /// Effective fences of `state`, computed once and shared by every later step.
    public let fences: FenceAnalysis
    public let diagnostics: [Diagnostic]
    public let fileCount: Int

    public var isValid: Bool { !diagnostics.hasErrors }
    /// The desired state, or nil when anything in the revision is invalid.
    public var validState: DesiredState? { isValid ? state : nil }
}

public enum ManifestLoader {
    /// Whether a path is a manifest file by its name (SPEC §1: `*.yaml` and `*.yml`).
    public static func isManifestPath(_ path: String) -> Bool {
        path.hasSuffix(".yaml") || path.hasSuffix(".yml")
    }

    /// Composes and decodes one file. Pure: the unit a parse cache keys by blob id and the
    /// unit a parallel loader spreads over cores.
    public static func parse(_ file: ManifestFile, limits: YAMLLimits = YAMLLimits()) -> ParsedFile {
        let (stream, yamlDiagnostics) = YAMLComposer.compose(file.bytes, file: file.path, limits: limits)
        // A fatal YAML problem leaves a partial stream; decoding it would only add noise.
        if yamlDiagnostics.contains(where: { $0.rule == .yamlSyntax || $0.rule == .yamlEncoding || $0.rule == .yamlDepth
            || $0.rule == .yamlAliasLimit || $0.rule == .yamlAlias || $0.rule == .yamlSize }) {
            return ParsedFile(objects: [], diagnostics: yamlDiagnostics)
        }
        var decoder = ManifestDecoder(stream: stream, file: file.path)
        let objects = decoder.decodeAll()
        return ParsedFile(objects: objects, diagnostics: yamlDiagnostics + decoder.diagnostics)
    }

    /// Loads a revision from its files (already in path order) and runs every check.
    public static func load(_ files: [ManifestFile], sourceDiagnostics: [Diagnostic] = []) -> LoadResult {
        let parsed = files.map { parse($0) }
        return assemble(parsed, fileCount: files.count, sourceDiagnostics: sourceDiagnostics)
    }

    public static func assemble(_ parsed: [ParsedFile], fileCount: Int, sourceDiagnostics: [Diagnostic] = []) -> LoadResult {
        var diagnostics = sourceDiagnostics
        var objects: [ManifestObject] = []
        for file in parsed {
            diagnostics += file.diagnostics
            objects += file.objects
        }
        let (state, stateDiagnostics) = DesiredState.build(objects)
        diagnostics += stateDiagnostics
        // Fence checks run even when other rules failed, so one run shows every problem.
        let fences = FenceAnalysis(state)
        diagnostics += FenceCheck.check(fences)
        return LoadResult(state: state, fences: fences, diagnostics: Array(Set(diagnostics)).sorted(), fileCount: fileCount)
    }
}

public struct ParsedFile: Sendable {
    public let objects: [ManifestObject]
    public let diagnostics: [Diagnostic]
}
