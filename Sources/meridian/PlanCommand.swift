internal import ArgumentParser
internal import Foundation
internal import MeridianCore
internal import MeridianManifests
internal import MeridianAdapters
internal import MeridianEngine

enum PlanFormat: String, ExpressibleByArgument, CaseIterable {
    case text, markdown, json
}

/// What `plan` and `drill` share: the source, the observed state, the output.
struct PlanningOptions: ParsableArguments {
    @Option(help: ArgumentHelp("An observed-state snapshot (SPEC §3) to plan against, instead of observing the regions.", valueName: "file"))
    var observed: String?

    @Option(name: .customLong("format"), help: "Output format (default: text; json when --out is given, which is what `apply --plan` reads; markdown with --base, the pull-request comment).")
    var formatOption: PlanFormat?

    var format: PlanFormat { format(pullRequest: false) }

    /// A pull request's plan is a comment (SPEC §6: "as a markdown comment"), never a saved plan
    /// for `apply --plan`: it starts from the state the base converges to, not from the regions.
    func format(pullRequest: Bool) -> PlanFormat { formatOption ?? (pullRequest ? .markdown : out != nil ? .json : .text) }

    @Option(help: ArgumentHelp("Write the plan to a file instead of stdout (a saved plan for `apply --plan`).", valueName: "file"))
    var out: String?

    @Flag(help: "Plan even when the source holds no manifests (a broken checkout must not read as 'delete everything').")
    var allowEmpty = false

    /// The valid desired state, or exit 1 with every diagnostic.
    func desired(_ loaded: SourceOptions.Loaded) throws -> LoadResult {
        try loaded.desired(allowEmpty: allowEmpty, nothing: "planned")
    }

    typealias Prefetched = Task<Result<ObservedState, ObservedSnapshot.Error>, Never>

    /// Starts reading the `--observed` snapshot on another thread while the manifests load: the
    /// two are independent, and the load leaves a core idle while it reads blobs and indexes.
    /// Nil when the regions are observed live, which needs the desired state first. Its errors
    /// are reported by `observe`, after the manifests are known to be valid, as before.
    func prefetch() -> Prefetched? {
        guard let observed else { return nil }
        return Task.detached { Result { () throws(ObservedSnapshot.Error) in try ObservedSnapshot.load(path: observed) } }
    }

    func observe(_ state: DesiredState, prefetched: Prefetched? = nil) async throws -> ObservedState {
        if let observed {
            let snapshot: ObservedState
            do { snapshot = try await prefetched?.value.get() ?? ObservedSnapshot.load(path: observed) } catch {
                Output.err("meridian: \(error)")
                throw Exit.environment
            }
            for w in Observation.undeclaredRegions(in: snapshot, state: state) { Output.err("meridian: warning: \(observed): \(w)") }
            return snapshot
        }
        return await Observation.observe(RegionAdapters(for: state, environment: ProcessInfo.processInfo.environment))
    }

    func emit(_ text: String) throws { try Output.emit(text, to: out) }

    /// Renders and writes the plan; JSON is written as it is made (a 100,000-object plan's JSON
    /// is tens of megabytes).
    func output(_ plan: Plan, _ result: LoadResult, violations: [PlanVerifier.Violation], drills: [DrillResult] = [],
                title: String = "Meridian plan", preface: [String] = [], pullRequest: Bool = false) throws {
        let format = format(pullRequest: pullRequest)
        if format == .json {
            try Output.emit(to: out) { write in try PlanJSON.render(plan) { bytes in try bytes.withUnsafeBytes(write) } }
        } else {
            try emit(render(plan, result, format: format, violations: violations, drills: drills, title: title, preface: preface))
        }
    }

    /// Plans and re-checks every action against the fences; a violation is never emitted.
    func plan(_ result: LoadResult, observed: ObservedState, source: PlanSource, failed: Set<RegionName> = []) throws -> (Plan, [PlanVerifier.Violation]) {
        let plan = PlanParts.plan(result.state, fences: result.fences, observed: observed, source: source,
                                  options: Planner.Options(failedRegions: failed))
        let violations = PlanCheck.verify(plan, state: result.state, fences: result.fences, observed: observed)
        for v in violations { Output.err("meridian: error: [fence.plan] \(v)") }
        return (plan, violations)
    }

    func render(_ plan: Plan, _ result: LoadResult, format: PlanFormat, violations: [PlanVerifier.Violation], drills: [DrillResult] = [],
                title: String = "Meridian plan", preface: [String] = []) -> String {
        switch format {
        case .json: return PlanJSON.render(plan)
        case .markdown: return PlanMarkdown.render(plan, state: result.state, fences: result.fences, violations: violations,
                                                   drills: drills, title: title, preface: preface)
        case .text:
            let tty = out == nil && isatty(STDOUT_FILENO) == 1
            let colour = tty && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
            // The preface (a pull request's base and head) as its own lines, before the plan.
            var text = preface.map { $0 + "\n" }.joined() + (preface.isEmpty ? "" : "\n") + PlanText.render(plan, colour: colour)
            for d in drills where !d.unserved.isEmpty {
                text += "\nIf \(d.failed.map(\.rawValue).joined(separator: ", ")) fails:\n"
                for u in d.unserved { text += "  \(u.placement): \(u.reason)\n" }
            }
            return text
        }
    }
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compute the ordered actions that take the regions to the manifests, and prove them against the fences.",
        discussion: """
        Exit codes: 0 success (with --detailed-exitcode: no changes); 1 invalid manifests, a fence violation;
        2 with --detailed-exitcode, a valid plan with changes; 3 an environment problem.
        With --base REF (and --repo), plans what the change from REF to --ref does, checks the fences on both
        sides, and drills every single-region failure, naming a change that leaves a placement with no
        in-fence failover: the pull-request comment, in markdown unless --format says otherwise.
        """)

    @OptionGroup var source: SourceOptions
    @OptionGroup var planning: PlanningOptions

    @Flag(help: "Exit 2 when the plan has changes, 0 when it has none (as Terraform does).")
    var detailedExitcode = false

    @Option(help: ArgumentHelp("Pull-request mode: the base ref of the change (needs --repo).", valueName: "ref"))
    var base: String?

    func validate() throws {
        if base != nil && source.repo == nil { throw ValidationError("--base needs --repo: a pull request compares two commits") }
    }

    func run() async throws {
        let prefetched = planning.prefetch()
        let loaded = try source.load(digest: true, reread: base != nil)
        Output.keepUntilExit(loaded.result, loaded.git)
        let head = try planning.desired(loaded)
        if let base {
            try await pullRequest(loaded: loaded, head: head, baseRef: base, prefetched: prefetched)
            return
        }
        let observed = try await planning.observe(head.state, prefetched: prefetched)
        let (plan, violations) = try planning.plan(head, observed: observed, source: loaded.planSource)
        Output.keepUntilExit(observed, plan)
        guard violations.isEmpty else { throw Exit.invalid }
        try planning.output(plan, head, violations: violations)
        if detailedExitcode && !plan.isEmpty { throw Exit.changes }
    }

    /// What the change from `baseRef` to the head does, starting from the state the base converges to.
    private func pullRequest(loaded: SourceOptions.Loaded, head: LoadResult, baseRef: String, prefetched: PlanningOptions.Prefetched?) async throws {
        guard let git = loaded.git else { throw Exit.environment }
        let baseResult: LoadResult
        let baseCommit: String
        do throws(GitError) {
            baseCommit = try git.resolve(baseRef)
            baseResult = try git.load(commit: baseCommit, path: source.subdirectory)
        } catch {
            Output.err("meridian: \(error)")
            if error.kind == .environment { throw Exit.environment }
            throw Exit.invalid
        }
        var preface: [String] = []
        if !baseResult.isValid {
            preface.append("ℹ️ The base `\(baseRef)` (`\(baseCommit.prefix(12))`) does not validate (\(baseResult.diagnostics.count) problem(s)); the plan starts from the observed state.")
        }
        let observed = try await planning.observe(head.state, prefetched: prefetched)
        let baseSource = PlanSource(commit: baseCommit, digest: baseResult.digest, path: source.subdirectory)
        // The fleet as the base would leave it, then what the head changes from there.
        var start = observed
        if let baseState = baseResult.validState {
            let basePlan = PlanParts.plan(baseState, fences: baseResult.fences, observed: observed, source: baseSource)
            start = PlanSimulator.apply(basePlan, to: observed, state: baseState)
        }
        let (plan, violations) = try planning.plan(head, observed: start, source: loaded.planSource)
        preface.insert("Change `\(baseRef)` (`\(baseCommit.prefix(12))`) → `\(source.ref)` (`\(loaded.commit?.prefix(12) ?? "?")`); fences checked on both sides.", at: 0)

        // Drill every single-region failure on both sides (`Planner.drillEach`: what each
        // failure leaves unserved, without planning the fleet once per region).
        let headConverged = PlanSimulator.apply(plan, to: start, state: head.state)
        let regions = head.state.regionList.map(\.name)
        // The two sides are independent: one on each core.
        let baseObserved = start
        nonisolated(unsafe) var headDrills: [[Unserved]] = []
        nonisolated(unsafe) var baseDrills: [[Unserved]]?
        DispatchQueue.concurrentPerform(iterations: 2) { side in
            if side == 0 {
                headDrills = Planner.drillEach(head.state, fences: head.fences, observed: headConverged, regions: regions)
            } else {
                baseDrills = baseResult.validState.map { Planner.drillEach($0, fences: baseResult.fences, observed: baseObserved, regions: regions) }
            }
        }
        var drills: [DrillResult] = []
        for (i, region) in regions.enumerated() {
            let degraded = headDrills[i]
            var regressions: [PlacementName] = []
            if let baseDrills {
                let before = Set(baseDrills[i].map(\.placement))
                regressions = Set(degraded.map(\.placement)).subtracting(before).sorted()
            }
            drills.append(DrillResult(failed: [region], unserved: degraded, regressions: regressions))
        }
        try planning.output(plan, head, violations: violations, drills: drills, title: "Meridian plan for this change", preface: preface,
                            pullRequest: true)
        guard violations.isEmpty else { throw Exit.invalid }
        if detailedExitcode && !plan.isEmpty { throw Exit.changes }
    }
}

struct Drill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What-if: the plan, and the placements left unserved, if these regions went down.")

    @Option(name: .customLong("fail"), help: ArgumentHelp("Regions to fail, comma-separated.", valueName: "region[,region]"))
    var fail: String

    @OptionGroup var source: SourceOptions
    @OptionGroup var planning: PlanningOptions

    func run() async throws {
        let prefetched = planning.prefetch()
        let loaded = try source.load(digest: true)
        Output.keepUntilExit(loaded.result, loaded.git)
        let result = try planning.desired(loaded)
        let failed = Set(fail.split(separator: ",").map { RegionName(String($0).trimmingCharacters(in: .whitespaces)) })
        let unknown = failed.filter { result.state.regions[$0] == nil }.sorted()
        guard unknown.isEmpty else {
            Output.err("meridian: no such region: \(unknown.map(\.rawValue).joined(separator: ", "))")
            throw Exit.usage
        }
        let observed = try await planning.observe(result.state, prefetched: prefetched)
        let (plan, violations) = try planning.plan(result, observed: observed, source: loaded.planSource, failed: failed)
        Output.keepUntilExit(observed, plan)
        guard violations.isEmpty else { throw Exit.invalid }
        let drill = DrillResult(failed: failed.sorted(), unserved: plan.unserved)
        let title = "Drill: \(failed.sorted().map(\.rawValue).joined(separator: ", ")) down"
        try planning.output(plan, result, violations: violations, drills: planning.format == .text ? [] : [drill], title: title)
    }
}
