@testable import MeridianCore
import Testing

@Suite("Artifact digests held as bytes")
struct ArtifactDigestTests {
    static func hex(_ n: Int, _ rng: inout SplitMix) -> String {
        String((0 ..< n).map { _ in Array("0123456789abcdef")[Int(rng.next() % 16)] })
    }

    @Test("every valid digest reads back byte for byte, matches itself and nothing one digit away")
    func validRoundTrip() {
        var rng = SplitMix(seed: 11)
        let edges = ["sha256:" + String(repeating: "0", count: 64), "sha256:" + String(repeating: "f", count: 64),
                     "sha256:" + String(repeating: "0123456789abcdef", count: 4)]
        for text in edges + (0 ..< 300).map({ _ in "sha256:" + Self.hex(64, &rng) }) {
            let d = ArtifactDigest(text)
            #expect(d.isValid)
            #expect(Array(d.string.utf8) == Array(text.utf8))
            #expect(d.matches(text))
            #expect(d == ArtifactDigest(text))
            // One digit changed, anywhere: another digest.
            var bytes = Array(text.utf8)
            let i = 7 + Int(rng.next() % 64)
            bytes[i] = bytes[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            let other = String(decoding: bytes, as: UTF8.self)
            #expect(!d.matches(other))
            #expect(d != ArtifactDigest(other))
        }
    }

    @Test("a valid digest matches no text one byte away from it, at any of its 71 bytes")
    func oneByteAway() {
        var rng = SplitMix(seed: 29)
        let edges = ["sha256:" + String(repeating: "0", count: 64), "sha256:" + String(repeating: "f", count: 64),
                     "sha256:" + String(repeating: "fedcba9876543210", count: 4), "sha256:" + String(repeating: "9a", count: 32)]
        var compared = 0
        for text in edges + (0 ..< 40).map({ _ in "sha256:" + Self.hex(64, &rng) }) {
            let d = ArtifactDigest(text)
            #expect(d.matches(String(decoding: Array(text.utf8), as: UTF8.self)))
            let bytes = Array(text.utf8)
            for i in bytes.indices {
                let b = bytes[i]
                for replacement in [b ^ 1, b ^ 0x20, b &+ 1, b &- 1, UInt8(ascii: "0"), UInt8(ascii: "a"), UInt8(ascii: "f"),
                                    UInt8(ascii: "g"), UInt8(ascii: "F"), UInt8(ascii: ":"), 0] where replacement != b {
                    var changed = bytes
                    changed[i] = replacement
                    #expect(!d.matches(String(decoding: changed, as: UTF8.self)), "\(text) at \(i)")
                    compared += 1
                }
            }
        }
        #expect(compared > 40 * 71 * 8)
    }

    @Test("anything but sha256 and 64 lowercase hex digits is kept exactly as written, invalid, and matched byte for byte")
    func invalidKeptAsWritten() {
        let valid = "sha256:" + String(repeating: "ab", count: 32)
        let invalid = [
            "", "sha256:", "sha256:" + String(repeating: "AB", count: 32), "sha256:" + String(repeating: "ab", count: 31),
            "sha256:" + String(repeating: "ab", count: 32) + "0", "sha512:" + String(repeating: "ab", count: 32),
            "SHA256:" + String(repeating: "ab", count: 32), "sha256:" + String(repeating: "ab", count: 31) + "g0",
            "sha256:caf\u{E9}", "sha256:cafe\u{301}",
        ]
        for text in invalid {
            let d = ArtifactDigest(text)
            #expect(!d.isValid)
            #expect(Array(d.string.utf8) == Array(text.utf8))
            #expect(d.matches(text))
            #expect(!d.matches(valid))
            #expect(!ArtifactDigest(valid).matches(text))
        }
        // Canonically equivalent is not the same digest.
        #expect(!ArtifactDigest("sha256:caf\u{E9}").matches("sha256:cafe\u{301}"))
    }

    @Test("an artifact gives its digest back as written, with its place")
    func artifactDigest() {
        let at = SourceLocation(file: "a.yaml", line: 7, column: 11)
        let text = "sha256:" + String(repeating: "5e", count: 32)
        let a = Artifact(meta: ObjectMeta(kind: .artifact, name: "a", nameLocation: at, location: at, labels: [:]), type: .weights,
                         digest: Located(text, at: at), sizeBytes: nil, origin: Located(RegionName("r"), at: at), derivedFrom: [], fences: [])
        #expect(a.digest == Located(text, at: at))
        #expect(a.declaredDigest.matches(text))
    }
}

@Suite("Reasons kept in shared blocks")
struct ReasonTextTests {
    @Test("reasons written across many blocks read back exactly, equal and hash by their bytes")
    func arenaAcrossBlocks() {
        var arena = ReasonText.Arena()
        var rng = SplitMix(seed: 5)
        // Past the first blocks' sizes (4 KiB doubling), with some reasons larger than a block.
        let texts = (0 ..< 3000).map { i -> String in
            let n = i % 500 == 0 ? 9000 : Int(rng.next() % 200)
            return "r\(i) " + String(repeating: "é-x", count: n / 3)
        } + ["", "naïve \u{1F600}"]
        let written = texts.map { arena.add($0) }
        for (text, reason) in zip(texts, written) {
            #expect(reason.string == text)
            #expect(Array(reason.string.utf8) == Array(text.utf8))
            // The same text on its own is the same reason.
            #expect(reason == ReasonText(text))
            #expect(reason.hashValue == ReasonText(text).hashValue)
        }
        #expect(written[1] != written[2])
        #expect(ReasonText("caf\u{E9}") != ReasonText("cafe\u{301}"))
    }

    @Test("a discarded reason's bytes are reused only when it was the last written")
    func discard() {
        var arena = ReasonText.Arena()
        let first = arena.add("first")
        let second = arena.add("second")
        arena.discard(first)  // not the last: kept
        let third = arena.add("third")
        #expect(first.string == "first" && second.string == "second" && third.string == "third")
        arena.discard(third)
        let fourth = arena.add("4th")
        #expect(fourth.string == "4th")
        #expect(first.string == "first" && second.string == "second")
    }

    @Test("an action made with a string reason gives it back")
    func actionReason() {
        let a = Action(kind: .deploy, reason: "deploy m 1 for p in r")
        #expect(a.reason == "deploy m 1 for p in r")
        #expect(a == Action(kind: .deploy, reason: ReasonText("deploy m 1 for p in r")))
        #expect(a != Action(kind: .deploy, reason: "deploy m 2 for p in r"))
    }
}

@Suite("Locations sharing their file")
struct SourceLocationTests {
    @Test("locations are equal, hash and order by path, line and column, whichever file object they share")
    func equalByPath() {
        let shared = SourceFile("m/a.yaml")
        let a = SourceLocation(shared, line: 3, column: 5)
        let b = SourceLocation(file: "m/a.yaml", line: 3, column: 5)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.description == "m/a.yaml:3:5")
        #expect(SourceLocation(shared, line: 3, column: 6) != b)
        let sorted = [SourceLocation(file: "m/b.yaml", line: 1, column: 1), SourceLocation(shared, line: 9, column: 1),
                      SourceLocation(file: "m/a.yaml", line: 2, column: 7)].sorted()
        #expect(sorted.map(\.description) == ["m/a.yaml:2:7", "m/a.yaml:9:1", "m/b.yaml:1:1"])
    }
}
