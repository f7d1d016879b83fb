/// The structural checks (SPEC §1) in eight groups, one per kind of object checked. A group
/// reads only the tables its `inputs` name: it is run on the state with every other table
/// empty (`DesiredState.only`), so a group that read anything else would report references
/// missing on every fleet, and the checks of every test would show it.
///
/// A group's diagnostics are therefore a function of its input tables alone, and a load may
/// take them over from the load before when each of those tables holds the same objects
/// (`ObjectTable.holdsSameObjects`: a table lent by the index is the same storage and costs
/// nothing to compare). A commit that edits placements runs the placement checks again, and
/// takes over the jurisdictions', regions' and artifacts' (the artifacts' lineage walk is most
/// of a large fleet's structural checks).
public struct StructuralChecks: Sendable {
    public enum Group: Int, CaseIterable, Sendable {
        case jurisdictions, regions, artifacts, fences, models, topologies, guardrails, placements

        /// The tables the group reads.
        public var inputs: KindSet {
            switch self {
            case .jurisdictions: [KindSet(.jurisdiction)]
            case .regions: [KindSet(.region), KindSet(.jurisdiction)]
            case .artifacts: [KindSet(.artifact), KindSet(.region), KindSet(.residencyFence)]
            case .fences: [KindSet(.residencyFence), KindSet(.jurisdiction)]
            case .models: [KindSet(.model), KindSet(.artifact)]
            case .topologies: [KindSet(.topology), KindSet(.region)]
            case .guardrails: [KindSet(.guardrail), KindSet(.model)]
            case .placements: [KindSet(.placement), KindSet(.model), KindSet(.topology), KindSet(.guardrail)]
            }
        }

        public var half: StructuralHalf { rawValue <= Group.artifacts.rawValue ? .kindsAndLineage : .references }
    }

    /// One half's groups, each run, taken over or patched.
    public struct Half: Sendable {
        fileprivate let diagnostics: [(Group, ObjectDiagnostics)]
        /// The groups taken over from the earlier checks.
        public let reused: [Group]
        /// The groups patched: run for the objects a patched table replaced alone.
        public let patched: [Group]
    }

    /// The state the checks were made on.
    public let state: DesiredState
    /// Each group's diagnostics, by `Group.rawValue`.
    private let byGroup: [ObjectDiagnostics]
    /// The groups taken over from the earlier checks.
    public let reused: [Group]
    /// The groups patched from the earlier checks: the placements' checks, run for the
    /// placements a patched table replaced alone, when the other tables they read hold the
    /// same objects (see `ObjectDiagnostics`).
    public let patched: [Group]

    /// Every group of both halves, run on `state` (or taken over) by `half(_:of:earlier:)`.
    public init(_ state: DesiredState, _ first: Half, _ second: Half) {
        var byGroup = [ObjectDiagnostics](repeating: ObjectDiagnostics([]), count: Group.allCases.count)
        var seen = Set<Group>()
        for (group, diagnostics) in first.diagnostics + second.diagnostics {
            byGroup[group.rawValue] = diagnostics
            seen.insert(group)
        }
        precondition(seen.count == Group.allCases.count, "structural checks: a half is missing")
        self.state = state
        self.byGroup = byGroup
        reused = (first.reused + second.reused).sorted { $0.rawValue < $1.rawValue }
        patched = (first.patched + second.patched).sorted { $0.rawValue < $1.rawValue }
    }

    /// Both halves on one thread.
    public init(_ state: DesiredState, earlier: StructuralChecks? = nil) {
        self.init(state, Self.half(.kindsAndLineage, of: state, earlier: earlier), Self.half(.references, of: state, earlier: earlier))
    }

    /// Every group's diagnostics, in group order.
    public var diagnostics: [Diagnostic] { byGroup.flatMap(\.diagnostics) }

    /// One group's diagnostics.
    public func diagnostics(of group: Group) -> [Diagnostic] { byGroup[group.rawValue].diagnostics }

    /// The checks of one group, run on exactly `state`. A load runs them on
    /// `state.only(group.inputs)`; on the whole state they must say the same.
    public static func run(_ group: Group, on state: DesiredState) -> [Diagnostic] { StructuralValidator.run(group, on: state) }

    /// The groups of `half`: each taken over from `earlier` when every table it reads holds
    /// the same objects in `state` as in `earlier.state`; the placements' group patched when
    /// every table it reads but the placements does, and the placements' table was patched
    /// from the earlier one (run for the replaced placements alone); else run on `state`.
    public static func half(_ half: StructuralHalf, of state: DesiredState, earlier: StructuralChecks?) -> Half {
        var out: [(Group, ObjectDiagnostics)] = []
        var reused: [Group] = [], patched: [Group] = []
        var tables = earlier.map { SameTables(state, $0.state) }
        for group in Group.allCases where group.half == half {
            if let earlier, tables!.hold(group.inputs) {
                out.append((group, earlier.byGroup[group.rawValue]))
                reused.append(group)
                continue
            }
            let only = state.only(group.inputs)
            if group == .placements, let earlier, tables!.hold(group.inputs.subtracting(KindSet(.placement))),
               let replaced = state.placements.changedPositions(since: earlier.state.placements),
               let spliced = earlier.byGroup[group.rawValue].spliced(
                   replacing: replaced, with: StructuralValidator.placements(on: only, at: replaced.map(Int.init).sorted())) {
                out.append((group, spliced))
                patched.append(group)
                continue
            }
            out.append((group, result(group, on: only)))
        }
        return Half(diagnostics: out, reused: reused, patched: patched)
    }

    /// One group on exactly `state`, the placements' with each diagnostic's placement.
    static func result(_ group: Group, on state: DesiredState) -> ObjectDiagnostics {
        group == .placements ? StructuralValidator.placements(on: state, at: state.placements.list.indices) : ObjectDiagnostics(run(group, on: state))
    }
}

/// Which tables of a state hold the same objects as an earlier state's
/// (`ObjectTable.holdsSameObjects`), each table compared at most once.
struct SameTables {
    let state: DesiredState
    let earlier: DesiredState
    private var same: KindSet = []
    private var differ: KindSet = []

    init(_ state: DesiredState, _ earlier: DesiredState) {
        self.state = state
        self.earlier = earlier
    }

    /// Whether every table of `kinds` holds the same objects in both.
    mutating func hold(_ kinds: KindSet) -> Bool {
        for bit in 0 ..< 8 {
            let kind = KindSet(rawValue: 1 << bit)
            guard kinds.contains(kind), !same.contains(kind) else { continue }
            if differ.contains(kind) || !state.holdsSameObjects(as: earlier, kind: kind) {
                differ.insert(kind)
                return false
            }
            same.insert(kind)
        }
        return true
    }
}
