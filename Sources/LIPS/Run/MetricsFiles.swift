import Foundation

/// The run folder's metrics files: `metrics.jsonl` and `metrics.csv` (one row per round),
/// `layers.csv` (one row per weight tensor per round) and `clients.csv` (one row per client per
/// evaluated round), with readers for `lips report`/`lips plot`.
///
/// Columns are snake_case and in a fixed order, so files diff cleanly between runs and load
/// directly in pandas. Doubles are written with Swift's shortest round-trip form, so reading a
/// file back gives the same bits. A missing value (a round that was not evaluated) is `null` in
/// JSON and an empty CSV field. JSON has no NaN or infinity: a non-finite required value (a
/// diverged loss) is written `null` and read back as NaN; CSV writes `nan`, `inf`, `-inf`.
public enum MetricsFiles {
    /// The per-round rows as JSON Lines, inside a run folder.
    public static let jsonLinesFile = "metrics.jsonl"
    /// The same rows as CSV, for spreadsheets.
    public static let csvFile = "metrics.csv"
    /// The per-layer rows, inside a run folder.
    public static let layersFile = "layers.csv"
    /// The per-client rows of the evaluated rounds, inside a run folder.
    public static let clientsFile = "clients.csv"

    /// The columns of `metrics.jsonl` / `metrics.csv`, in file order. `metrics.jsonl` also has
    /// `clients`, the list of clients that trained, right after `clients_trained`; the CSV leaves
    /// the list out.
    public static let roundColumns = [
        "round", "method", "density", "received_density", "clients_trained", "train_loss", "train_accuracy",
        "personalized_accuracy", "dense_accuracy", "global_accuracy", "personalized_accuracy_std",
        "personalized_accuracy_min", "personalized_accuracy_p10", "personalized_loss", "dense_loss",
        "bytes_uplink", "bytes_downlink", "seconds_training", "seconds_evaluation", "seconds",
    ]

    /// What `bytes_uplink` was called before `bytes_downlink` came; files with it still read.
    static let oldUplinkColumn = "bytes_uplinked"

    /// The columns of `layers.csv`, in file order.
    public static let layerColumns = [
        "round", "layer", "relative_update", "l1_to_reference", "l2_to_reference", "cosine_to_reference",
        "gradient_norm", "gradient_diversity", "received_density",
    ]

    /// The columns of `clients.csv`, in file order.
    public static let clientColumns = [
        "round", "client", "samples", "personalized_accuracy", "dense_accuracy", "personalized_loss", "dense_loss",
    ]

    /// The numeric columns of `metrics.csv` (all but `round` and `method`): what `lips plot --metric` draws.
    public static var metricColumns: [String] { roundColumns.filter { $0 != "round" && $0 != "method" } }

    /// The value of the numeric column `column` in `row`; nil when the row has none (a round not
    /// evaluated, an older file) or `column` is not one of `metricColumns`.
    public static func value(_ column: String, of row: RoundMetrics) -> Double? {
        guard column != "round", let index = roundColumns.firstIndex(of: column) else { return nil }
        switch cells(row)[index] {
        case .int(let value): return Double(value)
        case .count(let value): return value.map(Double.init)
        case .double(let value): return value
        case .text: return nil
        }
    }

    // MARK: - Writing

    /// One JSON object per line, keys in `roundColumns` order, with `clients` after `clients_trained`.
    public static func jsonLines(_ rows: [RoundMetrics]) -> String {
        var text = ""
        for row in rows {
            text += "{"
            for (index, cell) in cells(row).enumerated() {
                if index > 0 { text += ", " }
                text += "\"\(roundColumns[index])\": \(cell.json)"
                if roundColumns[index] == "clients_trained", let clients = row.clients {
                    text += ", \"clients\": [" + clients.map(String.init).joined(separator: ", ") + "]"
                }
            }
            text += "}\n"
        }
        return text
    }

    /// `metrics.csv`: a header line, then one line per round.
    public static func csv(_ rows: [RoundMetrics]) -> String {
        table(header: roundColumns, rows: rows.map(cells))
    }

    /// `layers.csv`: a header line, then one line per weight tensor per round.
    public static func layersCSV(_ rows: [LayerMetrics]) -> String {
        table(header: layerColumns, rows: rows.map(cells))
    }

    /// `clients.csv`: a header line, then one line per client per evaluated round.
    public static func clientsCSV(_ rows: [ClientMetrics]) -> String {
        table(header: clientColumns, rows: rows.map(cells))
    }

    /// Writes the metrics files into `directory`, each atomically; `clients.csv` only when
    /// `clients` is given.
    public static func write(rounds: [RoundMetrics], layers: [LayerMetrics], clients: [ClientMetrics]? = nil,
                             to directory: String) throws {
        try AtomicFile.write(jsonLines(rounds), to: path(directory, jsonLinesFile))
        try AtomicFile.write(csv(rounds), to: path(directory, csvFile))
        try AtomicFile.write(layersCSV(layers), to: path(directory, layersFile))
        if let clients { try AtomicFile.write(clientsCSV(clients), to: path(directory, clientsFile)) }
    }

    // MARK: - Reading

    /// Parses `metrics.jsonl` (`\n` or `\r\n` line ends). Blank lines are skipped, unknown keys ignored, and a missing
    /// optional key reads as nil; a bad line is a `UserError` naming its line number.
    public static func readJSONLines(_ text: String) throws -> [RoundMetrics] {
        var rows: [RoundMetrics] = []
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let fields: [String: Value]
            do {
                fields = try JSONDecoder().decode([String: Value].self, from: Data(trimmed.utf8))
            } catch {
                throw UserError("line \(index + 1): not a JSON object of metrics (\(CheckpointArchive.reason(error)))")
            }
            rows.append(try roundMetrics(Record(line: index + 1, fields: fields)))
        }
        return rows
    }

    /// Parses `metrics.csv` (columns found by header name, so order and extra columns do not matter).
    public static func readCSV(_ text: String) throws -> [RoundMetrics] {
        // `bytes_uplink` may be there under its old name, which `roundMetrics` checks.
        try records(csv: text, required: roundColumns.filter { !optionalRoundColumns.contains($0) && $0 != "bytes_uplink" })
            .map(roundMetrics)
    }

    /// Parses `clients.csv` (columns found by header name).
    public static func readClientsCSV(_ text: String) throws -> [ClientMetrics] {
        try records(csv: text, required: clientColumns).map { record in
            ClientMetrics(round: try record.int("round"), client: try record.int("client"), samples: try record.int("samples"),
                          personalizedAccuracy: try record.double("personalized_accuracy"),
                          denseAccuracy: try record.double("dense_accuracy"),
                          personalizedLoss: try record.double("personalized_loss"), denseLoss: try record.double("dense_loss"))
        }
    }

    /// Reads `clients.csv` from a run folder; a missing file (a run from before it existed) reads as
    /// no rows. Errors name the file and line.
    public static func readClients(from directory: String) throws -> [ClientMetrics] {
        let clientsPath = path(directory, clientsFile)
        guard FileManager.default.fileExists(atPath: clientsPath) else { return [] }
        return try prefixingErrors(clientsPath) { try readClientsCSV(try text(clientsPath)) }
    }

    /// Parses `layers.csv` (columns found by header name, so order and extra columns do not matter).
    public static func readLayersCSV(_ text: String) throws -> [LayerMetrics] {
        try records(csv: text, required: layerColumns.filter { !optionalLayerColumns.contains($0) }).map { record in
            LayerMetrics(round: try record.int("round"), layer: try record.text("layer"),
                         relativeUpdate: try record.double("relative_update"),
                         l1ToReference: try record.optionalDouble("l1_to_reference"),
                         l2ToReference: try record.optionalDouble("l2_to_reference"),
                         cosineToReference: try record.optionalDouble("cosine_to_reference"),
                         gradientNorm: try record.double("gradient_norm"),
                         gradientDiversity: try record.double("gradient_diversity"),
                         receivedDensity: try record.double("received_density"))
        }
    }

    /// Reads `metrics.jsonl` and `layers.csv` from a run folder (a missing `layers.csv` reads as
    /// no rows); errors name the file and line.
    public static func read(from directory: String) throws -> (rounds: [RoundMetrics], layers: [LayerMetrics]) {
        let roundsPath = path(directory, jsonLinesFile), layersPath = path(directory, layersFile)
        let rounds = try prefixingErrors(roundsPath) { try readJSONLines(try text(roundsPath)) }
        guard FileManager.default.fileExists(atPath: layersPath) else { return (rounds, []) }
        let layers = try prefixingErrors(layersPath) { try readLayersCSV(try text(layersPath)) }
        return (rounds, layers)
    }

    // MARK: - Cells

    /// One value as written: an integer, a double (nil for missing) or text.
    enum Cell {
        case int(Int)
        /// A whole number that may be missing.
        case count(Int?)
        case double(Double?)
        case text(String)

        var json: String {
            switch self {
            case .int(let value): return String(value)
            case .count(let value): return value.map(String.init) ?? "null"
            case .double(let value):
                guard let value, value.isFinite else { return "null" }
                return value.description
            case .text(let value): return doubleQuoted(value)
            }
        }

        var csv: String {
            switch self {
            case .int(let value): return String(value)
            case .count(let value): return value.map(String.init) ?? ""
            case .double(let value): return value?.description ?? ""
            case .text(let value): return MetricsFiles.csvField(value)
            }
        }
    }

    static let optionalRoundColumns: Set = [
        "personalized_accuracy", "dense_accuracy", "global_accuracy", "personalized_accuracy_std",
        "personalized_accuracy_min", "personalized_accuracy_p10", "personalized_loss", "dense_loss", "bytes_downlink",
    ]
    static let optionalLayerColumns: Set = ["l1_to_reference", "l2_to_reference", "cosine_to_reference"]

    /// `row` in `roundColumns` order.
    static func cells(_ row: RoundMetrics) -> [Cell] {
        [.int(row.round), .text(row.method), .double(row.density), .double(row.receivedDensity),
         .int(row.clientsTrained), .double(row.trainLoss), .double(row.trainAccuracy),
         .double(row.personalizedAccuracy), .double(row.denseAccuracy), .double(row.globalAccuracy),
         .double(row.personalizedAccuracyStd), .double(row.personalizedAccuracyMin), .double(row.personalizedAccuracyP10),
         .double(row.personalizedLoss), .double(row.denseLoss),
         .int(row.bytesUplinked), .count(row.bytesDownlinked),
         .double(row.secondsTraining), .double(row.secondsEvaluation), .double(row.seconds)]
    }

    /// `row` in `clientColumns` order.
    static func cells(_ row: ClientMetrics) -> [Cell] {
        [.int(row.round), .int(row.client), .int(row.samples), .double(row.personalizedAccuracy),
         .double(row.denseAccuracy), .double(row.personalizedLoss), .double(row.denseLoss)]
    }

    /// `row` in `layerColumns` order.
    static func cells(_ row: LayerMetrics) -> [Cell] {
        [.int(row.round), .text(row.layer), .double(row.relativeUpdate), .double(row.l1ToReference),
         .double(row.l2ToReference), .double(row.cosineToReference), .double(row.gradientNorm),
         .double(row.gradientDiversity), .double(row.receivedDensity)]
    }

    static func table(header: [String], rows: [[Cell]]) -> String {
        var text = header.joined(separator: ",") + "\n"
        text.reserveCapacity(text.utf8.count + rows.count * 24 * header.count)
        for row in rows {
            for (index, cell) in row.enumerated() {
                if index > 0 { text += "," }
                text += cell.csv
            }
            text += "\n"
        }
        return text
    }

    /// A CSV field, quoted (RFC 4180) only when it holds a comma, quote or line break.
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: - Records

    /// A JSON scalar or list of whole numbers, or a CSV field as `.text` (empty fields as `.null`).
    enum Value: Decodable {
        case integer(Int)
        case number(Double)
        case text(String)
        case integers([Int])
        case null

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .text(value)
            } else if let value = try? container.decode([Int].self) {
                self = .integers(value)
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a number, a string, a list of whole numbers or null")
            }
        }
    }

    /// One row being read, with typed accessors whose errors name the line and column.
    struct Record {
        let line: Int
        let fields: [String: Value]

        func int(_ key: String) throws -> Int {
            switch fields[key] {
            case .integer(let value): return value
            case .number(let value) where value == value.rounded() && abs(value) < 0x1p53: return Int(value)
            case .text(let value): if let parsed = Int(value.trimmingCharacters(in: .whitespaces)) { return parsed }
            case nil: throw missing(key)
            default: break
            }
            throw UserError("line \(line): '\(key)' should be a whole number, found \(describe(fields[key]))")
        }

        /// A required double; null (how JSON stores a non-finite value) or an empty CSV field reads as NaN.
        func double(_ key: String) throws -> Double {
            guard fields[key] != nil else { throw missing(key) }
            return try optionalDouble(key) ?? .nan
        }

        func optionalDouble(_ key: String) throws -> Double? {
            switch fields[key] {
            case .integer(let value): return Double(value)
            case .number(let value): return value
            case .text(let value):
                if let parsed = Double(value.trimmingCharacters(in: .whitespaces)) { return parsed }
            case .null, nil: return nil
            case .integers: break
            }
            throw UserError("line \(line): '\(key)' should be a number, found \(describe(fields[key]))")
        }

        /// A list of whole numbers; nil when the key is missing or null.
        func optionalIntegers(_ key: String) throws -> [Int]? {
            switch fields[key] {
            case .integers(let values): return values
            case .null, nil: return nil
            default: throw UserError("line \(line): '\(key)' should be a list of whole numbers, found \(describe(fields[key]))")
            }
        }

        func text(_ key: String) throws -> String {
            switch fields[key] {
            case .text(let value): return value
            case .null: return ""
            case nil: throw missing(key)
            default: throw UserError("line \(line): '\(key)' should be text, found \(describe(fields[key]))")
            }
        }

        /// A whole number that may be missing or null.
        func optionalInt(_ key: String) throws -> Int? {
            switch fields[key] {
            case .null, nil: return nil
            default: return try int(key)
            }
        }

        func missing(_ key: String) -> UserError { UserError("line \(line): '\(key)' missing") }

        func describe(_ value: Value?) -> String {
            switch value {
            case .integer(let number): return String(number)
            case .number(let number): return number.description
            case .text(let text): return "\"\(text)\""
            case .integers(let values): return "[" + values.map(String.init).joined(separator: ", ") + "]"
            case .null, nil: return "nothing"
            }
        }
    }

    static func roundMetrics(_ record: Record) throws -> RoundMetrics {
        RoundMetrics(round: try record.int("round"), method: try record.text("method"),
                     density: try record.double("density"), receivedDensity: try record.double("received_density"),
                     clientsTrained: try record.int("clients_trained"), clients: try record.optionalIntegers("clients"),
                     trainLoss: try record.double("train_loss"),
                     trainAccuracy: try record.double("train_accuracy"),
                     personalizedAccuracy: try record.optionalDouble("personalized_accuracy"),
                     denseAccuracy: try record.optionalDouble("dense_accuracy"),
                     globalAccuracy: try record.optionalDouble("global_accuracy"),
                     personalizedAccuracyStd: try record.optionalDouble("personalized_accuracy_std"),
                     personalizedAccuracyMin: try record.optionalDouble("personalized_accuracy_min"),
                     personalizedAccuracyP10: try record.optionalDouble("personalized_accuracy_p10"),
                     personalizedLoss: try record.optionalDouble("personalized_loss"),
                     denseLoss: try record.optionalDouble("dense_loss"),
                     bytesUplinked: try record.int(record.fields["bytes_uplink"] == nil && record.fields[oldUplinkColumn] != nil
                                                   ? oldUplinkColumn : "bytes_uplink"),
                     bytesDownlinked: try record.optionalInt("bytes_downlink"),
                     secondsTraining: try record.double("seconds_training"),
                     secondsEvaluation: try record.double("seconds_evaluation"), seconds: try record.double("seconds"))
    }

    /// The data rows of a CSV text as records keyed by header name; checks the header has every
    /// `required` column and each row has as many fields as the header.
    static func records(csv text: String, required: [String]) throws -> [Record] {
        let lines = try csvRecords(text)
        guard let header = lines.first else { return [] }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        for column in required where !names.contains(column) {
            throw UserError("line \(header.line): the header has no '\(column)' column")
        }
        return try lines.dropFirst().map { line in
            guard line.fields.count == names.count else {
                throw UserError("line \(line.line): \(line.fields.count) fields, the header has \(names.count)")
            }
            var fields: [String: Value] = [:]
            for (name, field) in zip(names, line.fields) { fields[name] = field.isEmpty ? .null : .text(field) }
            return Record(line: line.line, fields: fields)
        }
    }

    /// Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes and line
    /// breaks), each with the line it starts on. Blank lines are skipped; `\r\n` is accepted.
    static func csvRecords(_ text: String) throws -> [(line: Int, fields: [String])] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = [], field: [UInt8] = []
        var quoted = false, sawQuote = false
        var line = 1, recordLine = 1
        func endRecord() {
            fields.append(String(decoding: field, as: UTF8.self))
            let blank = !sawQuote && fields.count == 1 && fields[0].allSatisfy(\.isWhitespace)
            if !blank { records.append((line: recordLine, fields: fields)) }
            fields = []
            field = []
            sawQuote = false
        }
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if quoted {
                if byte == quote {
                    if utf8.first == quote { field.append(quote); utf8.removeFirst() } else { quoted = false }
                } else {
                    if byte == newline { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case quote where field.isEmpty:
                quoted = true
                sawQuote = true
            case comma:
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
            case cr where utf8.first == newline:
                break
            case newline:
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(byte)
            }
        }
        guard !quoted else { throw UserError("line \(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || sawQuote { endRecord() }
        return records
    }

    // MARK: - Files

    static func path(_ directory: String, _ name: String) -> String {
        (directory as NSString).appendingPathComponent(name)
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try FileReading.bytes(path), as: UTF8.self)
    }

    /// Runs `body`, prefixing the message of a `UserError` about a line with the file's path.
    static func prefixingErrors<Result>(_ path: String, _ body: () throws -> Result) throws -> Result {
        do {
            return try body()
        } catch let error as UserError where error.message.hasPrefix("line ") {
            throw UserError("\(path): \(error.message)")
        }
    }
}
