/// `meridian fence explain`: the lineage tree and fences that make an artifact's effective
/// fence, and whether a region is inside it and why not.
public struct FenceExplanation: Sendable {
    public let artifact: ArtifactName
    public let effective: JurisdictionSet
    /// Nil without a region; otherwise whether the artifact may be stored there.
    public let regionAllowed: Bool?
    public let text: String

    public init?(_ analysis: FenceAnalysis, artifact name: ArtifactName, region: RegionName? = nil) {
        guard let artifact = analysis.state.artifacts[name], let effective = analysis.effectiveFence(of: name) else { return nil }
        self.artifact = name
        self.effective = effective
        var lines: [String] = []
        lines.append("artifact \(name) (\(artifact.type.rawValue), origin \(artifact.origin.value))")
        lines.append("effective fence: \(analysis.describe(effective))")
        lines.append("")
        lines += Self.tree(analysis, root: name)

        var allowed: Bool?
        if let region {
            lines.append("")
            let label = analysis.jurisdictionLabel(of: region)
            if analysis.state.regions[region] == nil {
                allowed = false
                lines.append("region \(region): NOT ALLOWED: no such region is declared, so it is outside every fence")
            } else if let path = analysis.offendingReplica(of: region, outside: effective) {
                allowed = false
                lines.append("region \(region) (jurisdiction \(label)): NOT ALLOWED")
                if path.count > 1, let last = path.last {
                    lines.append("  its storage replicates to \(last) (jurisdiction \(analysis.jurisdictionLabel(of: last))) via \(path.map(\.rawValue).joined(separator: " → "))")
                }
                let outside = analysis.state.regions[path.last!]
                if let j = outside?.jurisdiction.value {
                    for step in analysis.exclusionChain(of: name, for: j) { lines.append("  \(step)") }
                }
                if effective.isEmpty { lines.append("  \(name) can live nowhere: its effective fence is empty") }
            } else {
                allowed = true
                let closure = analysis.replicas(of: region)
                lines.append("region \(region) (jurisdiction \(label)): allowed" + (closure.isEmpty ? "" :
                    "; so is every region its storage replicates to (\(closure.map(\.rawValue).joined(separator: ", ")))"))
            }
        }
        regionAllowed = allowed
        text = lines.joined(separator: "\n")
    }

    /// The lineage tree, iteratively (deep lineage cannot overflow the stack); an ancestor
    /// reached twice is shown once.
    static func tree(_ analysis: FenceAnalysis, root: ArtifactName) -> [String] {
        enum Item {
            case artifact(ArtifactName, prefix: String, last: Bool, top: Bool)
            case fence(FenceAnalysis.AppliedFence, prefix: String, last: Bool)
        }
        var lines: [String] = []
        var shown = Set<ArtifactName>()
        var stack: [Item] = [.artifact(root, prefix: "", last: true, top: true)]
        while let item = stack.popLast() {
            switch item {
            case .fence(let applied, let prefix, let last):
                let f = analysis.state.fences[applied.fence]
                let allow = f?.allow.map { $0.value.description }.joined(separator: ", ") ?? ""
                let deny = f?.deny.map { $0.value.rawValue }.joined(separator: ", ") ?? ""
                let set = analysis.fenceSet(applied.fence) ?? JurisdictionSet()
                lines.append(prefix + (last ? "└─ " : "├─ ") + "\(analysis.describe(fence: applied)): allow [\(allow)]"
                    + (deny.isEmpty ? "" : " deny [\(deny)]") + " → \(analysis.describe(set))")
            case .artifact(let name, let prefix, let last, let top):
                let set = analysis.effectiveFence(of: name) ?? JurisdictionSet()
                let fences = analysis.appliedFences(of: name)
                let parents = analysis.state.artifacts[name]?.derivedFrom.map(\.value) ?? []
                let own = fences.isEmpty && parents.isEmpty ? " (unfenced)" : ""
                let head = top ? "" : prefix + (last ? "└─ " : "├─ ") + "derived from "
                if !top && shown.contains(name) {
                    lines.append(head + "\(name) → \(analysis.describe(set)) (see above)")
                    continue
                }
                shown.insert(name)
                lines.append(head + "\(name) → \(analysis.describe(set))\(own)")
                let childPrefix = top ? "" : prefix + (last ? "   " : "│  ")
                var children: [Item] = fences.map { .fence($0, prefix: childPrefix, last: false) }
                children += parents.map { .artifact($0, prefix: childPrefix, last: false, top: false) }
                if let final = children.popLast() {
                    switch final {
                    case .fence(let a, let p, _): children.append(.fence(a, prefix: p, last: true))
                    case .artifact(let n, let p, _, _): children.append(.artifact(n, prefix: p, last: true, top: false))
                    }
                }
                stack += children.reversed()
            }
        }
        return lines
    }
}
