/// Plan → text for a terminal: one line per action with its dependencies, the reason under it,
/// then what stays unserved. ANSI colour only when asked for (a TTY without NO_COLOR).
public enum PlanText {
    public static func render(_ plan: Plan, colour: Bool) -> String {
        func paint(_ s: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        let codes: [Action.Kind: String] = [.purge: "1;31", .stageArtifact: "36", .deploy: "32", .setTraffic: "34", .undeploy: "33", .deleteArtifact: "35"]
        var lines: [String] = []
        let where_ = plan.source.commit.map { "commit \($0.prefix(12))" } ?? String(plan.source.digest.prefix(19))
        if plan.actions.isEmpty {
            lines.append("No changes: every region matches \(plan.source.path) (\(where_)).")
        } else {
            lines.append("Plan for \(plan.source.path) (\(where_)): \(plan.actions.count) action\(plan.actions.count == 1 ? "" : "s")")
            lines.append("  " + Action.Kind.allCases.map { "\($0.rawValue) \(plan.count($0))" }.joined(separator: " · "))
            lines.append("")
            let idWidth = plan.actions.map(\.id.count).max() ?? 2
            for a in plan.actions {
                let target: String
                switch a.kind {
                case .setTraffic:
                    target = (a.placement?.rawValue ?? "") + " " + (a.weights ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                case .stageArtifact:
                    target = "\(a.region!) \(a.artifact!) ← \(a.from?.rawValue ?? "(origin)")"
                case .deploy:
                    target = "\(a.region!) \(a.placement!) \(a.model!)@\(a.version!) ×\(a.replicas!)"
                default:
                    target = "\(a.region?.rawValue ?? "") \(a.placement?.rawValue ?? a.artifact?.rawValue ?? "")"
                }
                let id = a.id + String(repeating: " ", count: idWidth - a.id.count)
                let kind = a.kind.rawValue + String(repeating: " ", count: 15 - a.kind.rawValue.count)
                let after = a.dependsOn.isEmpty ? "" : "  (after \(a.dependsOn.joined(separator: ", ")))"
                lines.append("\(id)  \(paint(kind, codes[a.kind]!)) \(target)\(paint(after, "2"))")
                lines.append(String(repeating: " ", count: idWidth + 2) + a.reason)
            }
        }
        if !plan.unserved.isEmpty {
            lines.append("")
            lines.append(paint("Unserved:", "1;33"))
            for u in plan.unserved { lines.append("  \(u.placement): \(u.reason)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
