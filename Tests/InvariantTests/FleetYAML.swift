import MeridianCore
import MeridianManifests

/// Small builders for manifest documents, so each test reads as the fleet it describes.
enum Y {
    static func jurisdiction(_ name: String) -> String {
        "apiVersion: meridian/v1\nkind: Jurisdiction\nmetadata: {name: \(name)}\n"
    }

    static func region(_ name: String, _ jurisdiction: String, replicatesTo: [String] = [], extra: String = "") -> String {
        """
        apiVersion: meridian/v1
        kind: Region
        metadata: {name: \(name)}
        spec:
          jurisdiction: \(jurisdiction)
          replicatesTo: [\(replicatesTo.joined(separator: ", "))]
        \(extra)
        """
    }

    static func fence(_ name: String, allow: [String], deny: [String] = [], selector: [String: String]? = nil) -> String {
        var s = """
        apiVersion: meridian/v1
        kind: ResidencyFence
        metadata: {name: \(name)}
        spec:
          allow: [\(allow.map { "\"\($0)\"" }.joined(separator: ", "))]
          deny: [\(deny.joined(separator: ", "))]

        """
        if let selector {
            s += "  selector: {matchLabels: {\(selector.keys.sorted().map { "\($0): \(selector[$0]!)" }.joined(separator: ", "))}}\n"
        }
        return s
    }

    static func artifact(_ name: String, origin: String, parents: [String] = [], fences: [String] = [],
                         labels: [String: String] = [:], type: String = "weights") -> String {
        """
        apiVersion: meridian/v1
        kind: Artifact
        metadata:
          name: \(name)
          labels: {\(labels.keys.sorted().map { "\($0): \(labels[$0]!)" }.joined(separator: ", "))}
        spec:
          type: \(type)
          digest: sha256:\(String(repeating: "ab", count: 32))
          origin: \(origin)
          derivedFrom: [\(parents.joined(separator: ", "))]
          fences: [\(fences.joined(separator: ", "))]

        """
    }

    static func model(_ name: String, _ artifacts: [String], version: String = "1.0.0", gpus: Int = 0) -> String {
        let acc = gpus > 0 ? ", accelerator: {type: gpu, count: \(gpus)}" : ""
        return "apiVersion: meridian/v1\nkind: Model\nmetadata: {name: \(name)}\nspec: {version: \"\(version)\", artifacts: [\(artifacts.joined(separator: ", "))]\(acc)}\n"
    }

    /// `regions` as (name, weight?) pairs.
    static func topology(_ name: String, mode: String, _ regions: [(String, Int?)], failover: [String] = [], standby: String? = nil) -> String {
        let list = regions.map { r in r.1.map { "{name: \(r.0), weight: \($0)}" } ?? "{name: \(r.0)}" }.joined(separator: ", ")
        let sb = standby.map { ", standby: \($0)" } ?? ""
        return "apiVersion: meridian/v1\nkind: Topology\nmetadata: {name: \(name)}\nspec: {mode: \(mode), regions: [\(list)], failover: [\(failover.joined(separator: ", "))]\(sb)}\n"
    }

    static func placement(_ name: String, model: String, topology: String, replicas: Int = 1, minReplicas: Int = 1, priority: Int = 0) -> String {
        "apiVersion: meridian/v1\nkind: Placement\nmetadata: {name: \(name)}\nspec: {model: \(model), topology: \(topology), replicas: \(replicas), minReplicas: \(minReplicas), priority: \(priority)}\n"
    }

    static func load(_ documents: [String]) -> LoadResult {
        let text = documents.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" }.joined(separator: "---\n")
        return ManifestLoader.load([ManifestFile(path: "fleet.yaml", bytes: Array(text.utf8))])
    }
}
