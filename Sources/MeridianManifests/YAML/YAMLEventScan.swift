internal import CLibYAML

/// The floor the benchmarks measure Meridian against: libyaml's event parser run over the bytes,
/// and nothing else (no nodes, no strings, no decoding).
public enum YAMLEventScan {
    /// The number of events in `bytes`, or nil when libyaml rejects them.
    public static func count(_ bytes: [UInt8]) -> Int? {
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        defer {
            yaml_parser_delete(parser)
            parser.deallocate()
            event.deallocate()
            input.deallocate()
        }
        input.copyBytes(from: bytes)
        yaml_parser_initialize(parser)
        yaml_parser_set_input_string(parser, input.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
        var events = 0
        while true {
            guard yaml_parser_parse(parser, event) == 1 else { return nil }
            let done = event.pointee.type == YAML_STREAM_END_EVENT
            yaml_event_delete(event)
            events += 1
            if done { return events }
        }
    }
}
