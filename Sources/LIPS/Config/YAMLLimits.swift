internal import CYaml

/// What YAML lips reads, checked on libyaml's own events before Yams builds any value.
///
/// - Aliases (`&a` … `*a`): an alias repeats its anchored node, so a few hundred bytes of nested
///   aliases describe billions of values (an "alias bomb"); Yams builds every repeated value, and
///   hashes repeated mapping keys while parsing. Each value weighs 1 plus its text's length, an
///   alias weighs what its anchor does, and a file whose values weigh more than its own length plus
///   `aliasAllowance` is refused. Without aliases a file never weighs more than its length.
/// - Mapping keys must be scalars (`{[1, 2]: x}` is YAML, but Yams' constructor traps on it).
enum YAMLLimits {
    /// What aliases may add to a file's weight: ample for lists repeated by alias.
    static let aliasAllowance = 100_000

    /// Throws a one-line `UserError` naming `source` when the aliases of `text` expand it beyond
    /// its length plus `aliasAllowance`, or when a mapping key is a list or a mapping. Text libyaml
    /// cannot parse passes here: Yams reports it.
    static func check(_ text: String, source: String) throws {
        let bytes = Array(text.utf8)
        let limit = bytes.count + aliasAllowance
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            /// An anchored node: its weight, and whether it is a scalar (a possible mapping key).
            var anchors: [String: (weight: Int, scalar: Bool)] = [:]
            /// Open sequences and mappings: anchor, weight so far, and for a mapping whether its
            /// next node is a key.
            var open: [(anchor: String?, weight: Int, mapping: Bool, keyNext: Bool)] = []
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                let atKey = open.last.map { $0.mapping && $0.keyNext } ?? false
                func refuseKey(_ found: String) -> UserError {
                    UserError("\(source):\(line): a mapping key must be a plain name or number, found \(found)")
                }
                let finished: (anchor: String?, weight: Int, scalar: Bool)?
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_DOCUMENT_START_EVENT:
                    anchors = [:]  // anchors belong to one document
                    finished = nil
                case YAML_SCALAR_EVENT:
                    finished = (name(event.data.scalar.anchor), 1 + event.data.scalar.length, true)
                case YAML_ALIAS_EVENT:
                    let anchored = name(event.data.alias.anchor).flatMap { anchors[$0] } ?? (1, true)
                    if atKey && !anchored.scalar { throw refuseKey("an alias of a list or mapping") }
                    finished = (nil, anchored.weight, anchored.scalar)
                case YAML_SEQUENCE_START_EVENT:
                    if atKey { throw refuseKey("a list") }
                    open.append((name(event.data.sequence_start.anchor), 1, false, false))
                    finished = nil
                case YAML_MAPPING_START_EVENT:
                    if atKey { throw refuseKey("a mapping") }
                    open.append((name(event.data.mapping_start.anchor), 1, true, true))
                    finished = nil
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    finished = open.popLast().map { ($0.anchor, $0.weight, false) }
                default:
                    finished = nil
                }
                guard let (anchor, weight, scalar) = finished else { continue }
                if let anchor { anchors[anchor] = (weight, scalar) }
                guard !open.isEmpty else { continue }
                // Every weight stays within `limit` (checked as it grows), so these sums cannot overflow.
                open[open.count - 1].weight += weight
                open[open.count - 1].keyNext.toggle()
                if open[open.count - 1].weight > limit {
                    throw UserError("\(source): its YAML aliases expand it beyond \(limit) bytes of values (\(bytes.count) written; an alias bomb?)")
                }
            }
        }
    }

    private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        anchor.map { String(cString: $0) }
    }
}
