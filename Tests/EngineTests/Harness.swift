import Foundation
import Testing

/// A temporary directory, removed when the test is done with it.
final class TempDir: @unchecked Sendable {
    let url: URL
    var path: String { url.path }

    init(_ name: String = "meridian-engine") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ relative: String, _ text: String) throws {
        let file = url.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOf: url.appendingPathComponent(relative), encoding: .utf8)
    }
}

/// The `meridian` binary, run as users run it.
enum Meridian {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0 ..< 4 {
            let candidate = dir.appendingPathComponent("meridian")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/meridian")
    }

    struct Result: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String
        var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
    }

    static func process(_ arguments: [String], in directory: String, env: [String: String] = [:]) -> Process {
        let p = Process()
        p.executableURL = binary
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        return p
    }

    /// Runs to completion, reading stdout and stderr at once (a full pipe must never block the child).
    static func run(_ arguments: [String], in directory: String, env: [String: String] = [:]) throws -> Result {
        try collect(process(arguments, in: directory, env: env))
    }

    /// Runs a process to completion, reading its stdout and stderr at once.
    static func collect(_ p: Process) throws -> Result {
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let box = DataBox()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            box.err = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: box.err, as: UTF8.self))
    }

    final class DataBox: @unchecked Sendable { var err = Data() }
}

/// A `meridian agent` child process on 127.0.0.1, on a port the kernel picked.
final class AgentProcess: @unchecked Sendable {
    let region: String
    let jurisdiction: String
    let data: String
    let tokenFile: String
    let extra: [String]
    private(set) var process: Process?
    private(set) var port = 0
    var url: String { "http://127.0.0.1:\(port)" }

    init(region: String, jurisdiction: String, data: String, tokenFile: String, extra: [String] = []) {
        self.region = region
        self.jurisdiction = jurisdiction
        self.data = data
        self.tokenFile = tokenFile
        self.extra = extra
    }

    /// Starts the agent and waits until it says where it listens. `port`: reuse a port after a restart.
    func start(port requested: Int = 0) throws {
        let p = Meridian.process(["agent", "--region", region, "--listen", "127.0.0.1:\(requested)", "--data", data, "--token-file", tokenFile,
                                  "--jurisdiction", jurisdiction, "--accelerator", "h100=16"] + extra, in: data)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        process = p
        var buffer = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer += String(decoding: chunk, as: UTF8.self)
            if let range = buffer.range(of: "listening on 127.0.0.1:") {
                let digits = buffer[range.upperBound...].prefix { $0.isNumber }
                if let n = Int(digits), buffer[range.upperBound...].contains("\n") {
                    port = n
                    // Keep draining stderr so the agent never blocks on a full pipe.
                    let handle = err.fileHandleForReading
                    DispatchQueue.global().async { while !handle.availableData.isEmpty {} }
                    return
                }
            }
        }
        p.terminate()
        throw HarnessError("agent \(region) did not start: \(buffer)")
    }

    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func stop() {
        guard let p = process, p.isRunning else { return }
        p.terminate()
        p.waitUntilExit()
    }

    deinit { kill9() }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A small fleet: two jurisdictions, four regions, a fenced EU fine-tune with lineage, an
/// active-active EU placement with a failover region, and a single-region US one.
enum Fleet {
    static let regions = [("eu-a", "eu", "IE"), ("eu-b", "eu", "DE"), ("eu-c", "eu", "FI"), ("us-a", "us", "US")]

    /// `adapter`: the YAML of each region's adapter block (indented under `adapter:`), or nil for local.
    static func write(into dir: TempDir, adapter: (String) -> String? = { _ in nil }, euReplicas: Int = 4, usReplicas: Int = 2) throws {
        try dir.write("manifests/jurisdictions.yaml", """
            apiVersion: meridian/v1
            kind: Jurisdiction
            metadata: {name: eu}
            spec: {countries: [IE, DE, FI]}
            ---
            apiVersion: meridian/v1
            kind: Jurisdiction
            metadata: {name: us}
            spec: {countries: [US]}
            """)
        var regionDocs: [String] = []
        for (name, j, country) in regions {
            var doc = """
                apiVersion: meridian/v1
                kind: Region
                metadata: {name: \(name)}
                spec:
                  location: \(country)
                  jurisdiction: \(j)
                  capacity:
                    accelerators:
                      - {type: h100, count: 16}
                """
            if let a = adapter(name) { doc += "\n  adapter:\n" + a.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
            regionDocs.append(doc)
        }
        try dir.write("manifests/regions.yaml", regionDocs.joined(separator: "\n---\n") + "\n")
        try dir.write("manifests/artifacts.yaml", """
            apiVersion: meridian/v1
            kind: Artifact
            metadata: {name: base}
            spec: {type: weights, digest: "sha256:\(String(repeating: "a", count: 64))", origin: us-a}
            ---
            apiVersion: meridian/v1
            kind: Artifact
            metadata: {name: eu-data}
            spec: {type: dataset, digest: "sha256:\(String(repeating: "b", count: 64))", origin: eu-a, fences: [eu-only]}
            ---
            apiVersion: meridian/v1
            kind: Artifact
            metadata: {name: eu-ft}
            spec: {type: adapter, digest: "sha256:\(String(repeating: "c", count: 64))", origin: eu-a, derivedFrom: [base, eu-data]}
            ---
            apiVersion: meridian/v1
            kind: ResidencyFence
            metadata: {name: eu-only}
            spec: {allow: [eu]}
            """)
        try dir.write("manifests/serving.yaml", """
            apiVersion: meridian/v1
            kind: Model
            metadata: {name: eu-model}
            spec: {version: "1.0.0", artifacts: [base, eu-ft], accelerator: {type: h100, count: 2}}
            ---
            apiVersion: meridian/v1
            kind: Model
            metadata: {name: us-model}
            spec: {version: "2.0.0", artifacts: [base], accelerator: {type: h100, count: 1}}
            ---
            apiVersion: meridian/v1
            kind: Topology
            metadata: {name: eu-aa}
            spec:
              mode: active-active
              regions: [{name: eu-a, weight: 50}, {name: eu-b, weight: 50}]
              failover: [eu-c]
            ---
            apiVersion: meridian/v1
            kind: Topology
            metadata: {name: us-one}
            spec:
              mode: single-region
              regions: [{name: us-a}]
            ---
            apiVersion: meridian/v1
            kind: Placement
            metadata: {name: eu-chat}
            spec: {model: eu-model, topology: eu-aa, replicas: \(euReplicas)}
            ---
            apiVersion: meridian/v1
            kind: Placement
            metadata: {name: us-chat}
            spec: {model: us-model, topology: us-one, replicas: \(usReplicas)}
            """)
    }
}
