public import Logging
internal import Foundation
internal import Synchronization

/// `--log-format json`: one JSON object per line on stderr, with the message, level, label,
/// timestamp and every metadata key as a field.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    static let lock = Mutex(())

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = ["ts": ISO8601DateFormatter().string(from: Date()), "level": event.level.rawValue, "logger": label,
                                        "msg": event.message.description]
        for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[k] = "\(v)" }
        if let error = event.error { fields["error"] = "\(error)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(fields) else { return }
        data.append(0x0A)
        Self.lock.withLock { _ in FileHandle.standardError.write(data) }
    }
}

/// `--log-format text` (and the agent's log): `StreamLogHandler`'s line on stderr, but the
/// metadata is formatted when a line is logged, not each time it changes. Hummingbird sets a
/// request id on every request's logger; `StreamLogHandler` formatted all of the metadata each
/// time, which was about 3% of a loaded agent's CPU, at a level that logs nothing.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    static let lock = Mutex(())

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let pretty = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\($0)" } ?? ""
        let line = "\(ISO8601DateFormatter().string(from: Date())) \(event.level) \(label) :\(pretty)\(error) [\(event.source)] \(event.message)\n"
        Self.lock.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }
}
