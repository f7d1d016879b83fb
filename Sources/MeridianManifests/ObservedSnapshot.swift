public import MeridianCore
internal import Foundation

/// The observed-state snapshot (SPEC §3): read for `--observed FILE`, written by `observe`.
public enum ObservedSnapshot {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static let maxBytes = 256 << 20

    public static func load(path: String) throws(Error) -> ObservedState {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw Error(description: "\(path): is a directory, not a snapshot file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Error(description: "\(path): cannot be read") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxBytes + 1) ?? Data() } catch {
            throw Error(description: "\(path): cannot be read: \(error.localizedDescription)")
        }
        if data.count > maxBytes { throw Error(description: "\(path): larger than \(maxBytes) bytes") }
        return try decode(data, source: path)
    }

    public static func decode(_ bytes: [UInt8], source: String) throws(Error) -> ObservedState {
        try decode(Data(bytes), source: source)
    }

    static func decode(_ data: Data, source: String) throws(Error) -> ObservedState {
        let state: ObservedState
        do {
            state = try ObservedState(json: data)
        } catch {
            throw Error(description: "\(source): \(error.description)")
        }
        guard state.formatVersion == 1 else {
            throw Error(description: "\(source): formatVersion \(state.formatVersion) is not supported (this Meridian reads 1)")
        }
        // Each distinct digest is held once: the decoder shares them as it reads (`SharedStrings`).
        return state
    }

    /// Deterministic JSON, keys in byte order, indented as the plan JSON is (`"key": value`, an
    /// empty object as `{}`): Foundation's pretty printer wrote `"key" : {` and spread an empty
    /// object over three lines.
    public static func encode(_ state: ObservedState) -> String {
        var w = JSONWriter(pretty: true)
        w.beginObject()
        w.key("formatVersion"); w.int(state.formatVersion)
        w.key("regions")
        w.object(state.regions) { w, o in o.write(into: &w) }
        w.endObject()
        return w.finish()
    }
}
