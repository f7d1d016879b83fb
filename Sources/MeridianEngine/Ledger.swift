internal import MeridianCore
internal import Foundation

/// An entry's content: what one apply (or one recorded breach) did.
public struct LedgerBody: Sendable, Hashable, Codable {
    public struct ActionRecord: Sendable, Hashable, Codable {
        public var id: String
        public var type: String
        public var regions: [String]
        public var artifact: String?
        public var placement: String?
        public var result: String
        public var detail: String
        public var startedAt: String?
        public var finishedAt: String?

        public init(id: String, type: String, regions: [String], artifact: String?, placement: String?, result: String, detail: String,
                    startedAt: String?, finishedAt: String?) {
            self.id = id
            self.type = type
            self.regions = regions
            self.artifact = artifact
            self.placement = placement
            self.result = result
            self.detail = detail
            self.startedAt = startedAt
            self.finishedAt = finishedAt
        }
    }

    /// "apply", or "breach" for a residency breach recorded before its purge.
    public var kind: String
    public var time: String
    public var commit: String?
    public var sourceDigest: String
    public var planDigest: String?
    public var run: Int64?
    /// Every region the entry concerns, with its declared jurisdiction (what `export` filters on).
    public var regions: [String: String]
    public var actions: [ActionRecord]
    public var purges: [PurgeEvidence]

    public init(kind: String, time: String, commit: String?, sourceDigest: String, planDigest: String?, run: Int64?,
                regions: [String: String], actions: [ActionRecord], purges: [PurgeEvidence]) {
        self.kind = kind
        self.time = time
        self.commit = commit
        self.sourceDigest = sourceDigest
        self.planDigest = planDigest
        self.run = run
        self.regions = regions
        self.actions = actions
        self.purges = purges
    }

    /// The bytes that are hashed: JSON with sorted keys, no spaces, slashes unescaped (what
    /// Python's `json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` gives).
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Whether the entry concerns a region of `jurisdiction`.
    public func concerns(jurisdiction: String) -> Bool {
        regions.values.contains(jurisdiction) || purges.contains { $0.declaredJurisdiction == jurisdiction || $0.attestedJurisdiction == jurisdiction }
    }
}

/// One link of the chain: `hash = sha256(prevHash + "\n" + body)`, body in its canonical JSON.
public struct LedgerEntry: Sendable, Hashable {
    public let seq: Int64
    public let prevHash: String
    public let hash: String
    /// The canonical JSON exactly as stored and hashed.
    public let body: String

    public init(seq: Int64, prevHash: String, hash: String, body: String) {
        self.seq = seq
        self.prevHash = prevHash
        self.hash = hash
        self.body = body
    }

    public static let genesis = "sha256:" + String(repeating: "0", count: 64)

    public static func hash(prev: String, body: String) -> String {
        var h = SHA256()
        h.update(prev)
        h.update("\n")
        h.update(body)
        return "sha256:" + h.finalize()
    }

    public func decoded() -> LedgerBody? { try? JSONDecoder().decode(LedgerBody.self, from: Data(body.utf8)) }

    /// The export line: JSON with the chain fields and the entry itself.
    public var exportLine: String { "{\"seq\":\(seq),\"prevHash\":\"\(prevHash)\",\"hash\":\"\(hash)\",\"entry\":\(body)}" }
}

/// The latest link, kept apart from the entries so that cutting entries off the end is detected.
public struct LedgerHead: Sendable, Hashable {
    public let seq: Int64
    public let hash: String
    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}

public enum LedgerVerifier {
    public struct Report: Sendable, CustomStringConvertible {
        public let entries: Int
        public let problems: [String]
        public var isIntact: Bool { problems.isEmpty }
        public var description: String {
            isIntact ? "ledger intact: \(entries) entries, chain and head verified"
                : "ledger BROKEN (\(problems.count) problem(s) in \(entries) entries):\n" + problems.map { "  " + $0 }.joined(separator: "\n")
        }
    }

    /// Checks every link: sequence numbers without gaps, each `prevHash` the previous `hash`, each
    /// hash recomputed from its body, and the head matching the last entry (so truncation shows).
    public static func verify(_ entries: [LedgerEntry], head: LedgerHead?) -> Report {
        var problems: [String] = []
        var prev = LedgerEntry.genesis
        for (i, e) in entries.enumerated() {
            let expected = Int64(i + 1)
            if e.seq != expected { problems.append("entry \(e.seq): expected sequence number \(expected) (an entry is missing or was inserted)") }
            if e.prevHash != prev { problems.append("entry \(e.seq): prevHash \(e.prevHash.prefix(19))… does not match the previous entry's hash \(prev.prefix(19))…") }
            let recomputed = LedgerEntry.hash(prev: e.prevHash, body: e.body)
            if recomputed != e.hash { problems.append("entry \(e.seq): its content does not match its hash (tampered)") }
            if e.decoded() == nil { problems.append("entry \(e.seq): its content is not a ledger entry") }
            prev = e.hash
        }
        switch (head, entries.last) {
        case (nil, nil): break
        case (nil, let last?): problems.append("the ledger head is missing, but \(last.seq) entries exist")
        case (let head?, nil): problems.append("the head names entry \(head.seq), but the ledger is empty (truncated)")
        case (let head?, let last?):
            if head.seq != last.seq || head.hash != last.hash {
                problems.append("the head names entry \(head.seq) (\(head.hash.prefix(19))…), but the last entry is \(last.seq) (\(last.hash.prefix(19))…): truncated or rewritten")
            }
        }
        return Report(entries: entries.count, problems: problems)
    }
}
