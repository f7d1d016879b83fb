/// One problem found in a manifest source. Loading collects all of them instead of stopping at
/// the first, so a user sees every problem of a revision in one run.
public struct Diagnostic: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public let severity: Severity
    /// A stable rule id such as `schema.unknown-field` or `fence.placement`.
    public let rule: Rule
    public let message: String
    /// Where the problem is; nil for problems of the source as a whole (an unreadable directory).
    public let location: SourceLocation?
    /// Where the path/file is, when there is no line (a source-level problem about one file).
    public let path: String?

    public init(_ rule: Rule, _ message: String, at location: SourceLocation?, severity: Severity = .error) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.location = location
        self.path = location?.file
    }

    public init(_ rule: Rule, _ message: String, path: String, severity: Severity = .error) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.location = nil
        self.path = path
    }

    /// The same diagnostic with its file renamed (a git source prefixes the commit).
    public func relocated(_ rename: (String) -> String) -> Diagnostic {
        if let location {
            return Diagnostic(rule, message, at: SourceLocation(file: rename(location.file), line: location.line, column: location.column),
                              severity: severity)
        }
        if let path { return Diagnostic(rule, message, path: rename(path), severity: severity) }
        return self
    }

    /// `path:line:col: error: [rule] message`, the format users' scripts and editors parse.
    public var description: String {
        let place: String
        if let location {
            place = "\(location): "
        } else if let path {
            place = "\(path): "
        } else {
            place = ""
        }
        return "\(place)\(severity.rawValue): [\(rule.id)] \(message)"
    }

    public static func < (a: Diagnostic, b: Diagnostic) -> Bool {
        let pa = a.path ?? "", pb = b.path ?? ""
        if pa != pb { return pa.utf8.lexicographicallyPrecedes(pb.utf8) }
        let la = a.location.map { ($0.line, $0.column) } ?? (0, 0)
        let lb = b.location.map { ($0.line, $0.column) } ?? (0, 0)
        if la != lb { return la < lb }
        if a.rule.id != b.rule.id { return a.rule.id < b.rule.id }
        return a.message < b.message
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
