import Foundation
import MeridianManifests
import Testing

/// Real signed commits: an ssh-keygen key and a gpg key, both made in the test's temporary home.
@Suite("Signature verification")
struct SignatureTests {
    /// Makes an SSH key pair in the fixture's home; returns (private key path, public key line).
    func sshKey(_ g: GitFixture, _ name: String) throws -> (String, String) {
        let key = g.home.appendingPathComponent(name).path
        try g.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key])
        return (key, try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func sshSign(_ key: String) -> [String] { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\(key)", "-c", "commit.gpgsign=true"] }

    /// Makes an OpenPGP key in the fixture's GNUPGHOME; returns (fingerprint, armored public key).
    func gpgKey(_ g: GitFixture, _ email: String) throws -> (String, String) {
        try g.run("gpg", ["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Meridian Test <\(email)>", "ed25519", "sign", "never"])
        let listing = try g.run("gpg", ["--batch", "--with-colons", "--list-secret-keys", email])
        let fpr = try #require(listing.split(separator: "\n").first { $0.hasPrefix("fpr:") }?.split(separator: ":", omittingEmptySubsequences: false)[9])
        return (String(fpr), try g.run("gpg", ["--batch", "--armor", "--export", String(fpr)]))
    }

    func gpgSign(_ fpr: String) -> [String] { ["-c", "user.signingkey=\(fpr)", "-c", "gpg.format=openpgp", "-c", "commit.gpgsign=true"] }

    @Test("an SSH-signed commit is accepted by its key and refused by another")
    func ssh() throws {
        let g = try GitFixture()
        let (key, pub) = try sshKey(g, "alice")
        let (_, otherPub) = try sshKey(g, "mallory")
        try g.writeFleet(count: 1)
        let sha = try g.commit("signed", sign: sshSign(key))
        let source = GitSource(repository: g.root.path)

        let verified = try source.verify(commit: sha, trustedKeys: TrustedKeys.parse("# team keys\n\(otherPub)\n\(pub)\n", source: "keys"))
        #expect(verified.format == "ssh")
        #expect(verified.key.hasPrefix("SHA256:"))

        let untrusted = gitRefusal { _ = try source.verify(commit: sha, trustedKeys: TrustedKeys.parse(otherPub, source: "keys")) }
        #expect(untrusted?.kind == .untrusted)
        #expect(untrusted?.message.hasPrefix("commit \(sha.prefix(12)) is not signed by a trusted SSH key") == true)
    }

    @Test("an OpenPGP-signed commit is accepted by its key and refused by another")
    func openpgp() throws {
        let g = try GitFixture()
        let (fpr, armored) = try gpgKey(g, "alice@example.com")
        let (_, otherArmored) = try gpgKey(g, "mallory@example.com")
        try g.writeFleet(count: 1)
        let sha = try g.commit("signed", sign: gpgSign(fpr))
        let source = GitSource(repository: g.root.path)

        let verified = try source.verify(commit: sha, trustedKeys: TrustedKeys.parse(armored, source: "keys"))
        #expect(verified.format == "openpgp")
        #expect(verified.key == fpr)

        let untrusted = gitRefusal { _ = try source.verify(commit: sha, trustedKeys: TrustedKeys.parse(otherArmored, source: "keys")) }
        #expect(untrusted?.kind == .untrusted)
        #expect(untrusted?.message.contains("not signed by a trusted OpenPGP key") == true)
    }

    @Test("an unsigned head is refused, whatever keys are trusted")
    func unsigned() throws {
        let g = try GitFixture()
        let (_, pub) = try sshKey(g, "alice")
        try g.writeFleet(count: 1)
        let sha = try g.commit("unsigned")
        let error = gitRefusal { _ = try GitSource(repository: g.root.path).verify(commit: sha, trustedKeys: TrustedKeys.parse(pub, source: "k")) }
        #expect(error?.kind == .untrusted)
        #expect(error?.message == "commit \(sha.prefix(12)) is not signed; --verify-signatures accepts only signed commits")
    }

    @Test("a signed commit whose content was changed no longer verifies")
    func tampered() throws {
        let g = try GitFixture()
        let (key, pub) = try sshKey(g, "alice")
        try g.writeFleet(count: 1)
        let sha = try g.commit("signed", sign: sshSign(key))
        // Rewrite the commit object with a different message but the same signature header.
        let raw = try g.git("cat-file", "commit", sha)
        let forged = raw.replacingOccurrences(of: "\n\nsigned", with: "\n\nforged") + "\n"
        let forgedSha = try g.run("git", ["hash-object", "-t", "commit", "-w", "--stdin"], stdin: Data(forged.utf8))
        let error = gitRefusal { _ = try GitSource(repository: g.root.path).verify(commit: forgedSha, trustedKeys: TrustedKeys.parse(pub, source: "k")) }
        #expect(error?.kind == .untrusted)
    }

    @Test("a trusted-keys file with something that is no key is refused with its name")
    func badKeysFile() {
        let error = gitRefusal { _ = try TrustedKeys.parse("not a key at all\n", source: "keys.txt") }
        #expect(error?.message == "keys.txt: not an SSH public key or an OpenPGP key block: not a key at all")
    }
}
