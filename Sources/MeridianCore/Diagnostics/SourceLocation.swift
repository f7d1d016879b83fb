/// Where a value came from: a file (relative to the source root, or `commit:path` for git
/// sources), a 1-based line and a 1-based column.
public struct SourceLocation: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The file, shared by every location in it: a reference is half a string's size, and
    /// every declared value carries a location (about 4 MB of a 100,000-object plan's peak).
    public let source: SourceFile
    // 32 bits each (files are bounded far below 4 GiB): eight bytes less per location.
    private let storedLine: UInt32
    private let storedColumn: UInt32

    public var file: String { source.path }
    public var line: Int { Int(storedLine) }
    public var column: Int { Int(storedColumn) }

    public init(_ source: SourceFile, line: Int, column: Int) {
        self.source = source
        self.storedLine = UInt32(clamping: line)
        self.storedColumn = UInt32(clamping: column)
    }

    public init(file: String, line: Int, column: Int) {
        self.init(SourceFile(file), line: line, column: column)
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        if a.source != b.source { return a.file.utf8.lexicographicallyPrecedes(b.file.utf8) }
        if a.line != b.line { return a.line < b.line }
        return a.column < b.column
    }
}

/// A file's path as locations name it. One per file read: its locations share it. Equal to any
/// other with the same path, as the path itself is.
public final class SourceFile: Hashable, Sendable, CustomStringConvertible {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var description: String { path }

    public static func == (a: SourceFile, b: SourceFile) -> Bool { a === b || a.path == b.path }
    public func hash(into hasher: inout Hasher) { hasher.combine(path) }
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
