import Foundation

/// A client partition as a JSON file: what `lips data split` writes and what the config key
/// `split_file` runs on (docs/semantics.md §2), so a split can be shared with another framework
/// in either direction.
///
/// ```json
/// {"format": "lips-split", "dataset": "fashion-mnist", "train_size": 60000, "test_size": 10000,
///  "classes": 10, "clients": 2, "train_num": 3, "test_num": 2, "partition": "dirichlet(0.1)", "seed": 2,
///  "split": [
///   {"client": 0, "train": [5, 17, 4], "test": [9, 1]},
///   {"client": 1, "train": [8, 8, 2], "test": [0, 3]}
///  ]}
/// ```
/// Indices are positions in the dataset's official order (the order its files store it), from 0.
/// `partition` and `seed` only say where the split came from; `format`, `client` and they may be
/// left out. Every client must hold exactly `train_num` train and `test_num` test indices, equal
/// to the run's config, so a config still describes its run; indices may repeat.
public enum SplitFile {
    /// The file's fields, snake_case in JSON.
    public struct Contents: Codable, Sendable, Equatable {
        public var format: String?
        public var dataset: String
        public var trainSize: Int
        public var testSize: Int
        public var classes: Int
        public var clients: Int
        public var trainNum: Int
        public var testNum: Int
        public var partition: String?
        public var seed: UInt64?
        public var split: [Client]

        enum CodingKeys: String, CodingKey {
            case format, dataset, classes, clients, partition, seed, split
            case trainSize = "train_size", testSize = "test_size", trainNum = "train_num", testNum = "test_num"
        }
    }

    /// One client's indices.
    public struct Client: Codable, Sendable, Equatable {
        public var client: Int?
        public var train: [Int]
        public var test: [Int]
    }

    public static let format = "lips-split"

    /// The JSON text of `partition`, one line per client. `dataset` is the catalog name
    /// (`DatasetCatalog.names`); `scheme` and `seed` are recorded for the reader's information.
    public static func json(_ partition: ClientPartition, dataset: String, data: DatasetPair,
                            scheme: PartitionScheme, seed: UInt64) -> String {
        let clients = partition.train.count
        var text = "{\"format\": \"\(format)\", \"dataset\": \(doubleQuoted(dataset)), "
            + "\"train_size\": \(data.train.count), \"test_size\": \(data.test.count), \"classes\": \(data.train.classes), "
            + "\"clients\": \(clients), \"train_num\": \(partition.train.first?.count ?? 0), "
            + "\"test_num\": \(partition.test.first?.count ?? 0), "
            + "\"partition\": \(doubleQuoted(scheme.description)), \"seed\": \(seed),\n \"split\": [\n"
        for client in 0..<clients {
            text += "  {\"client\": \(client), \"train\": [" + partition.train[client].map(String.init).joined(separator: ", ")
                + "], \"test\": [" + partition.test[client].map(String.init).joined(separator: ", ") + "]}"
            text += client + 1 < clients ? ",\n" : "\n"
        }
        return text + " ]}\n"
    }

    /// Parses a split file's bytes; malformed JSON or a missing or mistyped key is a one-line
    /// `UserError` naming `path`.
    public static func parse(_ bytes: [UInt8], path: String) throws -> Contents {
        do {
            return try JSONDecoder().decode(Contents.self, from: Data(bytes))
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
               (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil {
                // Foundation reports a fraction where an integer belongs as invalid JSON, without a place.
                throw UserError("\(path): an index, size or count is not a whole number")
            }
            throw UserError("\(path): \(describe(error))")
        }
    }

    /// Reads `path` and checks it against the run: the dataset's name, sizes and classes, and
    /// `clients`, `trainNum`, `testNum` of the config. Returns the partition and the SHA-256 of
    /// the file's bytes.
    public static func read(_ path: String, dataset: String, data: DatasetPair,
                            clients: Int, trainNum: Int, testNum: Int) throws -> (partition: ClientPartition, sha256: String) {
        let bytes = try FileReading.bytes(path)
        let contents = try parse(bytes, path: path)
        try check(contents, path: path, dataset: dataset, data: data, clients: clients, trainNum: trainNum, testNum: testNum)
        return (ClientPartition(train: contents.split.map(\.train), test: contents.split.map(\.test), proportions: []),
                sha256Hex(bytes))
    }

    /// The error for a split file whose bytes differ from the SHA-256 a run recorded.
    public static func changed(_ path: String, sha256: String, recorded: String) -> UserError {
        UserError("\(path): split file changed since the run started (SHA-256 \(sha256.prefix(16))…, the run recorded \(recorded.prefix(16))…); restore it or start a new run")
    }

    /// The checks of `read`, each fault a one-line `UserError` naming the file, the key and both values.
    static func check(_ contents: Contents, path: String, dataset: String, data: DatasetPair,
                      clients: Int, trainNum: Int, testNum: Int) throws {
        func fail(_ message: String) -> UserError { UserError("\(path): \(message)") }
        if let format = contents.format, format != Self.format {
            throw fail("format '\(format)', expected '\(Self.format)'")
        }
        guard contents.dataset.lowercased() == dataset.lowercased() else {
            throw fail("split of dataset '\(contents.dataset)', the run uses '\(dataset)'")
        }
        for (key, found, expected) in [("train_size", contents.trainSize, data.train.count),
                                       ("test_size", contents.testSize, data.test.count),
                                       ("classes", contents.classes, data.train.classes)] where found != expected {
            throw fail("\(key) \(found), but \(dataset) as loaded has \(expected)")
        }
        for (key, found, expected) in [("clients", contents.clients, clients), ("train_num", contents.trainNum, trainNum),
                                       ("test_num", contents.testNum, testNum)] where found != expected {
            throw fail("\(key) \(found), the config has \(expected)")
        }
        guard contents.split.count == clients else {
            throw fail("'split' lists \(contents.split.count) clients, clients is \(clients)")
        }
        for (position, entry) in contents.split.enumerated() {
            if let client = entry.client, client != position {
                throw fail("split entry \(position) says client \(client); clients must be listed in order from 0")
            }
            for (name, indices, count, size) in [("train", entry.train, trainNum, data.train.count),
                                                 ("test", entry.test, testNum, data.test.count)] {
                guard indices.count == count else {
                    throw fail("client \(position) has \(indices.count) \(name) indices, \(name)_num is \(count)")
                }
                if let bad = indices.first(where: { $0 < 0 || $0 >= size }) {
                    throw fail("client \(position): \(name) index \(bad) out of range 0..<\(size)")
                }
            }
        }
    }

    /// A decoding error as one clause: where in the file and what was wrong.
    static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            if path.isEmpty { return "top level" }
            var text = ""
            for key in path {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return "'\(text)'"
        }
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let detail = context.underlyingError.map { "\($0)" } ?? context.debugDescription
            return "not valid JSON" + (detail.isEmpty ? "" : " (\(detail.split(whereSeparator: \.isNewline).joined(separator: " ")))")
        case .dataCorrupted(let context):
            return "bad value at \(at(context.codingPath)) (\(context.debugDescription))"
        case .keyNotFound(let key, let context):
            return "key '\(key.stringValue)' missing at \(at(context.codingPath))"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(at(context.codingPath)) should be \(type == Int.self || type == UInt64.self ? "a whole number" : "\(type)")"
        @unknown default:
            return "not a split file"
        }
    }
}
