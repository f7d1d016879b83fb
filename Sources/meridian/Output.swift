internal import Foundation
internal import MeridianCore
internal import Synchronization

/// Data goes to stdout, diagnostics and errors to stderr (SPEC §6).
enum Output {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Data to a file or, without one, to stdout. A regular file (or a new one) is replaced
    /// atomically, so a reader never sees half a plan. A symbolic link is written through to its
    /// target, and anything else (`/dev/null`, a FIFO, a terminal) is written in place: renaming
    /// over them would put a regular file where the link or the device was (as root, even
    /// `/dev/null`).
    static func emit(_ text: String, to file: String?) throws {
        var text = text
        try emit(to: file) { write in try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) } }
    }

    /// `emit` for output made in pieces (a large plan's JSON): each piece is written as it
    /// comes, never all held at once. A regular file is written to a temporary file beside it
    /// and renamed over it at the end, so it is still replaced atomically; a failure leaves the
    /// old file as it was and removes the temporary one.
    static func emit(to file: String?, _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        guard let file else {
            try produce { bytes in FileHandle.standardOutput.write(data(bytes)) }
            return
        }
        let target = URL(fileURLWithPath: file).resolvingSymlinksInPath()
        let type = (try? FileManager.default.attributesOfItem(atPath: target.path))?[.type] as? FileAttributeType
        var temporary: String?
        do {
            let handle: FileHandle
            if let type, type != .typeRegular {
                guard let h = FileHandle(forWritingAtPath: target.path) else { throw CocoaError(.fileWriteNoPermission) }
                handle = h
            } else {
                let path = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).meridian-\(UUID().uuidString.prefix(8))").path
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
                guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                temporary = path
                handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            }
            defer { try? handle.close() }
            try produce { bytes in try handle.write(contentsOf: data(bytes)) }
            if let temporary {
                try handle.synchronize()
                guard rename(temporary, target.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            }
        } catch {
            if let temporary { unlink(temporary) }
            err("meridian: \(file): \(error)")
            throw Exit.environment
        }
    }

    /// `Data` that borrows the bytes' storage (valid while they are): a plan's JSON is written
    /// without a second copy of it in memory.
    private static func data(_ bytes: UnsafeRawBufferPointer) -> Data {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return Data() }
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count, deallocator: .none)
    }

    /// What a command held until its end (a loaded fleet, its parse cache, a plan), kept past
    /// it and let go of only by the process exiting: the system takes the memory back at once,
    /// where releasing a 100,000-object fleet object by object took a tenth of a second after
    /// the output was already written. For the commands that run once and exit, never for the
    /// controller or the agent.
    private static let keptUntilExit = Mutex<[any Sendable]>([])

    static func keepUntilExit(_ values: any Sendable...) {
        keptUntilExit.withLock { $0.append(contentsOf: values) }
    }

    static func report(_ diagnostics: [Diagnostic]) {
        guard !diagnostics.isEmpty else { return }
        err(diagnostics.map(\.description).joined(separator: "\n"))
    }
}
