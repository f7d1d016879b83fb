/// An artifact's declared digest. The one valid form (SPEC §1), `sha256:` and 64 lowercase hex
/// digits, is held as its 32 bytes: as a string, 71 bytes made a heap block of 112 for every
/// artifact, 8 MB of a 71,000-artifact fleet. Anything else, which validation reports, is held
/// exactly as written. Either way `string` gives back the text byte for byte.
public struct ArtifactDigest: Sendable, Hashable, CustomStringConvertible {
    private enum Storage: Sendable, Hashable {
        case sha256(UInt64, UInt64, UInt64, UInt64)
        case text(String)
    }

    private let storage: Storage

    public init(_ text: String) {
        if let w = Self.sha256Words(text) {
            storage = .sha256(w.0, w.1, w.2, w.3)
        } else {
            storage = .text(text)
        }
    }

    /// The digest written as `bytes` (a decoder's, before any string is made of them).
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.count == 71, let w = Self.sha256Words(bytes) {
            storage = .sha256(w.0, w.1, w.2, w.3)
        } else {
            storage = .text(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Whether the digest has the valid form (`Digest.isValid` asks this).
    public var isValid: Bool {
        if case .sha256 = storage { return true }
        return false
    }

    /// The digest as written.
    public var string: String {
        switch storage {
        case .text(let s):
            return s
        case .sha256(let a, let b, let c, let d):
            return String(unsafeUninitializedCapacity: 71) { out in
                for (i, byte) in "sha256:".utf8.enumerated() { out[i] = byte }
                for (k, word) in [a, b, c, d].enumerated() {
                    for j in 0 ..< 16 {
                        let nibble = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * j)) & 0xF
                        out[7 + k * 16 + j] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
                    }
                }
                return 71
            }
        }
    }

    public var description: String { string }

    /// Whether `other` is this digest byte for byte (an observed copy's digest, say).
    public func matches(_ other: String) -> Bool {
        switch storage {
        case .text(let s):
            return UTF8Bytes.equal(s, other)
        case .sha256(let a, let b, let c, let d):
            // Compared with the text this digest is written as, byte by byte, without making it
            // (the planner asks this for every copy it looks at).
            let bytes = other.utf8
            guard bytes.count == 71 else { return false }
            // Eight bytes at a time: each half word written as its eight hex digits in one
            // word, compared with one load (a native string's bytes are contiguous).
            if let fast = bytes.withContiguousStorageIfAvailable({ p -> Bool in
                let raw = UnsafeRawBufferPointer(p)
                // Bytes read as little-endian words, whatever the machine's order.
                func word32(_ offset: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
                func word64(_ offset: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
                // "sha2" and "256:" (the two loads overlap on "2").
                guard word32(0) == 0x3261_6873, word32(3) == 0x3A36_3532 else { return false }
                func same(_ word: UInt64, at offset: Int) -> Bool {
                    word64(offset) == Self.hexDigits(UInt32(truncatingIfNeeded: word >> 32))
                        && word64(offset + 8) == Self.hexDigits(UInt32(truncatingIfNeeded: word))
                }
                return same(a, at: 7) && same(b, at: 23) && same(c, at: 39) && same(d, at: 55)
            }) {
                return fast
            }
            func same(_ p: some Collection<UInt8>) -> Bool {
                var i = p.startIndex
                for expected in "sha256:".utf8 {
                    guard p[i] == expected else { return false }
                    p.formIndex(after: &i)
                }
                for word in [a, b, c, d] {
                    for j in 0 ..< 16 {
                        let nibble = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * j)) & 0xF
                        guard p[i] == (nibble < 10 ? 0x30 + nibble : 0x57 + nibble) else { return false }
                        p.formIndex(after: &i)
                    }
                }
                return true
            }
            return bytes.withContiguousStorageIfAvailable { same($0) } ?? same(bytes)
        }
    }

    /// The eight lowercase hex digits of `x`, most significant first, as the bytes of a
    /// little-endian word: each nibble spread into a byte of its own, then each byte made a
    /// digit ('0' + n, and 'a' - 10 + n from 10 on: 0x27 more).
    @inline(__always)
    static func hexDigits(_ x: UInt32) -> UInt64 {
        var v = UInt64(x)
        v = (v | v << 16) & 0x0000_FFFF_0000_FFFF
        v = (v | v << 8) & 0x00FF_00FF_00FF_00FF
        v = (v | v << 4) & 0x0F0F_0F0F_0F0F_0F0F
        v = v.byteSwapped
        let letters = ((v &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return v &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    }

    /// The 32 bytes of `sha256:` and 64 lowercase hex digits, as four big-endian words; nil
    /// for any other text.
    private static func sha256Words(_ text: String) -> (UInt64, UInt64, UInt64, UInt64)? {
        let bytes = text.utf8
        guard bytes.count == 71 else { return nil }
        if let fast = bytes.withContiguousStorageIfAvailable({ sha256Words($0) }) { return fast }
        return sha256Words(bytes)
    }

    private static func sha256Words(_ p: some Collection<UInt8>) -> (UInt64, UInt64, UInt64, UInt64)? {
        guard p.count == 71 else { return nil }
        func parse(_ p: some Collection<UInt8>) -> (UInt64, UInt64, UInt64, UInt64)? {
            guard p.starts(with: "sha256:".utf8) else { return nil }
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var i = 0
            for byte in p.dropFirst(7) {
                let nibble: UInt64
                switch byte {
                case 0x30 ... 0x39: nibble = UInt64(byte - 0x30)
                case 0x61 ... 0x66: nibble = UInt64(byte - 0x61 + 10)
                default: return nil
                }
                switch i >> 4 {
                case 0: words.0 = words.0 << 4 | nibble
                case 1: words.1 = words.1 << 4 | nibble
                case 2: words.2 = words.2 << 4 | nibble
                default: words.3 = words.3 << 4 | nibble
                }
                i += 1
            }
            return words
        }
        return parse(p)
    }
}
