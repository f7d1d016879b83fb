public import MeridianCore
internal import Foundation

/// The observed-state snapshot (SPEC §3): read for `--observed FILE`, written by `observe`.
public enum ObservedSnapshot {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static let maxBytes = 256 << 20

    public static func load(path: String) throws(Error) -> ObservedState {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Error(description: "\(path): cannot be read") }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maxBytes + 1)) ?? Data()
        if data.count > maxBytes { throw Error(description: "\(path): larger than \(maxBytes) bytes") }
        return try decode(data, source: path)
    }

    public static func decode(_ bytes: [UInt8], source: String) throws(Error) -> ObservedState {
        try decode(Data(bytes), source: source)
    }

    static func decode(_ data: Data, source: String) throws(Error) -> ObservedState {
        let state: ObservedState
        do {
            state = try JSONDecoder().decode(ObservedState.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw Error(description: "\(source): not valid JSON: \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw Error(description: "\(source): \(path(context.codingPath + [key])): missing")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Error(description: "\(source): \(path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw Error(description: "\(source): \(path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw Error(description: "\(source): \(error)")
        }
        guard state.formatVersion == 1 else {
            throw Error(description: "\(source): formatVersion \(state.formatVersion) is not supported (this Meridian reads 1)")
        }
        return state
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// Deterministic JSON: sorted keys, pretty-printed.
    public static func encode(_ state: ObservedState) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(state)) ?? Data(), as: UTF8.self) + "\n"
    }
}
