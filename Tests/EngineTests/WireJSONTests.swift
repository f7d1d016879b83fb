import Foundation
import MeridianAdapters
import MeridianCore
import MeridianEngine
import Testing

/// The region protocol's bodies, read and written without Foundation, checked against
/// Foundation's `JSONDecoder`/`JSONEncoder` on the same values and texts.
@Suite("Region protocol JSON")
struct WireJSONTests {
    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func text(_ rng: inout Rng) -> String {
        let pieces = ["a", "r-1", "é", "\u{1F600}", "\"", "\\", "\n", "\t", "\u{01}", "/", "cafe\u{301}", " ", "x\u{7F}"]
        return (0 ..< Int(rng.next() % 6)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }

    static func int(_ rng: inout Rng) -> Int {
        switch rng.next() % 4 {
        case 0: 0
        case 1: Int.max - Int(rng.next() % 3)
        case 2: -Int(rng.next() % 1000)
        default: Int(rng.next() % 100_000)
        }
    }

    static func observation(_ rng: inout Rng) -> RegionObservation {
        var o = RegionObservation(reachable: rng.next() % 2 == 0, generation: int(&rng), jurisdiction: rng.next() % 2 == 0 ? text(&rng) : nil)
        if rng.next() % 2 == 0 {
            o.capacity = Dictionary((0 ..< Int(rng.next() % 3)).map { _ in (text(&rng), AcceleratorCapacity(total: int(&rng), free: int(&rng))) },
                                    uniquingKeysWith: { a, _ in a })
        }
        for _ in 0 ..< Int(rng.next() % 5) { o.artifacts[text(&rng)] = ObservedArtifact(digest: text(&rng)) }
        for _ in 0 ..< Int(rng.next() % 4) {
            o.deployments[text(&rng)] = ObservedDeployment(model: text(&rng), version: text(&rng), replicas: int(&rng), ready: int(&rng))
        }
        for _ in 0 ..< Int(rng.next() % 4) { o.traffic[text(&rng)] = int(&rng) }
        return o
    }

    static func command(_ rng: inout Rng) -> RegionCommand {
        func maybe(_ s: String) -> String? { rng.next() % 2 == 0 ? s : nil }
        let kinds = Action.Kind.allCases
        return RegionCommand(type: kinds[Int(rng.next() % UInt64(kinds.count))], region: text(&rng), actionID: text(&rng),
                             artifact: maybe(text(&rng)), digest: maybe(text(&rng)), from: maybe(text(&rng)), placement: maybe(text(&rng)),
                             model: maybe(text(&rng)), version: maybe(text(&rng)), replicas: rng.next() % 2 == 0 ? int(&rng) : nil,
                             accelerator: rng.next() % 2 == 0 ? AcceleratorDemand(type: text(&rng), count: int(&rng)) : nil,
                             weight: rng.next() % 2 == 0 ? int(&rng) : nil,
                             fence: rng.next() % 2 == 0 ? (0 ..< Int(rng.next() % 3)).map { _ in text(&rng) } : nil)
    }

    @Test("random observations, commands and results: written, then read back equal, by this reader and by JSONDecoder")
    func roundTrips() throws {
        var rng = Rng(state: 3)
        for _ in 0 ..< 300 {
            let o = Self.observation(&rng)
            let text = Array(o.json().utf8)
            #expect(try RegionObservation(json: text) == o)
            #expect(try JSONDecoder().decode(RegionObservation.self, from: Data(text)) == o)
            // What Foundation writes, this reader reads the same.
            #expect(try RegionObservation(json: JSONEncoder().encode(o)) == o)

            let request = AgentExecuteRequest(idempotencyKey: Self.text(&rng), command: Self.command(&rng))
            let back = try AgentExecuteRequest(json: Array(request.json().utf8))
            #expect(back.idempotencyKey == request.idempotencyKey && back.command == request.command)
            let viaFoundation = try JSONDecoder().decode(AgentExecuteRequest.self, from: Data(request.json().utf8))
            #expect(viaFoundation.command == request.command)
            #expect(try AgentExecuteRequest(json: JSONEncoder().encode(request)).command == request.command)

            let result = ExecutionResult(generation: Self.int(&rng), replayed: rng.next() % 2 == 0,
                                         deployment: rng.next() % 2 == 0 ? ObservedDeployment(model: Self.text(&rng), version: Self.text(&rng), replicas: 1, ready: 0) : nil)
            #expect(try ExecutionResult(json: Array(result.json().utf8)) == result)
            #expect(try JSONDecoder().decode(ExecutionResult.self, from: Data(result.json().utf8)) == result)
            #expect(try ExecutionResult(json: JSONEncoder().encode(result)) == result)
        }
    }

    @Test("hand-written texts that JSONDecoder accepts read the same: spacing, escapes, surrogate pairs, nulls, unknown fields")
    func agreesWithFoundation() throws {
        let texts = [
            #"{}"#,
            #" { "generation" : 7 , "reachable" : false , "extra" : [1, {"a": null}, "x"] } "#,
            #"{"jurisdiction": null, "capacity": null, "artifacts": null, "traffic": {"p": 0}}"#,
            #"{"jurisdiction": "caf\u00e9 \ud83d\ude00 \/ \" \\ \b\f\n\r\t", "generation": -3}"#,
            #"{"deployments": {"p": {"model": "m", "version": "1", "replicas": 2, "ready": 1, "more": true}}}"#,
            "{\"artifacts\": {\"a\u{301}\": {\"digest\": \"sha256:\u{E9}\"}}}",
            // Integers written as JSON Schema and JSONDecoder allow: with a zero fraction or an exponent.
            #"{"generation": 1e3, "traffic": {"p": 5.0, "q": -2E0}, "deployments": {"d": {"model": "m", "version": "1", "replicas": 3.0, "ready": 0e5}}}"#,
        ]
        for text in texts {
            let foundation = try JSONDecoder().decode(RegionObservation.self, from: Data(text.utf8))
            #expect(try RegionObservation(json: Array(text.utf8)) == foundation, "\(text)")
        }
    }

    @Test("malformed, ambiguous or hostile bodies are refused with an error, never a crash")
    func refused() throws {
        let bad = [
            "", " ", "{", "}", "[", #"{"generation": }"#, #"{"generation": 1,}"#, #"{"generation": 1} x"#, #"{"generation" 1}"#,
            #"{"generation": 01}"#, #"{"generation": 1.}"#, #"{"generation": -}"#, #"{"generation": 1.5}"#, #"{"generation": 1e16}"#,
            #"{"generation": 99999999999999999999}"#, #"{"generation": "1"}"#, #"{"reachable": 1}"#, #"{"artifacts": []}"#,
            #"{"artifacts": {"a": {}}}"#, #"{"artifacts": {"a": {"digest": null}}}"#, #"{"deployments": {"p": {"model": "m"}}}"#,
            #"{"generation": 1, "generation": 2}"#, "{\"a\u{E9}\": 1, \"ae\u{301}\": 2}", #"{"jurisdiction": "\ud83d"}"#,
            #"{"jurisdiction": "\ude00"}"#, #"{"jurisdiction": "\x"}"#, #"{"jurisdiction": "\u12"}"#, "{\"jurisdiction\": \"a\u{01}\"}",
            #"{"jurisdiction": "open"#, "[1, 2]", "null", "tru", #"{"reachable": nul}"#,
            String(repeating: "[", count: 100_000), String(repeating: "{\"a\":", count: 100_000),
        ]
        for text in bad {
            #expect(throws: JSONError.self, "\(text.prefix(60))") { try RegionObservation(json: Array(text.utf8)) }
        }
        // Invalid UTF-8 inside a string, with and without an escape before it (two paths), and
        // valid UTF-8 beside ASCII read as it is on both.
        #expect(throws: JSONError.self) { try RegionObservation(json: Array(#"{"jurisdiction": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)) }
        #expect(throws: JSONError.self) { try RegionObservation(json: Array(#"{"jurisdiction": "\n"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)) }
        #expect(throws: JSONError.self) { try RegionObservation(json: Array(#"{"jurisdiction": "abcdefgh"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)) }
        #expect(try RegionObservation(json: Array("{\"jurisdiction\": \"eu-caf\u{E9}-\u{1F600}\"}".utf8)).jurisdiction == "eu-caf\u{E9}-\u{1F600}")
        #expect(try RegionObservation(json: Array("{\"jurisdiction\": \"\\\"caf\u{E9}\"}".utf8)).jurisdiction == "\"caf\u{E9}")
        // An action type no Meridian knows, and a command without its region.
        #expect(throws: JSONError.self) { try AgentExecuteRequest(json: Array(#"{"idempotencyKey": "k", "command": {"type": "explode", "region": "r", "actionID": "a"}}"#.utf8)) }
        #expect(throws: JSONError.self) { try AgentExecuteRequest(json: Array(#"{"idempotencyKey": "k", "command": {"type": "purge", "actionID": "a"}}"#.utf8)) }
        #expect(throws: JSONError.self) { try ExecutionResult(json: Array(#"{"generation": 1}"#.utf8)) }
    }

    @Test("nesting up to the bound is read; one level more is refused")
    func depthBound() throws {
        let deepest = String(repeating: "[", count: JSONReader.maxDepth) + String(repeating: "]", count: JSONReader.maxDepth)
        #expect(try JSONReader.parse(deepest) != .null)
        let over = "[" + deepest + "]"
        #expect(throws: JSONError.self) { try JSONReader.parse(over) }
    }

    @Test("journal entries: written as JSONEncoder with sorted keys writes them (slashes unescaped), read back equal by JSONDecoder")
    func journalEntries() throws {
        var rng = Rng(state: 11)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let statuses: [JournalEntry.Status] = [.started, .done, .failed, .skipped]
        var withEvidence = 0
        for _ in 0 ..< 300 {
            func maybe() -> String? { rng.next() % 2 == 0 ? Self.text(&rng) : nil }
            let evidence = rng.next() % 2 == 0
                ? PurgeEvidence(region: Self.text(&rng), declaredJurisdiction: Self.text(&rng), attestedJurisdiction: maybe(),
                                artifact: maybe(), digest: maybe(), placement: maybe(), model: maybe(), version: maybe())
                : nil
            withEvidence += evidence == nil ? 0 : 1
            let entry = JournalEntry(action: Self.text(&rng), status: statuses[Int(rng.next() % 4)], attempts: Self.int(&rng),
                                     detail: Self.text(&rng), evidence: evidence, startedAt: Self.text(&rng), finishedAt: maybe())
            let text = entry.json
            #expect(try JSONDecoder().decode(JournalEntry.self, from: Data(text.utf8)) == entry)
            #expect(text == String(decoding: try encoder.encode(entry), as: UTF8.self))
        }
        #expect(withEvidence > 100)
    }
}
