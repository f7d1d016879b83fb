/// Whether the plan re-check would decide every action alike under two analyses of states
/// sharing their artifacts, models and regions tables: the check that lets a re-check through
/// the plan memo take the last one over after a jurisdiction is added (`PlanCheck.verify(…,
/// memo:)`), when a new analysis re-indexes every set.
extension FenceAnalysis {
    /// True when this analysis and `earlier` are over the very artifacts, models and regions
    /// tables (the same storage), every jurisdiction of `earlier` is declared here, and, with
    /// each of `earlier`'s sets read by jurisdiction name:
    /// - every region's replication closure is the same jurisdictions, and unknown alike;
    /// - every artifact's effective fence and every model's fence is the same within
    ///   `earlier`'s jurisdictions (a jurisdiction added may join a set, as `*` admits it).
    ///
    /// A check asks whether a region's closure is inside a fence. A closure here is
    /// `earlier`'s, so within `earlier`'s jurisdictions, where every fence is as it was: each
    /// answer is `earlier`'s. The sets are compared in full, not inferred from what changed.
    /// False (so nothing is taken over) when either has 64 jurisdictions or more.
    public func decidesAsBefore(_ earlier: FenceAnalysis) -> Bool {
        guard state.artifacts.changedPositions(since: earlier.state.artifacts)?.isEmpty == true,
              state.models.changedPositions(since: earlier.state.models)?.isEmpty == true,
              state.regions.changedPositions(since: earlier.state.regions)?.isEmpty == true,
              jurisdictionNames.count < 64, earlier.jurisdictionNames.count < 64,
              effective.count == earlier.effective.count, modelFences.count == earlier.modelFences.count,
              regionClosure.count == earlier.regionClosure.count else { return false }
        // Where each of `earlier`'s jurisdictions is here; every one must be declared.
        guard let move = WordTranslation(from: earlier.jurisdictionNames, to: jurisdictionIndex), move.complete else { return false }
        func translated(_ set: JurisdictionSet) -> UInt64? { set.word.flatMap(move.callAsFunction) }
        guard let within = translated(earlier.universe) else { return false }
        func alike(_ now: JurisdictionSet, _ then: JurisdictionSet) -> Bool {
            guard let n = now.word, let t = translated(then) else { return false }
            return n & within == t
        }
        for (region, then) in earlier.regionClosure {
            guard let now = regionClosure[region], now.unknown == then.unknown,
                  let n = now.jurisdictions.word, let t = translated(then.jurisdictions), n == t else { return false }
        }
        for i in effective.indices where !alike(effective[i], earlier.effective[i]) { return false }
        for k in modelFences.indices where !alike(modelFences[k], earlier.modelFences[k]) { return false }
        return true
    }

    /// True when `decidesAsBefore(earlier)` holds and every artifact's effective fence and
    /// every model's fence that was empty in `earlier` is empty here too (one that was not is
    /// not, by `decidesAsBefore`). Then each of the fence checks (`FenceCheck`) takes the same
    /// branch here as over `earlier`, on tables it reads unchanged: every emptiness test
    /// answers alike, and so does every inside test, a closure being `earlier`'s
    /// jurisdictions. A part of the checks that found nothing over `earlier` finds nothing
    /// here (`FenceChecks` takes it over). Only the messages could differ, since they describe
    /// the sets: a part that found something is run again.
    ///
    /// Emptiness is compared apart because a jurisdiction added may join a set that was empty
    /// (a fence `allow: ["*"]` that denied every jurisdiction there was), and a placement of a
    /// model whose fence was empty is not checked at all.
    public func checksAsBefore(_ earlier: FenceAnalysis) -> Bool {
        guard decidesAsBefore(earlier) else { return false }
        for i in effective.indices where earlier.effective[i].isEmpty && !effective[i].isEmpty { return false }
        for k in modelFences.indices where earlier.modelFences[k].isEmpty && !modelFences[k].isEmpty { return false }
        return true
    }
}

/// One-word jurisdiction sets (`JurisdictionSet.word`) of one analysis moved to another's bits,
/// by jurisdiction name, through a table per byte of the word: eight lookups a set, however
/// many members. Built for fewer than 64 jurisdictions on each side.
struct WordTranslation {
    /// Entry `byte * 256 + v`: the new bits of the old bits `v` at that byte.
    private let table: [UInt64]
    /// The old bits with no translation: jurisdictions not declared on the new side, and bits
    /// past the old jurisdictions.
    let dropped: UInt64
    /// Whether every old jurisdiction is declared on the new side.
    let complete: Bool

    /// Nil when either side has 64 jurisdictions or more.
    init?(from old: [JurisdictionName], to newIndex: [JurisdictionName: Int]) {
        guard old.count < 64, newIndex.count < 64 else { return nil }
        var table = [UInt64](repeating: 0, count: 8 * 256)
        var dropped = ~((UInt64(1) << UInt64(old.count)) &- 1)
        var complete = true
        for (i, name) in old.enumerated() {
            guard let j = newIndex[name] else {
                dropped |= UInt64(1) << UInt64(i)
                complete = false
                continue
            }
            let (byte, bit) = (i / 8, i % 8)
            for v in 0 ..< 256 where v & (1 << bit) != 0 { table[byte * 256 + v] |= UInt64(1) << UInt64(j) }
        }
        self.table = table
        self.dropped = dropped
        self.complete = complete
    }

    /// The old word's members as new bits; nil when one has no translation.
    func callAsFunction(_ word: UInt64) -> UInt64? {
        guard word & dropped == 0 else { return nil }
        return table.withUnsafeBufferPointer { table in
            var out: UInt64 = 0
            for byte in 0 ..< 8 { out |= table[byte * 256 + Int((word >> UInt64(byte * 8)) & 0xFF)] }
            return out
        }
    }
}
