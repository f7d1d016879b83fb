internal import Foundation

/// The keys `--trusted-keys FILE` lists: SSH public keys, one per line (`ssh-ed25519 AAAA… comment`),
/// and ASCII-armored OpenPGP public key blocks, in any order. Lines starting with `#` are comments.
public struct TrustedKeys: Sendable {
    public let sshKeys: [String]
    public let pgpBlocks: [String]

    public init(sshKeys: [String], pgpBlocks: [String]) {
        self.sshKeys = sshKeys
        self.pgpBlocks = pgpBlocks
    }

    public static func load(path: String) throws(GitError) -> TrustedKeys {
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4 << 20 else {
            throw GitError(.environment, "\(path): trusted keys file cannot be read (or is over 4 MiB)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    public static func parse(_ text: String, source: String) throws(GitError) -> TrustedKeys {
        var ssh: [String] = []
        var pgp: [String] = []
        var block: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if var b = block {
                b.append(line)
                block = b
                if t == "-----END PGP PUBLIC KEY BLOCK-----" {
                    pgp.append(b.joined(separator: "\n") + "\n")
                    block = nil
                }
                continue
            }
            if t.isEmpty || t.hasPrefix("#") { continue }
            if t == "-----BEGIN PGP PUBLIC KEY BLOCK-----" { block = [line]; continue }
            let fields = t.split(separator: " ")
            if fields.count >= 2, fields[0].hasPrefix("ssh-") || fields[0].hasPrefix("ecdsa-") || fields[0].hasPrefix("sk-") {
                ssh.append(fields[0 ..< 2].joined(separator: " "))
                continue
            }
            throw GitError(.environment, "\(source): not an SSH public key or an OpenPGP key block: \(t.prefix(40))")
        }
        if block != nil { throw GitError(.environment, "\(source): an OpenPGP key block has no END line") }
        if ssh.isEmpty && pgp.isEmpty { throw GitError(.environment, "\(source): no trusted keys") }
        return TrustedKeys(sshKeys: ssh, pgpBlocks: pgp)
    }
}

/// Verifies a commit signature against trusted keys with the system's own tools:
/// `ssh-keygen -Y verify` for SSH signatures and `gpg --verify` (in a throwaway home holding
/// only the trusted keys) for OpenPGP ones. Each tool runs with a deadline.
public enum SignatureVerifier {
    public struct Verified: Sendable {
        public let format: String
        /// The key's fingerprint as the tool reports it.
        public let key: String
    }

    static let principal = "meridian-trusted"

    public static func verify(signature: String, data: [UInt8], commit: String, trustedKeys: TrustedKeys) throws(GitError) -> Verified {
        let short = commit.prefix(12)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meridian-verify-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw GitError(.environment, "cannot create a temporary directory for signature verification: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let sigFile = dir.appendingPathComponent("commit.sig")
        let dataFile = dir.appendingPathComponent("commit.data")
        do {
            try Data(signature.utf8).write(to: sigFile)
            try Data(data).write(to: dataFile)
        } catch {
            throw GitError(.environment, "cannot write signature files: \(error)")
        }

        if signature.hasPrefix("-----BEGIN SSH SIGNATURE-----") {
            guard !trustedKeys.sshKeys.isEmpty else {
                throw GitError(.untrusted, "commit \(short) has an SSH signature, and no SSH key is trusted")
            }
            let allowed = dir.appendingPathComponent("allowed_signers")
            let lines = trustedKeys.sshKeys.map { "\(principal) namespaces=\"git\" \($0)" }.joined(separator: "\n") + "\n"
            do { try Data(lines.utf8).write(to: allowed) } catch {
                throw GitError(.environment, "cannot write allowed signers: \(error)")
            }
            let r = try run("ssh-keygen", ["-Y", "verify", "-f", allowed.path, "-I", principal, "-n", "git", "-s", sigFile.path],
                            stdin: dataFile, environment: nil)
            guard r.status == 0 else {
                throw GitError(.untrusted, "commit \(short) is not signed by a trusted SSH key: \(firstLine(r.output))")
            }
            let key = r.output.range(of: "SHA256:").map { String(r.output[$0.lowerBound...].prefix { !$0.isWhitespace }) } ?? "?"
            return Verified(format: "ssh", key: key)
        }
        if signature.hasPrefix("-----BEGIN PGP SIGNATURE-----") {
            guard !trustedKeys.pgpBlocks.isEmpty else {
                throw GitError(.untrusted, "commit \(short) has an OpenPGP signature, and no OpenPGP key is trusted")
            }
            let home = dir.appendingPathComponent("gnupg")
            let keys = dir.appendingPathComponent("trusted.asc")
            do {
                try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try Data(trustedKeys.pgpBlocks.joined().utf8).write(to: keys)
            } catch {
                throw GitError(.environment, "cannot prepare a keyring: \(error)")
            }
            let env = ["GNUPGHOME": home.path]
            let imported = try run("gpg", ["--batch", "--quiet", "--import", keys.path], stdin: nil, environment: env)
            guard imported.status == 0 else {
                throw GitError(.environment, "the trusted OpenPGP keys cannot be imported: \(firstLine(imported.output))")
            }
            let r = try run("gpg", ["--batch", "--status-fd", "1", "--trust-model", "always", "--verify", sigFile.path, dataFile.path],
                            stdin: nil, environment: env)
            let status = r.output.split(separator: "\n")
            let bad = status.first { line in ["BADSIG", "ERRSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG"].contains { line.hasPrefix("[GNUPG:] \($0)") } }
            guard r.status == 0, bad == nil, let valid = status.first(where: { $0.hasPrefix("[GNUPG:] VALIDSIG ") }),
                  status.contains(where: { $0.hasPrefix("[GNUPG:] GOODSIG ") }) else {
                let why = bad.map(String.init) ?? (status.contains { $0.contains("NO_PUBKEY") } ? "signed by a key that is not trusted" : firstLine(r.output))
                throw GitError(.untrusted, "commit \(short) is not signed by a trusted OpenPGP key: \(why)")
            }
            let fingerprint = valid.split(separator: " ").dropFirst(2).first.map(String.init) ?? "?"
            return Verified(format: "openpgp", key: fingerprint)
        }
        throw GitError(.untrusted, "commit \(short) carries a signature of an unknown kind")
    }

    private static func firstLine(_ s: String) -> String {
        s.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map(String.init) ?? "no output"
    }

    struct Result {
        let status: Int32
        let output: String
    }

    /// Runs a tool found on PATH, with stdout and stderr together, killed after `timeout`.
    static func run(_ tool: String, _ arguments: [String], stdin: URL?, environment: [String: String]?, timeout: Double = 30) throws(GitError) -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        if let stdin {
            guard let handle = try? FileHandle(forReadingFrom: stdin) else { throw GitError(.environment, "cannot read \(stdin.path)") }
            process.standardInput = handle
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        do { try process.run() } catch {
            throw GitError(.environment, "\(tool) cannot be run (is it installed?): \(error)")
        }
        let timer = DispatchSource.makeTimerSource()
        timer.schedule(deadline: .now() + timeout)
        timer.setEventHandler { if process.isRunning { process.terminate() } }
        timer.resume()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        if process.terminationReason == .uncaughtSignal {
            throw GitError(.environment, "\(tool) did not finish within \(Int(timeout)) s")
        }
        return Result(status: process.terminationStatus, output: String(decoding: output.prefix(64 << 10), as: UTF8.self))
    }
}
