/// Where a value came from: a file (relative to the source root, or `commit:path` for git
/// sources), a 1-based line and a 1-based column.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let file: String
    // 32 bits each (files are bounded far below 4 GiB): every declared value carries a
    // location, and eight bytes less per location is about 5 MB of a 100,000-object plan's
    // peak memory.
    private let storedLine: UInt32
    private let storedColumn: UInt32

    public var line: Int { Int(storedLine) }
    public var column: Int { Int(storedColumn) }

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.storedLine = UInt32(clamping: line)
        self.storedColumn = UInt32(clamping: column)
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        if a.file != b.file { return a.file.utf8.lexicographicallyPrecedes(b.file.utf8) }
        if a.line != b.line { return a.line < b.line }
        return a.column < b.column
    }
}

/// A value together with the place in the manifests that declared it.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public let value: Value
    public let location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}
