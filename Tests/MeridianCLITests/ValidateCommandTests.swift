import Foundation
import Testing

/// Runs the built `meridian` binary, as users and their scripts do.
enum CLI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary next to the test bundle (`swift build` puts products in one directory).
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0 ..< 4 {
            let candidate = dir.appendingPathComponent("meridian")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/meridian")
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

@Suite("meridian validate")
struct ValidateCommandTests {
    @Test("the example fleet validates: exit 0, a summary on stdout, nothing on stderr")
    func exampleFleet() throws {
        let r = try CLI.run(["validate", "manifests"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("manifests: valid"))
        #expect(r.stderr.isEmpty)
    }

    @Test("the default path is manifests/")
    func defaultPath() throws {
        #expect(try CLI.run(["validate"]).status == 0)
    }

    @Test("invalid manifests: exit 1, every diagnostic on stderr as path:line:col: error: [rule] message, nothing on stdout")
    func invalid() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("apiVersion: meridian/v1\nkind: Region\nmetadata: {name: r}\nspec: {jurisdiction: nowhere, state: up}\n".utf8)
            .write(to: dir.appendingPathComponent("r.yaml"))
        let r = try CLI.run(["validate", dir.path])
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains("\(dir.path)/r.yaml:4:22: error: [ref.missing] Region 'r' spec.jurisdiction refers to Jurisdiction 'nowhere', which does not exist"))
        #expect(lines.contains { $0.hasPrefix("\(dir.path)/r.yaml:4:38: error: [schema.enum] state 'up'") })
    }

    @Test("a path that does not exist is an environment error (exit 3), not 'invalid'")
    func missing() throws {
        let r = try CLI.run(["validate", "/nonexistent/manifests"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("no such directory"))
    }
}
