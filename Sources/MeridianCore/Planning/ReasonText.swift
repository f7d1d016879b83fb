/// An action's reason (SPEC §4): UTF-8 text, kept with the other reasons of a plan in shared
/// blocks of bytes instead of a string each. A 100,000-object plan has about 80,000 reasons of
/// about 70 bytes; as strings (a heap object each, with the capacity interpolation left over)
/// they were 12 MB at the planner's peak, in blocks they are under 6 MB. Same size as a String
/// in an `Action`: a block reference, an offset and a length.
public struct ReasonText: @unchecked Sendable, Hashable, CustomStringConvertible {
    // @unchecked: a block's bytes are written once, before a `ReasonText` refers to them, and
    // never again; readers see only bytes written before the value was made.
    // Nil only in `empty`, which refers to no block (so a copy of it retains nothing).
    private let block: ManagedBuffer<Void, UInt8>?
    private let offset: UInt32
    private let count: UInt32

    /// The empty reason, in no block: a placeholder that costs nothing to copy or destroy.
    public static let empty = ReasonText(block: nil, offset: 0, count: 0)

    fileprivate init(block: ManagedBuffer<Void, UInt8>?, offset: Int, count: Int) {
        self.block = block
        self.offset = UInt32(offset)
        self.count = UInt32(count)
    }

    /// A reason on its own, in a block of its exact size.
    public init(_ text: String) {
        var arena = Arena(firstBlock: text.utf8.count)
        self = arena.add(text)
    }

    public var string: String { withUTF8 { String(decoding: $0, as: UTF8.self) } }
    public var description: String { string }
    public var isEmpty: Bool { count == 0 }

    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        guard let block else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        return try block.withUnsafeMutablePointerToElements { base in
            try body(UnsafeBufferPointer(start: base + Int(offset), count: Int(count)))
        }
    }

    /// Equal when the bytes are: a reason is exactly the text it was made from.
    public static func == (a: ReasonText, b: ReasonText) -> Bool {
        a.count == b.count && a.withUTF8 { p in b.withUTF8 { q in UTF8Bytes.equal(p, q) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Where a plan's reasons are written: blocks from 4 KiB doubling to 1 MiB, so a small plan
    /// holds a few kilobytes and a large one wastes at most the tail of each megabyte.
    public struct Arena {
        private var block: ManagedBuffer<Void, UInt8>?
        private var used = 0
        private var capacity = 0
        private var nextBlock: Int
        private static let largestBlock = 1 << 20

        public init() { nextBlock = 4096 }

        fileprivate init(firstBlock: Int) { nextBlock = firstBlock }

        public mutating func add(_ text: String) -> ReasonText {
            var text = text
            return text.withUTF8 { add($0) }
        }

        public mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) -> ReasonText {
            let n = bytes.count
            // Offsets and lengths are 32 bits; a block is never larger than that.
            precondition(n <= Int(UInt32.max), "a reason of 4 GiB")
            if block == nil || used + n > capacity {
                let size = max(nextBlock, n)
                block = ManagedBuffer<Void, UInt8>.create(minimumCapacity: size) { _ in }
                capacity = size
                used = 0
                nextBlock = min(Self.largestBlock, max(nextBlock * 2, 4096))
            }
            let target = block!
            if n > 0 {
                target.withUnsafeMutablePointerToElements { base in
                    (base + used).initialize(from: bytes.baseAddress!, count: n)
                }
            }
            let text = ReasonText(block: target, offset: used, count: n)
            used += n
            return text
        }

        /// Takes back `text` if it is the last added and nothing else refers to it (a reason
        /// written for an action that turned out to be planned already).
        public mutating func discard(_ text: consuming ReasonText) {
            guard let block, text.block === block, Int(text.offset) + Int(text.count) == used else { return }
            used = Int(text.offset)
        }
    }
}

/// A reason's bytes, written piece by piece (see `Planner.text(writing:)`).
struct ReasonWriter {
    var bytes: [UInt8]

    mutating func write(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// In decimal, as string interpolation writes it.
    mutating func write(_ value: Int) {
        if value >= 0 && value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }
}
