/// What happens to the fleet if one region (or a set) goes down.
public struct DrillResult: Sendable {
    public let failed: [RegionName]
    /// Placements the failure leaves without full in-fence service.
    public let unserved: [Unserved]
    /// Of those, the ones that were fine before the change under review (pull-request mode).
    public let regressions: [PlacementName]

    public init(failed: [RegionName], unserved: [Unserved], regressions: [PlacementName] = []) {
        self.failed = failed
        self.unserved = unserved
        self.regressions = regressions
    }
}

/// Plan → a pull-request comment: a summary per region and action type, the fence proof, what
/// stays unserved, drill results, and a Mermaid graph of the stages. At most `limit` characters
/// (GitHub refuses comments over 65,536); a longer comment is cut with a note.
public enum PlanMarkdown {
    public static func render(_ plan: Plan, state: DesiredState, fences: FenceAnalysis, violations: [PlanVerifier.Violation],
                              drills: [DrillResult] = [], title: String = "Meridian plan", preface: [String] = [],
                              limit: Int = 65_000) -> String {
        var out: [String] = ["## \(title)", ""]
        let source = plan.source.commit.map { "commit `\($0.prefix(12))`" } ?? "digest `\(plan.source.digest.prefix(19))`"
        out.append("Manifests `\(plan.source.path)` at \(source): **\(plan.actions.count) action\(plan.actions.count == 1 ? "" : "s")**"
            + (plan.unserved.isEmpty ? "" : ", **\(Set(plan.unserved.map(\.placement)).count) placement(s) left unserved**") + ".")
        out += preface.isEmpty ? [] : [""] + preface
        out.append("")

        if !plan.actions.isEmpty {
            out.append("### Summary")
            out.append("")
            let kinds = Action.Kind.allCases
            out.append("| region | " + kinds.map(\.rawValue).joined(separator: " | ") + " |")
            out.append("|---|" + kinds.map { _ in "---:" }.joined(separator: "|") + "|")
            var perRegion: [String: [Action.Kind: Int]] = [:]
            for a in plan.actions {
                for r in a.regions { perRegion[r.rawValue, default: [:]][a.kind, default: 0] += 1 }
            }
            for r in perRegion.keys.sorted() {
                out.append("| \(r) | " + kinds.map { k in perRegion[r]![k].map(String.init) ?? "" }.joined(separator: " | ") + " |")
            }
            out.append("")
        }

        out.append("### Fence proof")
        out.append("")
        if violations.isEmpty {
            out.append("✅ Every action was checked against the residency fences (SPEC §2): nothing is stored, staged, served or routed outside its effective fence.")
        } else {
            out.append("❌ **Fence violations — this plan must not be applied:**")
            for v in violations { out.append("- `\(v.actionID)`: \(v.message)") }
        }
        var proofs: [String] = []
        for a in plan.actions {
            switch a.kind {
            case .stageArtifact:
                if let x = a.artifact, let r = a.region, let e = fences.effectiveFence(of: x) {
                    proofs.append("| `\(a.id)` | stage `\(x)` into \(r) | \(fences.jurisdictionLabel(of: r)) | \(fences.describe(e)) |")
                }
            case .deploy:
                if let m = a.model, let r = a.region, let f = fences.modelFence(of: m) {
                    proofs.append("| `\(a.id)` | serve `\(m)` in \(r) | \(fences.jurisdictionLabel(of: r)) | \(fences.describe(f)) |")
                }
            case .purge:
                proofs.append("| `\(a.id)` | purge \(a.placement?.rawValue ?? a.artifact?.rawValue ?? "") from \(a.region!) | \(fences.jurisdictionLabel(of: a.region!)) | outside |")
            default: break
            }
        }
        if !proofs.isEmpty {
            out.append("")
            out.append("<details><summary>Per action</summary>")
            out.append("")
            out.append("| action | what | region's jurisdiction | effective fence |")
            out.append("|---|---|---|---|")
            out += proofs
            out.append("")
            out.append("</details>")
        }
        out.append("")

        if !plan.unserved.isEmpty {
            out.append("### Unserved")
            out.append("")
            for u in plan.unserved { out.append("- **\(u.placement)**: \(u.reason)") }
            out.append("")
        }

        if !drills.isEmpty {
            out.append("### Failover drill")
            out.append("")
            out.append("| region down | placements left unserved | regressions from this change |")
            out.append("|---|---|---|")
            for d in drills {
                let names = Set(d.unserved.map(\.placement)).sorted().map(\.rawValue)
                out.append("| \(d.failed.map(\.rawValue).joined(separator: ", ")) | \(names.isEmpty ? "none" : names.joined(separator: ", ")) | "
                    + (d.regressions.isEmpty ? "—" : "⚠️ " + d.regressions.map(\.rawValue).joined(separator: ", ")) + " |")
            }
            let regressions = drills.filter { !$0.regressions.isEmpty }
            if !regressions.isEmpty {
                out.append("")
                out.append("⚠️ **This change leaves placements without an in-fence failover:**")
                for d in regressions {
                    for u in d.unserved where d.regressions.contains(u.placement) {
                        out.append("- if \(d.failed.map(\.rawValue).joined(separator: ", ")) fails, **\(u.placement)**: \(u.reason)")
                    }
                }
            }
            out.append("")
        }

        if !plan.actions.isEmpty {
            out.append("### Stages")
            out.append("")
            out.append("```mermaid")
            out.append("flowchart LR")
            for a in plan.actions {
                let label = "\(a.id) \(a.kind.rawValue) \(a.region?.rawValue ?? a.placement?.rawValue ?? "") \(a.artifact?.rawValue ?? (a.kind == .setTraffic ? "" : a.placement?.rawValue ?? ""))"
                out.append("  \(a.id)[\"\(label.replacingOccurrences("\"", "'"))\"]")
            }
            for a in plan.actions { for d in a.dependsOn { out.append("  \(d) --> \(a.id)") } }
            out.append("```")
            out.append("")
            out.append("<details><summary>All actions</summary>")
            out.append("")
            for a in plan.actions { out.append("- `\(a.id)` **\(a.kind.rawValue)** \(a.reason)" + (a.dependsOn.isEmpty ? "" : " _(after \(a.dependsOn.joined(separator: ", ")))_")) }
            out.append("")
            out.append("</details>")
        }
        var text = out.joined(separator: "\n") + "\n"
        if text.count > limit {
            let note = "\n\n> ✂️ This comment was cut at \(limit) characters; run `meridian plan --format markdown` for the whole plan.\n"
            text = String(text.prefix(limit - note.count)) + note
        }
        return text
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
