/// A failure reading a git source. Every case renders as one line.
public struct GitError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The repository, the ref, the path or the network: an environment problem.
        case environment
        /// The tree holds something a manifest tree must not (a symlink, a submodule, a huge
        /// blob, a path with `..`, a non-UTF-8 name): the revision is invalid.
        case invalidTree
        /// Signature verification refused the commit.
        case untrusted
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
