internal import ArgumentParser
internal import MeridianCore
internal import MeridianManifests

/// Where the manifests come from: a directory (the positional PATH), or a git repository at a
/// ref (`--repo --ref --path`), read through libgit2 without a checkout. Shared by every command
/// that reads manifests.
struct SourceOptions: ParsableArguments {
    @Argument(help: "The manifest directory (default: manifests). Not used with --repo.")
    var directory: String?

    @Option(help: ArgumentHelp("A git repository: a path, or a URL (file://, git://, https://, ssh://).", valueName: "path|url"))
    var repo: String?

    @Option(help: "With --repo: the branch, tag or commit to read.")
    var ref: String = "HEAD"

    @Option(name: .customLong("path"), help: ArgumentHelp("With --repo: the manifest directory inside the repository.", valueName: "subdir"))
    var subdirectory: String = "manifests"

    @Option(help: ArgumentHelp("With a remote --repo: where fetched repositories are cached (default: ~/.cache/meridian/git).", valueName: "dir"))
    var cacheDir: String?

    @Option(help: ArgumentHelp("With a remote --repo: seconds a fetch may take.", valueName: "seconds"))
    var fetchTimeout: Double = 60

    @Flag(help: "With --repo: accept only a commit signed by one of --trusted-keys.")
    var verifySignatures = false

    @Option(help: ArgumentHelp("SSH public keys (one per line) and armored OpenPGP public keys.", valueName: "file"))
    var trustedKeys: String?

    func validate() throws {
        if repo != nil && directory != nil {
            throw ValidationError("give either a directory or --repo, not both")
        }
        if verifySignatures && trustedKeys == nil {
            throw ValidationError("--verify-signatures needs --trusted-keys FILE")
        }
        if verifySignatures && repo == nil {
            throw ValidationError("--verify-signatures needs --repo: a directory has no signatures")
        }
        if fetchTimeout <= 0 {
            throw ValidationError("--fetch-timeout must be positive")
        }
    }

    /// What was loaded, and from where, for messages.
    struct Loaded {
        let result: LoadResult
        let label: String
        let commit: String?
        /// The manifest path as plans record it.
        let path: String
        /// The git source, for reading another commit of it (pull-request mode).
        let git: GitSource?

        var planSource: PlanSource { PlanSource(commit: commit, digest: result.digest, path: path) }

        /// The valid desired state, or exit 1 with every diagnostic. An empty source is refused
        /// unless `allowEmpty`: a broken checkout must not read as "delete everything".
        func desired(allowEmpty: Bool, nothing: String) throws -> LoadResult {
            Output.report(result.diagnostics)
            guard result.isValid else {
                Output.err("\(label): invalid manifests; nothing was \(nothing)")
                throw Exit.invalid
            }
            if result.state.isEmpty && !allowEmpty {
                Output.err("\(label): the source holds no manifests; refusing to remove everything (use --allow-empty if that is what you mean)")
                throw Exit.invalid
            }
            return result
        }
    }

    /// Loads the manifests. Environment problems (no such directory, repository, ref or
    /// network) exit 3; an invalid tree or an untrusted commit exits 1.
    /// `digest`: hash a directory's content too (what a plan records; git sources always have it).
    /// `reread`: the command will read a second revision through `Loaded.git` (a pull
    /// request's base), so parsed files are kept for it; otherwise they are not kept.
    func load(digest: Bool = false, reread: Bool = false) throws -> Loaded {
        guard let repo else {
            let path = directory ?? "manifests"
            do {
                return Loaded(result: try DirectorySource(root: path).load(digest: digest), label: path, commit: nil, path: path, git: nil)
            } catch {
                Output.err("meridian: \(error)")
                throw Exit.environment
            }
        }
        let source = GitSource(repository: repo, cacheDirectory: cacheDir, fetchTimeout: fetchTimeout,
                               parseCache: ParseCache(retains: reread))
        do throws(GitError) {
            let commit = try source.resolve(ref)
            if verifySignatures, let trustedKeys {
                let verified = try source.verify(commit: commit, trustedKeys: try TrustedKeys.load(path: trustedKeys))
                Output.err("meridian: commit \(commit.prefix(12)) is signed by trusted \(verified.format) key \(verified.key)")
            }
            let result = try source.load(commit: commit, path: subdirectory)
            ManifestLoader.returnFreedMemory()
            return Loaded(result: result, label: "\(repo)@\(ref) (\(commit.prefix(12))):\(subdirectory)", commit: commit,
                          path: subdirectory, git: source)
        } catch {
            Output.err("meridian: \(error)")
            if error.kind == .environment { throw Exit.environment }
            throw Exit.invalid
        }
    }
}
