import Foundation
import MeridianCore
import MeridianManifests
import PropertyBased
import Testing

/// A random fleet, decided by a tape of choices. Shrinking the tape (dropping entries, moving
/// them towards 0) shrinks the fleet, so a failure comes back small.
struct RandomFleet: CustomStringConvertible {
    struct Fence { var allow: [Int]?; var deny: [Int]; var selector: String? }  // allow nil = "*"
    struct Region { var jurisdiction: Int; var replicatesTo: [Int]; var state = "active"; var gpus = 8 }
    struct Artifact { var label: String?; var origin: Int; var parents: [Int]; var fences: [Int]; var runtime: Bool }
    struct Topology { var mode: String; var regions: [Int]; var failover: [Int]; var standby = "warm" }
    struct Placement { var model: Int; var topology: Int; var replicas = 1; var minReplicas = 1; var priority = 0 }

    var jurisdictions = 0
    var regions: [Region] = []
    var fences: [Fence] = []
    var artifacts: [Artifact] = []
    var models: [[Int]] = []
    /// Accelerators per replica of each model (0: none).
    var modelGPUs: [Int] = []
    var topologies: [Topology] = []
    var placements: [Placement] = []

    init(tape: [Int]) {
        var i = 0
        func pick(_ n: Int) -> Int {
            defer { i += 1 }
            return n <= 1 ? 0 : (i < tape.count ? tape[i] % n : 0)
        }
        jurisdictions = 1 + pick(4)
        let nR = 1 + pick(6)
        for r in 0 ..< nR {
            var region = Region(jurisdiction: pick(jurisdictions), replicatesTo: [])
            if pick(4) == 1 { let t = pick(nR); if t != r { region.replicatesTo = [t] } }
            regions.append(region)
        }
        for _ in 0 ..< pick(5) {
            var allow: [Int]? = (0 ..< jurisdictions).filter { _ in pick(2) == 1 }
            if pick(5) == 1 { allow = nil } else if allow!.isEmpty { allow = [pick(jurisdictions)] }
            let deny = (0 ..< jurisdictions).filter { _ in pick(4) == 1 }
            let selector: String? = pick(3) == 1 ? ["a", "b"][pick(2)] : nil
            fences.append(Fence(allow: allow, deny: deny, selector: selector))
        }
        let nA = 1 + pick(6)
        for a in 0 ..< nA {
            let label: String? = pick(2) == 1 ? ["a", "b"][pick(2)] : nil
            let parents = (0 ..< a).filter { _ in pick(4) == 1 }
            let fs = fences.indices.filter { _ in pick(3) == 1 }
            artifacts.append(Artifact(label: label, origin: pick(nR), parents: parents, fences: fs, runtime: pick(8) == 1))
        }
        for _ in 0 ..< pick(3) {
            let first = pick(nA)
            var list = [first]
            if pick(2) == 1 { let s = pick(nA); if s != first { list.append(s) } }
            models.append(list)
        }
        for _ in 0 ..< pick(3) {
            let primary = pick(nR)
            let second = pick(nR)
            var topology: Topology
            switch pick(3) {
            case 1 where second != primary: topology = Topology(mode: "active-active", regions: [primary, second], failover: [])
            case 2 where second != primary: topology = Topology(mode: "active-passive", regions: [primary, second], failover: [])
            default: topology = Topology(mode: "single-region", regions: [primary], failover: [])
            }
            let f = pick(nR)
            if pick(2) == 1 && !topology.regions.contains(f) { topology.failover = [f] }
            topologies.append(topology)
        }
        if !models.isEmpty && !topologies.isEmpty {
            for _ in 0 ..< pick(3) { placements.append(Placement(model: pick(models.count), topology: pick(topologies.count))) }
        }
        // Operational details, drawn last so the fence properties above see the same fleets.
        for r in regions.indices {
            regions[r].state = ["active", "active", "active", "draining", "isolated"][pick(5)]
            regions[r].gpus = [0, 4, 8, 16][pick(4)]
        }
        modelGPUs = models.map { _ in [0, 1, 2, 4][pick(4)] }
        for t in topologies.indices { topologies[t].standby = pick(2) == 1 ? "cold" : "warm" }
        for p in placements.indices {
            placements[p].replicas = 1 + pick(4)
            placements[p].minReplicas = pick(placements[p].replicas + 1)
            placements[p].priority = pick(3)
        }
    }

    var description: String { yaml(Names.plain).joined(separator: "---\n") }

    /// How objects are named when rendered; a rename must change nothing but names.
    struct Names {
        let prefix: String
        let reversed: Bool
        static let plain = Names(prefix: "", reversed: false)
        static let renamed = Names(prefix: "zz-", reversed: true)
        func callAsFunction(_ kind: String, _ i: Int, of count: Int) -> String {
            "\(prefix)\(kind)\(reversed ? count - 1 - i : i)"
        }
    }

    func yaml(_ n: Names) -> [String] {
        let J = { n("j", $0, of: jurisdictions) }, R = { n("r", $0, of: regions.count) }
        let F = { n("f", $0, of: fences.count) }, A = { n("a", $0, of: artifacts.count) }
        let M = { n("m", $0, of: models.count) }, T = { n("t", $0, of: topologies.count) }
        var docs = (0 ..< jurisdictions).map { Y.jurisdiction(J($0)) }
        for (i, r) in regions.enumerated() {
            docs.append(Y.region(R(i), J(r.jurisdiction), replicatesTo: r.replicatesTo.map(R),
                                 extra: "  state: \(r.state)\n  capacity: {accelerators: [{type: gpu, count: \(r.gpus)}]}\n"))
        }
        for (i, f) in fences.enumerated() {
            docs.append(Y.fence(F(i), allow: f.allow.map { $0.map(J) } ?? ["*"], deny: f.deny.map(J), selector: f.selector.map { ["tier": $0] }))
        }
        for (i, a) in artifacts.enumerated() {
            docs.append(Y.artifact(A(i), origin: R(a.origin), parents: a.parents.map(A), fences: a.fences.map(F),
                                   labels: a.label.map { ["tier": $0] } ?? [:], type: a.runtime ? "logs" : "weights"))
        }
        for (i, m) in models.enumerated() { docs.append(Y.model(M(i), m.map(A), gpus: modelGPUs.isEmpty ? 0 : modelGPUs[i])) }
        for (i, t) in topologies.enumerated() {
            let weights: [Int?] = t.mode == "active-active" ? [60, 40] : [nil, nil]
            docs.append(Y.topology(T(i), mode: t.mode, t.regions.enumerated().map { (R($0.element), weights[$0.offset]) }, failover: t.failover.map(R),
                                   standby: t.mode == "active-passive" ? t.standby : nil))
        }
        for (i, p) in placements.enumerated() {
            docs.append(Y.placement(n("p", i, of: placements.count), model: M(p.model), topology: T(p.topology),
                                    replicas: p.replicas, minReplicas: p.minReplicas, priority: p.priority))
        }
        return docs
    }

    // MARK: - The oracle: deliberately simple and slow, straight from SPEC §2.

    func fenceApplies(_ f: Int, to a: Int) -> Bool {
        artifacts[a].fences.contains(f) || (fences[f].selector != nil && fences[f].selector == artifacts[a].label)
    }

    func mayLive(_ a: Int, in j: Int) -> Bool {
        for f in fences.indices where fenceApplies(f, to: a) {
            let allowed = fences[f].allow.map { $0.contains(j) } ?? true
            if !allowed || fences[f].deny.contains(j) { return false }
        }
        return artifacts[a].parents.allSatisfy { mayLive($0, in: j) }
    }

    func reach(_ r: Int) -> [Int] {
        var seen: [Int] = [r]
        var todo = [r]
        while let x = todo.popLast() {
            for y in regions[x].replicatesTo where !seen.contains(y) { seen.append(y); todo.append(y) }
        }
        return seen
    }

    func storable(_ a: Int, in r: Int) -> Bool { reach(r).allSatisfy { mayLive(a, in: regions[$0].jurisdiction) } }

    var oracleAccepts: Bool {
        for a in artifacts.indices {
            if !(0 ..< jurisdictions).contains(where: { mayLive(a, in: $0) }) { return false }
            if !storable(a, in: artifacts[a].origin) { return false }
        }
        for m in models where !(0 ..< jurisdictions).contains(where: { j in m.allSatisfy { mayLive($0, in: j) } }) { return false }
        for p in placements {
            let t = topologies[p.topology]
            for r in t.regions + t.failover {
                for a in models[p.model] {
                    if !storable(a, in: r) { return false }
                    if artifacts[a].runtime && r != artifacts[a].origin { return false }
                }
            }
        }
        return true
    }
}

let tapes = Gen.int(in: 0 ... 1_000).array(of: 0 ... 120)

/// Tapes drawn from a fixed seed (a linear congruential generator): the same worlds every run,
/// for the sweeps whose coverage counts are facts of the sweep, not of chance.
struct FixedTapes {
    var state: UInt64

    mutating func tape(_ n: Int) -> [Int] {
        (0 ..< n).map { _ -> Int in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % 1_001
        }
    }

    /// A fleet's tape and an observation's, of lengths that vary with the draw (60 to 139, 40 to 99).
    mutating func world() -> (fleet: [Int], observed: [Int]) {
        let fleet = tape(60 + Int(state % 80))
        return (fleet, tape(40 + Int(state % 60)))
    }
}

/// Whether property checks shrink a failing input. Off unless `MERIDIAN_SHRINK` is set: shrinking
/// a failing random fleet replans it tens of thousands of times, which once outlasted CI's whole
/// budget, so the failure and its seed were never printed. Unshrunk, a failure is reported at once
/// with its input and the `.fixedSeed(…)` that reproduces it; run that seed with
/// `MERIDIAN_SHRINK=1` to get a small input.
enum Shrinking {
    static let trait = EnableShrinkTrait.shrinking(ProcessInfo.processInfo.environment["MERIDIAN_SHRINK"].map { !$0.isEmpty && $0 != "0" } ?? false)
}

@Suite("Fence properties over random fleets", Shrinking.trait)
struct FencePropertyTests {
    @Test("validate accepts a fleet if and only if the brute-force oracle does")
    func oracleAgreement() async {
        await propertyCheck(count: 300, input: tapes) { tape in
            let fleet = RandomFleet(tape: tape)
            let result = Y.load(fleet.yaml(.plain))
            #expect(result.isValid == fleet.oracleAccepts, "\(result.diagnostics.map(\.description))\n\(fleet)")
            // Nothing but fence rules may decide: the generator only writes well-formed fleets.
            #expect(result.diagnostics.allSatisfy { $0.rule.id.hasPrefix("fence.") }, "\(result.diagnostics.map(\.description))")
        }
    }

    @Test("the generator is no tautology: it makes fleets the oracle accepts and fleets it refuses, for every reason")
    func generatorCoversBothOutcomes() {
        var accepted = 0, refused = 0
        var rules = Set<String>()
        var tapes = FixedTapes(state: 42)
        for _ in 0 ..< 400 {
            let tape = tapes.tape(120)
            let fleet = RandomFleet(tape: tape)
            if fleet.oracleAccepts { accepted += 1 } else { refused += 1 }
            rules.formUnion(Y.load(fleet.yaml(.plain)).diagnostics.map(\.rule.id))
        }
        #expect(accepted >= 40 && refused >= 40, "accepted \(accepted), refused \(refused)")
        #expect(rules == ["fence.empty", "fence.origin", "fence.model", "fence.placement", "fence.runtime"])
    }

    @Test("effective fences are exactly the oracle's, and lineage only narrows")
    func effectiveFences() async {
        await propertyCheck(count: 300, input: tapes) { tape in
            let fleet = RandomFleet(tape: tape)
            let analysis = Y.load(fleet.yaml(.plain)).fences
            for a in fleet.artifacts.indices {
                let e = analysis.effectiveFence(of: ArtifactName("a\(a)"))!
                for j in 0 ..< fleet.jurisdictions {
                    let index = analysis.index(of: JurisdictionName("j\(j)"))!
                    #expect(e.contains(index) == fleet.mayLive(a, in: j), "a\(a) in j\(j)\n\(fleet)")
                }
                for p in fleet.artifacts[a].parents {
                    #expect(e.isSubset(of: analysis.effectiveFence(of: ArtifactName("a\(p)"))!))
                }
            }
        }
    }

    @Test("adding a fence never widens any effective fence, and never turns a refusal into acceptance")
    func addingAFenceNarrows() async {
        await propertyCheck(count: 200, input: tapes, Gen.int(in: 0 ... 1_000).array(of: 3 ... 3)) { tape, extra in
            let fleet = RandomFleet(tape: tape)
            var tighter = fleet
            tighter.fences.append(.init(allow: [extra[0] % fleet.jurisdictions], deny: [], selector: extra[1] % 2 == 0 ? "a" : nil))
            tighter.artifacts[extra[2] % fleet.artifacts.count].fences.append(tighter.fences.count - 1)
            let before = Y.load(fleet.yaml(.plain)), after = Y.load(tighter.yaml(.plain))
            for a in fleet.artifacts.indices {
                let name = ArtifactName("a\(a)")
                let was = before.fences.names(before.fences.effectiveFence(of: name)!)
                let now = after.fences.names(after.fences.effectiveFence(of: name)!)
                #expect(Set(now).isSubset(of: Set(was)), "a\(a): \(was) → \(now)")
            }
            if !before.isValid { #expect(!after.isValid) }
        }
    }

    @Test("renaming every object changes nothing but the names")
    func renaming() async {
        await propertyCheck(count: 200, input: tapes) { tape in
            let fleet = RandomFleet(tape: tape)
            let plain = Y.load(fleet.yaml(.plain)), renamed = Y.load(fleet.yaml(.renamed))
            #expect(plain.isValid == renamed.isValid)
            #expect(plain.diagnostics.map(\.rule.id).sorted() == renamed.diagnostics.map(\.rule.id).sorted())
            for a in fleet.artifacts.indices {
                let p = plain.fences.effectiveFence(of: ArtifactName("a\(a)"))!
                let r = renamed.fences.effectiveFence(of: ArtifactName("zz-a\(fleet.artifacts.count - 1 - a)"))!
                let pNames = plain.fences.names(p).map { Int($0.rawValue.dropFirst())! }
                let rNames = renamed.fences.names(r).map { fleet.jurisdictions - 1 - Int($0.rawValue.dropFirst(4))! }
                #expect(pNames.sorted() == rNames.sorted())
            }
        }
    }
}
