public import Logging
internal import Foundation
internal import Synchronization

/// Log lines on stderr, one per event, with the message, level, label, timestamp and every
/// metadata key. `.json` (`--log-format json`): one JSON object per line, each metadata key a
/// field. `.text` (`--log-format text`, and the agent's log): `StreamLogHandler`'s line.
///
/// Metadata is formatted when a line is logged, not each time it changes: Hummingbird sets a
/// request id on every request's logger, and `StreamLogHandler` formatted all of the metadata
/// each time, about 3% of a loaded agent's CPU, at a level that logs nothing.
public struct StderrLogHandler: LogHandler {
    public enum Format: Sendable { case text, json }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let format: Format
    static let lock = Mutex(())

    public init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard let line = line(event, timestamp: ISO8601DateFormatter().string(from: Date())) else { return }
        Self.lock.withLock { _ in FileHandle.standardError.write(line) }
    }

    /// The line `log` writes, with its final newline: the metadata is read here, and only here.
    func line(_ event: LogEvent, timestamp ts: String) -> Data? {
        let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        var line: Data
        switch format {
        case .json:
            var fields: [String: String] = ["ts": ts, "level": event.level.rawValue, "logger": label, "msg": event.message.description]
            for (k, v) in all { fields[k] = "\(v)" }
            if let error = event.error { fields["error"] = "\(error)" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(fields) else { return nil }
            line = data
        case .text:
            let pretty = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            let error = event.error.map { " error=\($0)" } ?? ""
            line = Data("\(ts) \(event.level) \(label) :\(pretty)\(error) [\(event.source)] \(event.message)".utf8)
        }
        line.append(0x0A)
        return line
    }
}
