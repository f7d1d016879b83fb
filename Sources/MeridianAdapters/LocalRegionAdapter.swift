public import MeridianCore
internal import Foundation

/// A region whose state lives in a directory (`.meridian/regions/<name>` unless the manifest says
/// otherwise): the demo's default, and a stand-in for a real region in tests. The state is one
/// JSON file, `region.json`, replaced atomically (temp file, fsync, rename, fsync of the directory)
/// under an advisory lock, so two processes never interleave and a crash leaves the old or the new
/// state, never half of either. Capacity is simulated from the region's declared accelerators.
public struct LocalRegionAdapter: RegionAdapter {
    public let region: RegionName
    public let directory: String
    let jurisdiction: String
    let accelerators: [String: Int]

    public static let maxStateBytes = 64 << 20

    public init(region: RegionName, directory: String, jurisdiction: String, accelerators: [String: Int]) {
        self.region = region
        self.directory = directory
        self.jurisdiction = jurisdiction
        self.accelerators = accelerators
    }

    var stateFile: String { directory + "/region.json" }

    public func observe() async throws(AdapterError) -> RegionObservation {
        try read().observation
    }

    public func execute(_ command: RegionCommand, idempotencyKey: String) async throws(AdapterError) -> ExecutionResult {
        try locked { () throws(AdapterError) -> ExecutionResult in
            var state = try read()
            let result = try state.execute(command, key: idempotencyKey)
            try write(state)
            return result
        }
    }

    /// The region's whole simulated state (executions per key included), for tests and `observe`.
    public func state() throws(AdapterError) -> SimulatedRegion { try read() }

    /// Replaces the region's state, as someone acting behind Meridian's back would (drift).
    public func overwrite(_ state: SimulatedRegion) throws(AdapterError) {
        try locked { () throws(AdapterError) in try write(state) }
    }

    private func read() throws(AdapterError) -> SimulatedRegion {
        guard let handle = FileHandle(forReadingAtPath: stateFile) else {
            if FileManager.default.fileExists(atPath: stateFile) { throw .permanent("\(stateFile) cannot be read") }
            return SimulatedRegion(name: region.rawValue, jurisdiction: jurisdiction, accelerators: accelerators)
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: Self.maxStateBytes + 1)) ?? Data()
        if data.count > Self.maxStateBytes { throw .permanent("\(stateFile) is larger than \(Self.maxStateBytes) bytes") }
        do {
            return try JSONDecoder().decode(SimulatedRegion.self, from: data)
        } catch {
            throw .permanent("\(stateFile) is not a region state: \(error)")
        }
    }

    private func write(_ state: SimulatedRegion) throws(AdapterError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(state) else { throw .permanent("cannot encode the state of \(region)") }
        try AtomicFile.write([UInt8](data), to: stateFile)
    }

    private func locked<T>(_ body: () throws(AdapterError) -> T) throws(AdapterError) -> T {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .permanent("cannot create \(directory): \(error)")
        }
        let fd = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .permanent("cannot open \(directory)/lock: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw .transient("cannot lock \(directory): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

/// Replace a file so that readers and crashes see the old bytes or the new, never a mix.
public enum AtomicFile {
    public static func write(_ data: [UInt8], to path: String) throws(AdapterError) {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(path).tmp.\(getpid()).\(UInt64.random(in: 0 ... .max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .permanent("cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw .permanent("cannot write \(path): \(why)")
        }
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}
