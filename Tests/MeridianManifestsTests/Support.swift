import Foundation
import MeridianCore
@testable import MeridianManifests

enum Paths {
    /// The package root, found from this file's path so tests run from any directory.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let invalidFixtures = root.appendingPathComponent("Tests/Fixtures/invalid")
    static let validFixtures = root.appendingPathComponent("Tests/Fixtures/valid")
    static let manifests = root.appendingPathComponent("manifests")
}

func load(_ text: String, file: String = "t.yaml") -> LoadResult {
    ManifestLoader.load([ManifestFile(path: file, bytes: Array(text.utf8))])
}

func compose(_ text: String) -> (YAMLStream, [Diagnostic]) {
    YAMLComposer.compose(Array(text.utf8), file: "t.yaml")
}

func rules(_ diagnostics: [Diagnostic]) -> [String] { diagnostics.map(\.rule.id) }

/// A fresh temporary directory, removed by the caller's `defer`.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

let validHeader = """
apiVersion: meridian/v1
kind: Jurisdiction
metadata: {name: eu}
spec: {countries: [DE, IE]}
---
apiVersion: meridian/v1
kind: Region
metadata: {name: eu-west}
spec: {jurisdiction: eu, location: IE}

"""
