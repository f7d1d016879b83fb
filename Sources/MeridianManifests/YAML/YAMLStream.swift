/// The composed form of one YAML file: a flat arena of nodes with their marks. Collections
/// refer to their children by index into `children`, so an alias is a shared index (never a
/// copy) and walking a document never recurses.
struct YAMLStream: Sendable {
    enum Kind: UInt8, Sendable {
        case scalar, sequence, mapping
    }

    /// How a scalar resolved under the YAML 1.2 core schema (or its explicit core tag).
    enum ScalarType: UInt8, Sendable {
        case null, bool, int, float, string
        /// The plain `<<` key of a merge.
        case merge
    }

    struct Node: Sendable {
        var kind: Kind
        var scalarType: ScalarType
        /// True for a plain (unquoted, untagged) scalar.
        var plain: Bool
        /// A scalar whose text is a schema field name: that name's `SchemaKey` number, else 0.
        var key: UInt8 = 0
        /// 1-based.
        var line: Int32
        var column: Int32
        var childStart: Int32
        /// Sequence: elements. Mapping: keys and values alternating, so twice the entries.
        var childCount: Int32
    }

    /// Plain values, so that reading one copies no reference; the text is apart, in `texts`.
    var nodes: [Node] = []
    /// Each node's text, by node index: a scalar's value, empty for a collection.
    var texts: [String] = []
    var children: [Int32] = []
    /// The root of every non-empty document, in order.
    var documents: [Int32] = []

    subscript(_ index: Int32) -> Node { nodes[Int(index)] }

    func text(_ index: Int32) -> String { texts[Int(index)] }

    func elements(of index: Int32) -> ArraySlice<Int32> {
        let node = nodes[Int(index)]
        return children[Int(node.childStart) ..< Int(node.childStart + node.childCount)]
    }

    /// The entries of a mapping as (key, value) node indices, in document order (explicit
    /// keys first, then the keys a merge brought in). Read in place: nothing is allocated.
    func entries(of index: Int32) -> Entries {
        Entries(children: elements(of: index))
    }

    struct Entries: Sequence, IteratorProtocol {
        let children: ArraySlice<Int32>
        private var i: Int

        init(children: ArraySlice<Int32>) {
            self.children = children
            i = children.startIndex
        }

        mutating func next() -> (key: Int32, value: Int32)? {
            guard i + 1 < children.endIndex else { return nil }
            defer { i += 2 }
            return (children[i], children[i + 1])
        }
    }

    /// A short description for messages: `a string "x"`, `an integer 3`, `a mapping`.
    func describe(_ index: Int32) -> String {
        let node = nodes[Int(index)]
        switch node.kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar:
            let text = texts[Int(index)]
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            switch node.scalarType {
            case .null: return "null"
            case .bool: return "a boolean \(shown)"
            case .int: return "an integer \(shown)"
            case .float: return "a number \(shown)"
            case .string, .merge: return "a string \"\(shown)\""
            }
        }
    }
}
