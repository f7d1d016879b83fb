public import Hummingbird
public import Logging
public import MeridianController
internal import Crypto
internal import Foundation
internal import NIOCore
public import Prometheus
internal import HTTPTypes

/// The controller's HTTP surface: `/healthz`, `/readyz`, `/metrics` (Prometheus text),
/// `/status` (JSON), and `POST /hooks/git` (GitHub-style push webhooks, verified by their
/// `X-Hub-Signature-256` HMAC, which start a cycle at once).
public enum ControllerHTTP {
    public static let maxWebhookBytes = 1 << 20

    public static func application(controller: Controller, registry: PrometheusCollectorRegistry, webhookSecret: [UInt8]?,
                                   host: String, port: Int, logger: Logger,
                                   onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        @Sendable func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
            Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
        }
        router.get("/healthz") { _, _ in json(.ok, #"{"status":"ok"}"#) }
        router.get("/readyz") { _, _ -> Response in
            let ready = await controller.isReady()
            let s = controller.status
            let body = #"{"ready":\#(ready),"leader":\#(s.leader),"reconciledOnce":\#(s.reconciledOnce)}"#
            return json(ready ? .ok : .serviceUnavailable, body)
        }
        router.get("/status") { _, _ -> Response in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            return json(.ok, String(decoding: (try? encoder.encode(controller.status)) ?? Data(), as: UTF8.self))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.post("/hooks/git") { request, _ -> Response in
            guard let secret = webhookSecret else { return json(.notFound, #"{"error":"no webhook secret is configured"}"#) }
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: maxWebhookBytes) } catch {
                return json(.contentTooLarge, #"{"error":"payload larger than 1 MiB"}"#)
            }
            let signature = request.headers[HTTPField.Name("X-Hub-Signature-256")!]
            guard verify(signature: signature, body: Array(body.readableBytesView), secret: secret) else {
                logger.warning("webhook refused: bad or missing X-Hub-Signature-256")
                return json(.unauthorized, #"{"error":"bad or missing X-Hub-Signature-256"}"#)
            }
            let event = request.headers[HTTPField.Name("X-GitHub-Event")!] ?? "push"
            if event == "ping" { return json(.ok, #"{"pong":true}"#) }
            await controller.trigger()
            return json(.accepted, #"{"triggered":true}"#)
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "meridian-controller"),
                           onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// `sha256=<hex HMAC-SHA256 of the body>`, compared in constant time.
    public static func verify(signature: String?, body: [UInt8], secret: [UInt8]) -> Bool {
        guard let signature, signature.hasPrefix("sha256=") else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        let expected = Array(("sha256=" + mac.map { String(format: "%02x", $0) }.joined()).utf8)
        let given = Array(signature.utf8)
        guard given.count == expected.count else { return false }
        var diff: UInt8 = 0
        for i in 0 ..< given.count { diff |= given[i] ^ expected[i] }
        return diff == 0
    }
}
