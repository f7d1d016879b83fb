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

@Suite("meridian fence explain")
struct FenceExplainCommandTests {
    @Test("explains the lineage and fences of an artifact: exit 0")
    func explain() throws {
        let r = try CLI.run(["fence", "explain", "eu-assistant-lora"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("effective fence: {eu}"))
        #expect(r.stdout.contains("└─ derived from eu-support-tickets → {eu}"))
        #expect(r.stdout.contains("fence eu-only (by name): allow [eu] → {eu}"))
    }

    @Test("a region outside the fence: exit 1 and the chain that excludes it")
    func outside() throws {
        let r = try CLI.run(["fence", "explain", "eu-assistant-lora", "--region", "us-east"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("region us-east (jurisdiction us): NOT ALLOWED"))
        #expect(r.stdout.contains("eu-support-tickets is bound by fence eu-only (by name), which allows only {eu}"))
    }

    @Test("a region inside, with its replica: exit 0")
    func inside() throws {
        let r = try CLI.run(["fence", "explain", "eu-assistant-lora", "--region", "eu-de-west"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("allowed; so is every region its storage replicates to (eu-de-north)"))
    }

    @Test("a selector fence is named as such")
    func selector() throws {
        let r = try CLI.run(["fence", "explain", "in-catalog-index", "--region", "in-delhi"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("fence in-resident (by selector data-origin=in)"))
    }

    @Test("an unknown artifact in valid manifests is a usage error (exit 64), not an invalid fleet (exit 1), with a message on stderr")
    func unknown() throws {
        let r = try CLI.run(["fence", "explain", "nope"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("no artifact 'nope'"))
        // In manifests that are invalid, the artifact may be missing because of that: exit 1, with the diagnostics.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("apiVersion: meridian/v1\nkind: Artifact\nmetadata: {name: nope}\nspec: {type: weights, digest: [\n".utf8)
            .write(to: dir.appendingPathComponent("a.yaml"))
        let broken = try CLI.run(["fence", "explain", "nope", dir.path])
        #expect(broken.status == 1, "\(broken)")
        #expect(broken.stderr.contains("no artifact 'nope'") && broken.stderr.contains("a.yaml:"), "\(broken.stderr)")
    }
}

@Suite("meridian validate --repo")
struct ValidateRepoCommandTests {
    /// A repository holding the example fleet, made with git in a temp dir.
    static func repository() throws -> URL {
        let dir = URL(fileURLWithPath: "/tmp/mc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLI.root.appendingPathComponent("manifests"), to: dir.appendingPathComponent("fleet"))
        for args in [["init", "-q", "-b", "main"], ["add", "-A"],
                     ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "fleet"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git"] + args
            p.currentDirectoryURL = dir
            p.environment = ["HOME": dir.path, "GIT_CONFIG_NOSYSTEM": "1", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
            try p.run()
            p.waitUntilExit()
        }
        return dir
    }

    @Test("reads the fleet at a ref, names the commit, exit 0")
    func repo() throws {
        let dir = try Self.repository()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["validate", "--repo", dir.path, "--ref", "main", "--path", "fleet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("@main ("))
        #expect(r.stdout.contains("valid (16 files"))
    }

    @Test("a missing ref is an environment error (exit 3); an unsigned head with --verify-signatures exits 1")
    func refusals() throws {
        let dir = try Self.repository()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try CLI.run(["validate", "--repo", dir.path, "--ref", "nope", "--path", "fleet"])
        #expect(missing.status == 3)
        #expect(missing.stderr == "meridian: ref 'nope' not found in \(dir.path)\n")

        let keys = dir.appendingPathComponent("trusted.keys")
        try Data("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test\n".utf8).write(to: keys)
        let unsigned = try CLI.run(["validate", "--repo", dir.path, "--ref", "main", "--path", "fleet", "--verify-signatures", "--trusted-keys", keys.path])
        #expect(unsigned.status == 1)
        #expect(unsigned.stderr.contains("is not signed; --verify-signatures accepts only signed commits"))
        #expect(unsigned.stdout.isEmpty)
    }
}
