public import MeridianCore
internal import Foundation

/// Runs a user's program for each call: one JSON request on its stdin, one JSON answer on its
/// stdout (the protocol is in the README, "Exec adapters"; `adapters/file-region` is an example).
///
/// - `{"protocol": 1, "op": "observe", "region": R}` → a region observation (SPEC §3 shape).
/// - `{"protocol": 1, "op": "execute", "region": R, "idempotencyKey": K, "command": {...}}` →
///   `{"generation": N, "replayed": false}`.
///
/// Exit 0 means success. Exit 75 (EX_TEMPFAIL) is a transient failure, retried; any other exit
/// status is permanent. stderr's last lines become the error message. A program that runs past
/// the timeout is killed, and that counts as transient.
public struct ExecRegionAdapter: RegionAdapter {
    public let region: RegionName
    let command: [String]
    let timeout: Double
    let workingDirectory: String?

    public static let maxOutputBytes = 16 << 20
    public static let transientExitStatus: Int32 = 75

    public init(region: RegionName, command: [String], timeout: Double = 30, workingDirectory: String? = nil) {
        self.region = region
        self.command = command
        self.timeout = timeout
        self.workingDirectory = workingDirectory
    }

    struct Request: Encodable {
        var `protocol` = 1
        var op: String
        var region: String
        var idempotencyKey: String?
        var command: RegionCommand?
    }

    public func observe() async throws(AdapterError) -> RegionObservation {
        let out = try await run(Request(op: "observe", region: region.rawValue))
        do { return try JSONDecoder().decode(RegionObservation.self, from: out) } catch {
            throw .permanent("\(region): \(command[0]) printed an invalid observation: \(error)")
        }
    }

    public func execute(_ c: RegionCommand, idempotencyKey: String) async throws(AdapterError) -> ExecutionResult {
        let out = try await run(Request(op: "execute", region: region.rawValue, idempotencyKey: idempotencyKey, command: c))
        do { return try JSONDecoder().decode(ExecutionResult.self, from: out) } catch {
            throw .permanent("\(region): \(command[0]) printed an invalid result for \(c.actionID): \(error)")
        }
    }

    private func run(_ request: Request) async throws(AdapterError) -> Data {
        guard let program = command.first else { throw .permanent("\(region): the exec adapter has no command") }
        guard let input = try? JSONEncoder().encode(request) else { throw .permanent("cannot encode the request") }
        let (status, out, err, timedOut) = await ProcessRunner.run(command, input: input, timeout: timeout,
                                                                    workingDirectory: workingDirectory, maxOutput: Self.maxOutputBytes)
        if timedOut { throw .transient("\(region): \(program) ran longer than \(timeout) s and was killed") }
        guard let status else { throw .permanent("\(region): \(program) could not be started: \(String(decoding: err, as: UTF8.self))") }
        if out.count > Self.maxOutputBytes { throw .permanent("\(region): \(program) printed more than \(Self.maxOutputBytes) bytes") }
        guard status == 0 else {
            let tail = String(decoding: err.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let message = "\(region): \(program) exited \(status)\(tail.isEmpty ? "" : ": \(tail)")"
            throw AdapterError(status == Self.transientExitStatus ? .transient : .permanent, message)
        }
        return out
    }
}

/// Runs a child process with stdin bytes, collecting bounded stdout and stderr, with a deadline.
enum ProcessRunner {
    static func run(_ argv: [String], input: Data, timeout: Double, workingDirectory: String?, maxOutput: Int) async
        -> (status: Int32?, out: Data, err: Data, timedOut: Bool) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: runBlocking(argv, input: input, timeout: timeout, workingDirectory: workingDirectory, maxOutput: maxOutput))
            }
        }
    }

    private static func runBlocking(_ argv: [String], input: Data, timeout: Double, workingDirectory: String?, maxOutput: Int)
        -> (status: Int32?, out: Data, err: Data, timedOut: Bool) {
        let process = Process()
        let program = argv[0]
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(argv.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = argv
        }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do { try process.run() } catch {
            return (nil, Data(), Data("\(error)".utf8), false)
        }
        let group = DispatchGroup()
        let out = Box(), err = Box()
        func drain(_ pipe: Pipe, into box: Box) {
            group.enter()
            DispatchQueue.global().async {
                var collected = Data()
                while true {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    if collected.count <= maxOutput { collected.append(chunk) }
                    if collected.count > maxOutput { process.terminate() }
                }
                box.data = collected
                group.leave()
            }
        }
        drain(stdout, into: out)
        drain(stderr, into: err)
        DispatchQueue.global().async {
            writeIgnoringBrokenPipe(input, to: stdin.fileHandleForWriting.fileDescriptor)
            try? stdin.fileHandleForWriting.close()
        }
        let deadline = DispatchTime.now() + timeout
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            process.waitUntilExit()
            finished.signal()
        }
        var timedOut = false
        if finished.wait(timeout: deadline) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
        }
        // A grandchild that inherited the pipes could hold them open: do not wait for it forever.
        if group.wait(timeout: .now() + (timedOut ? 2 : timeout + 2)) == .timedOut { timedOut = true }
        return (process.terminationStatus, out.data, err.data, timedOut)
    }

    /// Writes `input` to a child's stdin with SIGPIPE blocked on this thread. A program that
    /// exits without reading its request closes the pipe, and the write then raises SIGPIPE,
    /// whose default action killed meridian on the spot (status 141, no message). Blocked, the
    /// write fails with EPIPE instead and stops; the signal it left pending on this thread is
    /// taken before the mask is restored. The program's exit status and output then say what
    /// happened, as for any other failed call.
    static func writeIgnoringBrokenPipe(_ input: Data, to fd: Int32) {
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        defer {
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGPIPE) == 1 {
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&block, nil, &now)
            }
            pthread_sigmask(SIG_SETMASK, &old, nil)
        }
        input.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
        }
    }

    /// Written by one reader thread, read after the group is done.
    final class Box: @unchecked Sendable { var data = Data() }
}
