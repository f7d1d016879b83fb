public import MeridianCore
internal import AsyncHTTPClient
internal import Foundation
internal import NIOCore
internal import NIOHTTP1

/// Talks to a region agent (`meridian agent`) over HTTP/JSON: `GET /v1/observation` and
/// `POST /v1/execute`, with a bearer token. The protocol is in `schemas/region-agent.openapi.yaml`.
public struct HTTPRegionAdapter: RegionAdapter {
    public let region: RegionName
    let baseURL: String
    let token: String?
    let requestTimeout: TimeAmount
    /// The last observation body decoded, and what it decoded to. The executor observes before
    /// every action, and an agent answers a generation with the same bytes, so an equal body is
    /// reused instead of decoded again (comparing bytes is far cheaper than decoding them).
    let lastObservation = LastObservation()

    final class LastObservation: @unchecked Sendable {
        private let lock = NSLock()
        private var body: Data?
        private var value: RegionObservation?

        func decoded(_ new: Data) throws(JSONError) -> RegionObservation {
            if let hit = lock.withLock({ body == new ? value : nil }) { return hit }
            let decoded = try RegionObservation(json: new)
            lock.withLock {
                body = new
                value = decoded
            }
            return decoded
        }
    }

    /// One client per process: connections to each agent are pooled and reused.
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(timeout: .init(connect: .seconds(2), read: .seconds(30))))

    public static let maxBodyBytes = 64 << 20

    /// `requestTimeout`: seconds a whole request may take; connecting gives up after 2 s.
    public init(region: RegionName, url: String, token: String?, requestTimeout: Double = 15) {
        self.region = region
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        baseURL = base
        self.token = token
        self.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
    }

    public func observe() async throws(AdapterError) -> RegionObservation {
        let body = try await get("/v1/observation")
        do { return try lastObservation.decoded(body) } catch {
            throw .permanent("\(region): the agent's observation is not valid: \(error)")
        }
    }

    /// `GET /v1/observation?scope=named&artifact=…&placement=…`: the agent answers with the named
    /// keys only. The answer is restricted here as well, so an agent that ignores the scope (an
    /// older one) gives the same result.
    public func observe(artifacts: [String], placements: [String]) async throws(AdapterError) -> RegionObservation {
        let query = ["scope=named"] + artifacts.map { "artifact=" + Self.percentEncoded($0) } + placements.map { "placement=" + Self.percentEncoded($0) }
        let body = try await get("/v1/observation?" + query.joined(separator: "&"))
        do { return try RegionObservation(json: body).restricted(artifacts: artifacts, placements: placements) } catch {
            throw .permanent("\(region): the agent's observation is not valid: \(error)")
        }
    }

    /// Every byte but RFC 3986's unreserved ones, percent-encoded.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "0") ... UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }

    public func execute(_ command: RegionCommand, idempotencyKey: String) async throws(AdapterError) -> ExecutionResult {
        let request = AgentExecuteRequest(idempotencyKey: idempotencyKey, command: command)
        let body = try await send(.POST, "/v1/execute", body: Data(request.json().utf8))
        do { return try ExecutionResult(json: body) } catch {
            throw .permanent("\(region): the agent's answer to \(command.actionID) is not valid: \(error)")
        }
    }

    /// Executions per idempotency key, as the agent counts them (tests prove no duplicate effects with it).
    public func executions() async throws(AdapterError) -> [String: SimulatedRegion.Execution] {
        let body = try await get("/v1/executions")
        do { return try JSONDecoder().decode([String: SimulatedRegion.Execution].self, from: body) } catch {
            throw .permanent("\(region): the agent's executions are not valid: \(error)")
        }
    }

    /// The body of a successful `GET` of `path` (with its query), or the error the answer means.
    func get(_ path: String) async throws(AdapterError) -> Data { try await send(.GET, path, body: nil) }

    private func send(_ method: HTTPMethod, _ path: String, body: Data?) async throws(AdapterError) -> Data {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await Self.client.execute(request, timeout: requestTimeout)
            bytes = try await response.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw .transient("\(region): \(baseURL) did not answer: \(error)")
        }
        let data = Data(bytes.readableBytesView)
        let status = response.status.code
        if (200 ..< 300).contains(status) { return data }
        let failure = try? JSONDecoder().decode(AgentError.self, from: data)
        let message = "\(region): agent answered \(status): \(failure?.error ?? String(decoding: data.prefix(300), as: UTF8.self))"
        switch status {
        case 401, 403: throw .permanent(message)
        case 408, 429, 500 ..< 600: throw AdapterError(failure?.transient == false ? .permanent : .transient, message)
        default: throw AdapterError(failure?.transient == true ? .transient : .permanent, message)
        }
    }
}

/// The body of `POST /v1/execute`.
public struct AgentExecuteRequest: Sendable, Codable {
    public var idempotencyKey: String
    public var command: RegionCommand

    public init(idempotencyKey: String, command: RegionCommand) {
        self.idempotencyKey = idempotencyKey
        self.command = command
    }
}

/// The body of an agent's error answer.
public struct AgentError: Sendable, Codable {
    public var error: String
    public var transient: Bool

    public init(error: String, transient: Bool) {
        self.error = error
        self.transient = transient
    }
}
