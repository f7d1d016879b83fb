import MeridianCore
import MeridianManifests
import Testing

/// Every way we could think of to get an EU-derived artifact into a US region. Each must be
/// refused, with a diagnostic that names what crossed the fence.
@Suite("Adversarial: an EU-derived artifact must never reach a US region")
struct AdversarialTests {
    /// EU and US jurisdictions and regions, EU support tickets under eu-only, and an open base.
    static let base: [String] = [
        Y.jurisdiction("eu"), Y.jurisdiction("us"),
        Y.region("eu-west", "eu"), Y.region("eu-central", "eu"), Y.region("us-east", "us"),
        Y.fence("eu-only", allow: ["eu"]),
        Y.fence("anywhere", allow: ["*"]),
        Y.artifact("base-llama", origin: "us-east"),
        Y.artifact("eu-tickets", origin: "eu-west", fences: ["eu-only"]),
    ]

    static func serve(_ artifact: String, _ topology: String) -> [String] {
        [Y.model("m", [artifact]), Y.placement("p", model: "m", topology: topology)]
    }

    func expectRefused(_ docs: [String], _ rule: Rule, mentioning words: [String] = [],
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let result = Y.load(docs)
        #expect(result.validState == nil, sourceLocation: sourceLocation)
        let hits = result.diagnostics.filter { $0.rule == rule }
        #expect(!hits.isEmpty, "expected \(rule), got \(result.diagnostics.map(\.description))", sourceLocation: sourceLocation)
        for word in words {
            #expect(hits.contains { $0.message.contains(word) }, "no \(rule) diagnostic mentions \(word): \(hits.map(\.message))",
                    sourceLocation: sourceLocation)
        }
    }

    @Test("the baseline is valid: an EU fine-tune served in the EU")
    func baseline() {
        let docs = Self.base + [Y.artifact("eu-ft", origin: "eu-west", parents: ["base-llama", "eu-tickets"]),
                                Y.topology("t", mode: "active-passive", [("eu-west", nil), ("eu-central", nil)])] + Self.serve("eu-ft", "t")
        let result = Y.load(docs)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
    }

    @Test("a wider fence on the child does not widen it")
    func widerFenceOnChild() {
        let docs = Self.base + [Y.artifact("eu-ft", origin: "eu-west", parents: ["eu-tickets"], fences: ["anywhere"]),
                                Y.topology("t", mode: "single-region", [("us-east", nil)])] + Self.serve("eu-ft", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["'eu-ft'", "'us-east'", "jurisdiction us", "{eu}", "eu-ft is derived from eu-tickets",
                                                          "fence eu-only (by name)"])
    }

    @Test("a grandchild without fences of its own is still bound by its grandparent")
    func grandchild() {
        let docs = Self.base + [Y.artifact("eu-ft", origin: "eu-west", parents: ["eu-tickets"]),
                                Y.artifact("eu-distilled", origin: "eu-west", parents: ["eu-ft"]),
                                Y.topology("t", mode: "single-region", [("us-east", nil)])] + Self.serve("eu-distilled", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["eu-distilled is derived from eu-ft", "eu-ft is derived from eu-tickets"])
    }

    @Test("a fence that applies only by label selector binds the artifact and its descendants")
    func selectorOnly() {
        let docs = Self.base + [Y.fence("eu-data", allow: ["eu"], selector: ["data-origin": "eu"]),
                                Y.artifact("eu-chats", origin: "eu-west", labels: ["data-origin": "eu"]),
                                Y.artifact("eu-ft", origin: "eu-west", parents: ["eu-chats"]),
                                Y.topology("t", mode: "single-region", [("us-east", nil)])] + Self.serve("eu-ft", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["fence eu-data (by selector data-origin=eu)"])
    }

    @Test("a US standby of an EU primary is refused")
    func standby() {
        let docs = Self.base + [Y.topology("t", mode: "active-passive", [("eu-west", nil), ("us-east", nil)])] + Self.serve("eu-tickets", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["as warm standby", "'us-east'"])
    }

    @Test("a US region in the failover list is refused, even last")
    func failover() {
        let docs = Self.base + [Y.topology("t", mode: "single-region", [("eu-west", nil)], failover: ["eu-central", "us-east"])]
            + Self.serve("eu-tickets", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["as failover candidate", "'us-east'"])
    }

    @Test("an EU region whose storage replicates to the US, directly or through another region, is outside the fence")
    func replication() {
        var docs = Self.base.filter { !$0.contains("name: eu-central}") }
        docs += [Y.region("eu-central", "eu", replicatesTo: ["eu-backup"]), Y.region("eu-backup", "eu", replicatesTo: ["us-east"]),
                 Y.topology("t", mode: "single-region", [("eu-central", nil)])] + Self.serve("eu-tickets", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["replicates to 'us-east' (jurisdiction us) via eu-central → eu-backup → us-east"])
    }

    @Test("an origin in the US, or an origin whose storage replicates there, is refused")
    func origin() {
        expectRefused(Self.base + [Y.artifact("eu-ft", origin: "us-east", parents: ["eu-tickets"])], .fenceOrigin,
                      mentioning: ["'eu-ft'", "'us-east' (jurisdiction us)", "{eu}"])
        var docs = Self.base.filter { !$0.contains("name: eu-central}") }
        docs += [Y.region("eu-central", "eu", replicatesTo: ["us-east"]), Y.artifact("eu-ft", origin: "eu-central", parents: ["eu-tickets"])]
        expectRefused(docs, .fenceOrigin, mentioning: ["replicates to 'us-east'"])
    }

    @Test("deny wins over allow")
    func denyWins() {
        let docs = Self.base + [Y.fence("eu-us-not-us", allow: ["eu", "us"], deny: ["us"]),
                                Y.artifact("x", origin: "eu-west", fences: ["eu-us-not-us"]),
                                Y.topology("t", mode: "single-region", [("us-east", nil)])] + Self.serve("x", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["denies us"])
    }

    @Test("look-alike and differently cased names cannot alias a region or a jurisdiction")
    func lookAlikes() {
        // A Cyrillic 'е' in the jurisdiction reference, and an upper-case one.
        expectRefused(Self.base + [Y.region("eu-north", "\u{435}u")], .nameInvalid, mentioning: ["\\u{435}"])
        expectRefused(Self.base + [Y.region("eu-north", "EU")], .nameInvalid)
        // A look-alike region name in a topology is no region at all.
        let docs = Self.base + [Y.topology("t", mode: "single-region", [("eu-w\u{435}st", nil)])] + Self.serve("eu-tickets", "t")
        expectRefused(docs, .nameInvalid)
        expectRefused(Self.base + [Y.fence("f", allow: ["EU"])], .nameInvalid)
    }

    @Test("a merge key cannot override an explicit jurisdiction, and a duplicate key cannot sneak a second one in")
    func mergeKeys() {
        // The explicit `us` wins over the merged `eu`: the region is in the US, and serving
        // EU data there is refused.
        let merged = """
        apiVersion: meridian/v1
        kind: Region
        metadata: {name: sneaky}
        spec:
          <<: {jurisdiction: eu}
          jurisdiction: us
        """
        expectRefused(Self.base + [merged, Y.topology("t", mode: "single-region", [("sneaky", nil)])] + Self.serve("eu-tickets", "t"),
                      .fencePlacement, mentioning: ["'sneaky' (jurisdiction us)"])
        let duplicate = """
        apiVersion: meridian/v1
        kind: Region
        metadata: {name: sneaky}
        spec:
          jurisdiction: eu
          jurisdiction: us
        """
        expectRefused(Self.base + [duplicate], .yamlDuplicateKey)
    }

    @Test("a region in an undeclared jurisdiction is outside every fence, even for unfenced artifacts")
    func undeclaredJurisdiction() {
        let docs = Self.base + [Y.region("mars-1", "mars"), Y.topology("t", mode: "single-region", [("mars-1", nil)])] + Self.serve("eu-tickets", "t")
        expectRefused(docs, .refMissing, mentioning: ["Jurisdiction 'mars'"])
        expectRefused(docs, .fencePlacement, mentioning: ["undeclared"])
        let open = Self.base + [Y.region("mars-1", "mars"), Y.topology("t", mode: "single-region", [("mars-1", nil)])] + Self.serve("base-llama", "t")
        expectRefused(open, .fencePlacement)
    }

    @Test("a region whose storage replicates to a region nobody declared is outside every fence, even eu-only for an EU region: fail closed")
    func replicaUndeclared() {
        let docs = Self.base + [Y.region("eu-north", "eu", replicatesTo: ["eu-ghost"]),
                                Y.topology("t", mode: "single-region", [("eu-north", nil)])] + Self.serve("eu-tickets", "t")
        expectRefused(docs, .refMissing, mentioning: ["eu-ghost"])
        expectRefused(docs, .fencePlacement, mentioning: ["eu-north"])
        let fences = Y.load(docs).fences
        #expect(!fences.isInside(RegionName("eu-north"), fences.universe))
        #expect(fences.isInside(RegionName("eu-west"), fences.universe))
        // Reached through a declared region too.
        let twice = Self.base + [Y.region("eu-north", "eu", replicatesTo: ["eu-central2"]), Y.region("eu-central2", "eu", replicatesTo: ["eu-ghost"])]
        let f2 = Y.load(twice).fences
        #expect(!f2.isInside(RegionName("eu-north"), f2.universe) && !f2.isInside(RegionName("eu-central2"), f2.universe))
    }

    @Test("an allow-everything fence beside eu-only does not widen eu-only")
    func extraWildcard() {
        let docs = Self.base + [Y.artifact("x", origin: "eu-west", fences: ["anywhere", "eu-only"]),
                                Y.topology("t", mode: "single-region", [("us-east", nil)])] + Self.serve("x", "t")
        expectRefused(docs, .fencePlacement, mentioning: ["fence eu-only (by name)"])
    }

    @Test("a fence whose deny cancels its allow leaves the artifact nowhere to live")
    func emptyFence() {
        expectRefused(Self.base + [Y.fence("nothing", allow: ["eu"], deny: ["eu"]), Y.artifact("x", origin: "eu-west", fences: ["nothing"])],
                      .fenceEmpty, mentioning: ["'x' can live nowhere"])
        // ...and a child of EU data that also claims a US-only fence.
        expectRefused(Self.base + [Y.fence("us-only", allow: ["us"]), Y.artifact("x", origin: "eu-west", parents: ["eu-tickets"], fences: ["us-only"])],
                      .fenceEmpty, mentioning: ["parent eu-tickets may live in {eu}"])
    }

    @Test("a model whose artifacts' fences do not meet can be served nowhere")
    func modelFence() {
        let docs = Self.base + [Y.fence("us-only", allow: ["us"]), Y.artifact("us-data", origin: "us-east", fences: ["us-only"]),
                                Y.model("m", ["eu-tickets", "us-data"])]
        expectRefused(docs, .fenceModel, mentioning: ["eu-tickets {eu}", "us-data {us}"])
    }

    @Test("runtime logs never leave the region that wrote them, even inside the fence")
    func runtimeArtifacts() {
        let docs = Self.base + [Y.artifact("eu-logs", origin: "eu-west", fences: ["eu-only"], type: "logs"),
                                Y.topology("t", mode: "active-passive", [("eu-west", nil), ("eu-central", nil)])] + Self.serve("eu-logs", "t")
        expectRefused(docs, .fenceRuntime, mentioning: ["'eu-central'"])
    }

    @Test("a fence error never hides the other diagnostics")
    func allDiagnostics() {
        let docs = Self.base + [Y.artifact("eu-ft", origin: "us-east", parents: ["eu-tickets"]),
                                Y.region("bad", "eu", extra: "  state: sideways"),
                                Y.topology("t", mode: "single-region", [("us-east", nil)])] + Self.serve("eu-tickets", "t")
        let rules = Set(Y.load(docs).diagnostics.map(\.rule))
        #expect(rules.isSuperset(of: [.fenceOrigin, .fencePlacement, .schemaEnum]))
    }
}
