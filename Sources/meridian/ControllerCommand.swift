internal import ArgumentParser
internal import Foundation
internal import Logging
internal import MeridianController
internal import MeridianEngine
internal import MeridianServer
internal import Metrics
internal import Prometheus
internal import ServiceLifecycle
internal import UnixSignals

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "The long-running reconciler: git polling and push webhook, drift correction, probes, metrics, HA on PostgreSQL.",
        subcommands: [Run.self, Suspend.self, Resume.self, Status.self],
        defaultSubcommand: Run.self)

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Reconcile continuously (the default subcommand).",
            discussion: """
            Each cycle fetches --ref, checks the commit (signature, validity; a refused commit leaves the last good one in
            force), observes every region, plans, re-checks the fences and applies. A cycle with the same commit and the
            same observations does nothing. Failures back off. With --state postgres://… several replicas run and one
            leads, through a lease with a fencing token; with SQLite a second replica is refused. SIGTERM finishes the
            actions in flight, releases the lease and exits 0.
            """)

        @Option(help: ArgumentHelp("The git repository: a path, or a URL.", valueName: "path|url"))
        var repo: String

        @Option(help: "The branch, tag or commit to follow.")
        var ref: String = "main"

        @Option(help: ArgumentHelp("The manifest directory inside the repository.", valueName: "subdir"))
        var path: String = "manifests"

        @Option(help: ArgumentHelp("Time between cycles: 60s, 5m, 1h, 500ms, or seconds.", valueName: "duration"))
        var interval: String = "60s"

        @OptionGroup var state: StateOptions

        @Flag(help: "Plan every cycle, apply nothing.")
        var dryRun = false

        @Option(help: ArgumentHelp("Address for /healthz, /readyz, /metrics, /status and /hooks/git.", valueName: "host:port"))
        var listen: String = "127.0.0.1:9090"

        @Option(help: ArgumentHelp("File holding the webhook's HMAC secret (without it, /hooks/git answers 404).", valueName: "file"))
        var webhookSecretFile: String?

        @Option(help: ArgumentHelp("Seconds the leader's lease lasts without renewal.", valueName: "seconds"))
        var leaseTTL: Double = 15

        @Option(help: ArgumentHelp("This replica's name in the lease (default: hostname-pid).", valueName: "name"))
        var holder: String?

        @Option(help: "Log format: text or json.")
        var logFormat: String = "text"

        @Flag(help: "Accept only commits signed by one of --trusted-keys.")
        var verifySignatures = false

        @Option(help: ArgumentHelp("SSH public keys and armored OpenPGP public keys.", valueName: "file"))
        var trustedKeys: String?

        @Option(help: ArgumentHelp("Seconds a fetch may take.", valueName: "seconds"))
        var fetchTimeout: Double = 60

        @Option(help: ArgumentHelp("Where fetched repositories are cached.", valueName: "dir"))
        var cacheDir: String?

        @Option(help: "The most undeploy and delete-artifact actions one cycle applies without --allow-destroy.")
        var maxDestroy: Int?

        @Flag(help: "Apply plans over the destroy budget.")
        var allowDestroy = false

        @Option(help: "Actions in flight at once, over all regions.")
        var parallelism = 32

        func validate() throws {
            if Duration.seconds(interval) == nil { throw ValidationError("--interval \(interval): expected 60s, 5m, 1h, 500ms or seconds") }
            if !["text", "json"].contains(logFormat) { throw ValidationError("--log-format must be text or json") }
            if leaseTTL < 1 { throw ValidationError("--lease-ttl must be at least 1 second") }
            if verifySignatures && trustedKeys == nil { throw ValidationError("--verify-signatures needs --trusted-keys FILE") }
        }

        func run() async throws {
            let format = logFormat
            LoggingSystem.bootstrap { label in
                var h = StderrLogHandler(label: label, format: format == "json" ? .json : .text)
                h.logLevel = .info
                return h
            }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let logger = Logger(label: "meridian.controller")
            let name = holder ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"

            let store: any StateStore
            if state.url.hasPrefix("sqlite:") {
                store = try state.open(exclusive: true)
            } else {
                do { store = try await PostgresStateStore(url: state.url, holder: name, logger: logger, leaseTTL: leaseTTL) } catch {
                    Output.err("meridian controller: \(error)")
                    throw Exit.environment
                }
            }
            var secret: [UInt8]?
            if let webhookSecretFile {
                guard let data = FileManager.default.contents(atPath: webhookSecretFile), !data.isEmpty, data.count < 4096 else {
                    Output.err("meridian controller: \(webhookSecretFile): cannot be read, is empty, or is larger than 4 KiB")
                    throw Exit.environment
                }
                secret = Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            }
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                throw ValidationError("--listen \(listen): expected host:port")
            }
            var config = Controller.Configuration(repository: repo)
            config.ref = ref
            config.path = path
            config.interval = Duration.seconds(interval) ?? 60
            config.dryRun = dryRun
            config.verifySignatures = verifySignatures
            config.trustedKeys = trustedKeys
            config.fetchTimeout = fetchTimeout
            config.cacheDirectory = cacheDir
            config.leaseTTL = leaseTTL
            config.maxDestroy = maxDestroy
            config.allowDestroy = allowDestroy
            config.executor.parallelism = parallelism
            let controller = Controller(config, store: store, holder: name, environment: ProcessInfo.processInfo.environment, logger: logger)
            let http = ControllerHTTP.application(controller: controller, registry: registry, webhookSecret: secret,
                                                  host: String(listen[..<colon]), port: port, logger: logger) { bound in
                logger.info("listening", metadata: ["address": "\(listen[..<colon]):\(bound)", "holder": "\(name)"])
            }
            let group = ServiceGroup(configuration: .init(services: [.init(service: controller), .init(service: http)],
                                                          gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            do { try await group.run() } catch {
                Output.err("meridian controller: \(error)")
                throw Exit.environment
            }
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop reconciling (the controller keeps serving probes and status).")
        @OptionGroup var state: StateOptions
        func run() async throws { try await ControllerCommand.setSuspended(true, state) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reconcile again after suspend.")
        @OptionGroup var state: StateOptions
        func run() async throws { try await ControllerCommand.setSuspended(false, state) }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the controller's last recorded status (JSON).")
        @OptionGroup var state: StateOptions
        func run() async throws {
            let store = try await ControllerCommand.open(state)
            do {
                let (body, suspended) = try await store.status()
                Output.out(body)
                if suspended { Output.err("meridian: reconciling is suspended") }
            } catch {
                Output.err("meridian: \(error)")
                throw Exit.environment
            }
        }
    }

    static func open(_ state: StateOptions) async throws -> any StateStore {
        if state.url.hasPrefix("sqlite:") { return try state.open(exclusive: false) }
        do { return try await PostgresStateStore(url: state.url, holder: "cli-\(getpid())", logger: Logger(label: "meridian.cli")) } catch {
            Output.err("meridian: \(error)")
            throw Exit.environment
        }
    }

    static func setSuspended(_ value: Bool, _ state: StateOptions) async throws {
        let store = try await open(state)
        do { try await store.setSuspended(value) } catch {
            Output.err("meridian: \(error)")
            throw Exit.environment
        }
        Output.out(value ? "suspended: the controller stops reconciling at its next cycle" : "resumed")
    }
}

extension Duration {
    /// "60s", "5m", "1h", "500ms", or a number of seconds.
    static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let v = Double(text.dropLast(suffix.count)), v > 0 else { return nil }
            return v * factor
        }
        guard let v = Double(text), v > 0 else { return nil }
        return v
    }
}
