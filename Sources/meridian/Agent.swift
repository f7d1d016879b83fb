internal import ArgumentParser
internal import Foundation
internal import Logging
internal import MeridianController
internal import MeridianServer

struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The region agent: serves the HTTP region protocol (schemas/region-agent.openapi.yaml) for one region.",
        discussion: """
        State lives in SQLite in --data. Every request but GET /healthz needs `Authorization: Bearer <token>`.
        The agent refuses to stage, deploy or route anything whose fence leaves its own --jurisdiction out.
        --fail-rate and --delay inject faults for testing.
        """)

    @Option(help: "The region this agent serves.")
    var region: String

    @Option(help: ArgumentHelp("Address to listen on (port 0 picks a free port, printed on stderr).", valueName: "host:port"))
    var listen: String = "127.0.0.1:8443"

    @Option(help: ArgumentHelp("Directory for the agent's SQLite state.", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("File holding the bearer token.", valueName: "file"))
    var tokenFile: String

    @Option(help: ArgumentHelp("The jurisdiction this region attests.", valueName: "j"))
    var jurisdiction: String

    @Option(name: .customLong("accelerator"), help: ArgumentHelp("Accelerators on first start, TYPE=COUNT (repeatable).", valueName: "type=count"))
    var accelerators: [String] = []

    @Option(help: ArgumentHelp("Fault injection: the share (0…1) of execute requests answered 503.", valueName: "rate"))
    var failRate: Double = 0

    @Option(help: ArgumentHelp("Fault injection: every Nth execute request is answered 503, alternately after and before its effect.", valueName: "n"))
    var failEvery: Int = 0

    @Option(help: ArgumentHelp("Fault injection: seconds added to every request.", valueName: "seconds"))
    var delay: Double = 0

    @Option(help: ArgumentHelp("Seconds a deployment takes to become ready.", valueName: "seconds"))
    var readyAfter: Double = 0

    @Option(help: "Log format.")
    var logFormat: String = "text"

    func validate() throws {
        if !(0 ... 1).contains(failRate) { throw ValidationError("--fail-rate must be between 0 and 1") }
        if delay < 0 || readyAfter < 0 { throw ValidationError("--delay and --ready-after must not be negative") }
    }

    func run() async throws {
        var capacity: [String: Int] = [:]
        for a in accelerators {
            let parts = a.split(separator: "=")
            guard parts.count == 2, let n = Int(parts[1]), n >= 0 else { throw ValidationError("--accelerator \(a): expected TYPE=COUNT") }
            capacity[String(parts[0]), default: 0] += n
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0 ... 65535).contains(port) else {
            throw ValidationError("--listen \(listen): expected host:port")
        }
        let host = String(listen[..<colon])
        guard let raw = FileManager.default.contents(atPath: tokenFile), raw.count < 4096 else {
            Output.err("meridian agent: \(tokenFile): cannot be read (or larger than 4 KiB)")
            throw Exit.environment
        }
        let token = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 16 else {
            Output.err("meridian agent: \(tokenFile): the token must be at least 16 characters")
            throw Exit.environment
        }
        var config = RegionAgent.Configuration(region: region, jurisdiction: jurisdiction, accelerators: capacity, dataDirectory: data, token: token)
        config.failRate = failRate
        config.failEvery = max(0, failEvery)
        config.delay = delay
        config.readyAfter = readyAfter
        let agent: RegionAgent
        do { agent = try RegionAgent(config) } catch {
            Output.err("meridian agent: \(error)")
            throw Exit.environment
        }
        var logger = Logger(label: "meridian.agent") { StderrLogHandler(label: $0, format: .text) }
        logger.logLevel = .warning
        let region = self.region
        do {
            try await agent.serve(host: host, port: port, logger: logger) { bound in
                Output.err("meridian agent: region \(region) listening on \(host):\(bound)")
            }
        } catch {
            Output.err("meridian agent: \(error)")
            throw Exit.environment
        }
    }
}
