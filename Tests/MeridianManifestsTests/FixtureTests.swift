import Foundation
import MeridianCore
import MeridianManifests
import Testing

/// Every file in Tests/Fixtures/invalid marks the diagnostics it must produce with a
/// `# <- rule.id` comment on the line where the diagnostic must point.
@Suite("Fixtures")
struct FixtureTests {
    struct Expectation: Hashable, CustomStringConvertible {
        let rule: String
        let line: Int
        var description: String { "\(rule)@\(line)" }
    }

    static func invalidFixtures() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: Paths.invalidFixtures, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func expectations(in bytes: [UInt8]) -> [Expectation] {
        let text = String(decoding: bytes, as: UTF8.self)
        var result: [Expectation] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard let marker = line.range(of: "# <- ") else { continue }
            for rule in line[marker.upperBound...].split(separator: " ") {
                result.append(Expectation(rule: String(rule), line: index + 1))
            }
        }
        return result
    }

    @Test("there are at least 40 invalid fixtures, and every one marks what it must report")
    func corpusSize() throws {
        let files = try Self.invalidFixtures()
        #expect(files.count >= 40)
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            #expect(!Self.expectations(in: bytes).isEmpty, "\(file.lastPathComponent) marks no expected diagnostic")
        }
    }

    @Test("every invalid fixture is refused with its rule at its line, and nothing of it is usable")
    func everyInvalidFixture() throws {
        for file in try Self.invalidFixtures() {
            let bytes = [UInt8](try Data(contentsOf: file))
            let result = ManifestLoader.load([ManifestFile(path: file.lastPathComponent, bytes: bytes)])
            let got = Set(result.diagnostics.compactMap { d in d.location.map { Expectation(rule: d.rule.id, line: $0.line) } })
            for expected in Self.expectations(in: bytes) {
                #expect(got.contains(expected), "\(file.lastPathComponent): expected \(expected), got \(result.diagnostics.map(\.description))")
            }
            #expect(!result.isValid)
            #expect(result.validState == nil)
        }
    }

    @Test("the fixtures together cover every rule the decoder and the structural checks report")
    func coverage() throws {
        var covered = Set<String>()
        for file in try Self.invalidFixtures() {
            covered.formUnion(Self.expectations(in: [UInt8](try Data(contentsOf: file))).map(\.rule))
        }
        let all: [Rule] = [
            .yamlSyntax, .yamlEncoding, .yamlDuplicateKey, .yamlTag, .yamlAlias, .yamlAliasLimit, .yamlDepth,
            .yamlMerge, .yamlKey, .schemaAPIVersion, .schemaKind, .schemaUnknownField, .schemaRequired, .schemaType,
            .schemaEnum, .schemaRange, .schemaFormat, .schemaEmpty, .schemaUnique, .nameInvalid, .nameDuplicate,
            .refMissing, .artifactDigest, .artifactLineageCycle, .regionLocation, .regionAdapter, .regionReplication,
            .topologyWeights, .topologyRegions, .topologyStandby, .placementReplicas, .fenceWildcard,
            .guardrailVersion, .modelVersion, .fenceEmpty, .fenceOrigin, .fenceModel, .fencePlacement, .fenceRuntime,
        ]
        let missing = all.map(\.id).filter { !covered.contains($0) }
        #expect(missing.isEmpty, "rules without a fixture: \(missing)")
    }

    @Test("the example fleet and the valid fixtures load clean")
    func validCorpora() throws {
        let fleet = try DirectorySource(root: Paths.manifests.path).load()
        #expect(fleet.diagnostics.isEmpty, "\(fleet.diagnostics.map(\.description))")
        let state = try #require(fleet.validState)
        #expect(state.jurisdictions.count >= 5)
        #expect(state.regions.count >= 10)
        #expect(Set(state.regions.values.compactMap(\.provider)).count >= 3)
        #expect(Set(state.topologies.values.map(\.mode)) == Set(TopologyMode.allCases))
        #expect(state.topologies.values.contains { $0.mode == .activePassive && $0.standby == .warm })
        #expect(state.regions.values.contains { !$0.replicatesTo.isEmpty })
        #expect(!state.guardrails.isEmpty)
        #expect(state.fences.values.contains { $0.matchLabels != nil })

        let valid = try DirectorySource(root: Paths.validFixtures.path).load()
        #expect(valid.diagnostics.isEmpty, "\(valid.diagnostics.map(\.description))")
    }
}
