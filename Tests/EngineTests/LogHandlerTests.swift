import Foundation
import Logging
@testable import MeridianController
import Testing

/// The log handler of the controller and the agent.
@Suite("Log lines")
struct LogHandlerTests {
    /// A metadata value that counts how often it is formatted.
    final class Counted: CustomStringConvertible, @unchecked Sendable {
        let lock = NSLock()
        var formatted = 0
        var description: String {
            lock.withLock { formatted += 1 }
            return "req-7"
        }
    }

    func event(_ level: Logger.Level, _ message: Logger.Message, metadata: Logger.Metadata? = nil) -> LogEvent {
        LogEvent(level: level, message: message, metadata: metadata, source: "meridian", file: #fileID, function: #function, line: #line)
    }

    @Test("metadata is formatted when a line is made, not each time it is set; text lines list it sorted by key")
    func lazyMetadata() throws {
        let id = Counted()
        var h = StderrLogHandler(label: "meridian.agent", format: .text)
        h.logLevel = .warning
        for _ in 0 ..< 100 {
            h[metadataKey: "hb.request.id"] = .stringConvertible(id)
            h[metadataKey: "a"] = "1"
        }
        #expect(id.formatted == 0)
        let line = try #require(h.line(event(.warning, "slow", metadata: ["z": "last"]), timestamp: "T"))
        #expect(String(decoding: line, as: UTF8.self) == "T warning meridian.agent : a=1 hb.request.id=req-7 z=last [meridian] slow\n")
        #expect(id.formatted == 1)
    }

    @Test("JSON lines: one object per line, every metadata key a field, the event's own metadata winning")
    func jsonLines() throws {
        var h = StderrLogHandler(label: "meridian.controller", format: .json)
        h[metadataKey: "commit"] = "abc/def"
        h[metadataKey: "region"] = "eu-west"
        let line = try #require(h.line(event(.info, "cycle \"done\"", metadata: ["region": "us-east"]), timestamp: "T"))
        #expect(line.last == 0x0A && !line.dropLast().contains(0x0A))
        let fields = try JSONDecoder().decode([String: String].self, from: line)
        #expect(fields == ["ts": "T", "level": "info", "logger": "meridian.controller", "msg": "cycle \"done\"",
                           "commit": "abc/def", "region": "us-east"])
    }
}
