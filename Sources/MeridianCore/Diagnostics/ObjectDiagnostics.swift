/// The diagnostics of one check, and when the check goes object by object over one table (the
/// placements' checks), the position of the object each is about, ascending. A later load
/// whose table was patched from this one's (the same names; a few objects replaced, see
/// `ObjectTable.replacedPositions(from:)`), with every other table the check reads holding the
/// same objects, checks the replaced objects alone and splices their diagnostics in
/// (`spliced`): what the check of the whole table gives, since each object's diagnostics are
/// a function of that object and of those other tables.
public struct ObjectDiagnostics: Sendable {
    public let diagnostics: [Diagnostic]
    /// Per diagnostic, its object's position; nil for a check that is not object by object.
    let owners: [Int32]?

    init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics
        owners = nil
    }

    init(diagnostics: [Diagnostic], owners: [Int32]) {
        precondition(diagnostics.count == owners.count, "one owner per diagnostic")
        self.diagnostics = diagnostics
        self.owners = owners
    }

    /// These diagnostics with those of the objects at `replaced` dropped, and `fresh` (the
    /// same check of exactly those objects) put in their place, in position order. Nil when
    /// either is not object by object.
    func spliced(replacing replaced: Set<Int32>, with fresh: ObjectDiagnostics) -> ObjectDiagnostics? {
        guard let owners, let freshOwners = fresh.owners else { return nil }
        var out: [Diagnostic] = [], outOwners: [Int32] = []
        out.reserveCapacity(diagnostics.count + fresh.diagnostics.count)
        outOwners.reserveCapacity(diagnostics.count + fresh.diagnostics.count)
        var j = 0
        func freshUpTo(_ owner: Int32) {
            while j < freshOwners.count && freshOwners[j] < owner {
                out.append(fresh.diagnostics[j])
                outOwners.append(freshOwners[j])
                j += 1
            }
        }
        for k in diagnostics.indices where !replaced.contains(owners[k]) {
            freshUpTo(owners[k])
            out.append(diagnostics[k])
            outOwners.append(owners[k])
        }
        out += fresh.diagnostics[j...]
        outOwners += freshOwners[j...]
        return ObjectDiagnostics(diagnostics: out, owners: outOwners)
    }
}
