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
        return sharingDigests(state)
    }

    /// The copies of one artifact in many regions report one digest: after decoding, each
    /// distinct digest is held once (the benchmark snapshot's 60,000 copies carry fewer than
    /// 10,000 digests, 5.6 MB of duplicate strings). Digests are shared only when byte for byte
    /// the same, so every copy's digest is exactly as the snapshot wrote it.
    static func sharingDigests(_ state: consuming ObservedState) -> ObservedState {
        var seen = Set<ExactString>()
        var i = state.regions.values.startIndex
        while i != state.regions.values.endIndex {
            var j = state.regions.values[i].artifacts.values.startIndex
            while j != state.regions.values[i].artifacts.values.endIndex {
                let digest = state.regions.values[i].artifacts.values[j].digest
                let shared = seen.insert(ExactString(digest)).memberAfterInsert.value
                state.regions.values[i].artifacts.values[j].digest = shared
                state.regions.values[i].artifacts.values.formIndex(after: &j)
            }
            state.regions.values.formIndex(after: &i)
        }
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
