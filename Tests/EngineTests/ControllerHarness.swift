import Foundation
import Testing

/// Where the tests' PostgreSQL is (scripts/postgres.sh starts it; scripts/test.sh exports this).
enum Postgres {
    static var baseURL: String? { ProcessInfo.processInfo.environment["MERIDIAN_TEST_POSTGRES"] }

    /// A fresh database for one test, so tests never share a lease or a ledger.
    static func freshDatabase() throws -> String {
        guard let base = baseURL, !base.isEmpty else {
            throw HarnessError("MERIDIAN_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts PostgreSQL (scripts/postgres.sh)")
        }
        guard var c = URLComponents(string: base) else { throw HarnessError("MERIDIAN_TEST_POSTGRES is not a URL: \(base)") }
        let name = "mt_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        let r = try Shell.run(["psql", base, "-qtAc", "CREATE DATABASE \(name)"])
        guard r.status == 0 else { throw HarnessError("createdb: \(r.stderr)") }
        c.path = "/" + name
        return c.string!
    }

    static func query(_ url: String, _ sql: String) throws -> String {
        let r = try Shell.run(["psql", url, "-qtAc", sql])
        guard r.status == 0 else { throw HarnessError("psql: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

enum Shell {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ argv: [String], in dir: String? = nil, input: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        if let dir { p.currentDirectoryURL = URL(fileURLWithPath: dir) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        let box = Box()
        let g = DispatchGroup()
        g.enter()
        DispatchQueue.global().async { box.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        g.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: box.data, as: UTF8.self))
    }

    final class Box: @unchecked Sendable { var data = Data() }

    static func git(_ args: [String], in dir: String) throws {
        let r = try run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"] + args, in: dir)
        guard r.status == 0 else { throw HarnessError("git \(args): \(r.stderr)") }
    }
}

/// Minimal HTTP through curl: status and body.
enum HTTP {
    static func request(_ url: String, method: String = "GET", body: String? = nil, headers: [String: String] = [:]) throws -> (Int, String) {
        var argv = ["curl", "-s", "-m", "5", "-X", method, "-o", "-", "-w", "\n%{http_code}"]
        for (k, v) in headers { argv += ["-H", "\(k): \(v)"] }
        if body != nil { argv += ["--data-binary", "@-"] }
        argv.append(url)
        let r = try Shell.run(argv, input: body)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    static func json(_ url: String) -> [String: Any]? {
        guard let (status, body) = try? request(url), status == 200,
              let obj = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
        return obj
    }
}

/// Waits until `condition` holds, polling; false on timeout.
func eventually(_ timeout: Double, every: Double = 0.1, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: every)
    }
    return try condition()
}

/// A `meridian controller` child process; its stderr goes to a file the test can read at any time.
final class ControllerProcess: @unchecked Sendable {
    let process = Process()
    let logPath: String
    private(set) var port = 0
    var base: String { "http://127.0.0.1:\(port)" }

    init(_ arguments: [String], in dir: String, name: String) throws {
        logPath = dir + "/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = Meridian.binary
        process.arguments = ["controller"] + arguments + ["--listen", "127.0.0.1:0", "--holder", name]
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        let found = eventually(20) {
            for line in self.log.split(separator: "\n") where line.contains("listening") {
                guard let r = line.range(of: "127.0.0.1:") else { continue }
                if let n = Int(line[r.upperBound...].prefix { $0.isNumber }), n > 0 {
                    self.port = n
                    return true
                }
            }
            return false
        }
        if !found {
            process.terminate()
            throw HarnessError("controller \(name) did not start:\n\(log)")
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var status: [String: Any]? { HTTP.json(base + "/status") }
    var isLeader: Bool { status?["leader"] as? Bool ?? false }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill9()
        }
    }
}
