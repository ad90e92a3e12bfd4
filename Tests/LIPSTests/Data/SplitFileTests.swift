import Foundation
import Testing
@testable import LIPS

/// Split files: `lips data split`'s JSON is the partition a run draws, and every bad file is a
/// one-line error naming its fault.
@Suite struct SplitFileTests {
    static func config() -> ExperimentConfig { ExperimentTests.config(rounds: 2) }

    @Test(arguments: [ExperimentConfig.PartitionKind.dirichlet, .pathological, .iid])
    func theExportedSplitIsThePartitionARunDraws(kind: ExperimentConfig.PartitionKind) throws {
        var config = Self.config()
        config.partition = kind
        let text = try Experiment.splitJSON(config, data: SimulationTests.data)
        let contents = try SplitFile.parse(Array(text.utf8), path: "split.json")
        let drawn = try Simulation(config: config, data: SimulationTests.data, workers: 1).partition
        #expect(contents.split.map(\.train) == drawn.train)
        #expect(contents.split.map(\.test) == drawn.test)
        #expect(contents.split.map(\.client) == Array(0..<config.clients))
        #expect(contents.dataset == "synthetic" && contents.trainSize == 400 && contents.testSize == 200)
        #expect(contents.classes == 4 && contents.clients == 6 && contents.trainNum == 20 && contents.testNum == 12)
        #expect(contents.partition == config.partitionScheme.description && contents.seed == config.seed)
        // A split_file read back gives the same partition.
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("split.json", Array(text.utf8))
        config.splitFile = folder.file("split.json")
        let read = try Simulation.partition(config: config, data: SimulationTests.data)
        #expect(read.train == drawn.train && read.test == drawn.test)
    }

    /// Every fault, by an edit of a good file, and the words its message must hold.
    @Test func badSplitFilesAreOneLineErrors() throws {
        let config = Self.config()
        let good = try Experiment.splitJSON(config, data: SimulationTests.data)
        let contents = try SplitFile.parse(Array(good.utf8), path: "good.json")
        func encoded(_ change: (inout SplitFile.Contents) -> Void) -> String {
            var copy = contents
            change(&copy)
            let encoder = JSONEncoder()
            return String(decoding: try! encoder.encode(copy), as: UTF8.self)
        }
        let cases: [(text: String, words: [String])] = [
            (String(good.dropLast(4)), ["not valid JSON"]),
            ("[1, 2]", ["top level"]),
            (good.replacingOccurrences(of: "\"train_num\"", with: "\"trainnum\""), ["'train_num' missing"]),
            (good.replacingOccurrences(of: "\"train\": [", with: "\"train\": [1.5, "), ["not a whole number"]),
            (good.replacingOccurrences(of: "\"test\": [", with: "\"test\": [\"7\", "), ["split", "test"]),
            (encoded { $0.split[2].train[0] = 400 }, ["client 2", "train index 400 out of range 0..<400"]),
            (encoded { $0.split[1].test[3] = -1 }, ["client 1", "test index -1 out of range"]),
            (encoded { $0.dataset = "cifar10" }, ["dataset 'cifar10'", "'synthetic'"]),
            (encoded { $0.format = "other" }, ["format 'other'"]),
            (encoded { $0.trainSize = 60000 }, ["train_size 60000", "400"]),
            (encoded { $0.testSize = 10 }, ["test_size 10", "200"]),
            (encoded { $0.classes = 10 }, ["classes 10", "4"]),
            (encoded { $0.clients = 5 }, ["clients 5", "config has 6"]),
            (encoded { $0.trainNum = 21 }, ["train_num 21", "config has 20"]),
            (encoded { $0.testNum = 11 }, ["test_num 11", "config has 12"]),
            (encoded { $0.split.removeLast() }, ["lists 5 clients", "clients is 6"]),
            (encoded { $0.split[4].train.removeLast() }, ["client 4 has 19 train indices", "train_num is 20"]),
            (encoded { $0.split[0].test.append(3) }, ["client 0 has 13 test indices", "test_num is 12"]),
            (encoded { $0.split.swapAt(0, 1) }, ["entry 0 says client 1"]),
        ]
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var withFile = config
        withFile.splitFile = folder.file("bad.json")
        for (text, words) in cases {
            try folder.write("bad.json", Array(text.utf8))
            guard let message = userErrorMessage({ _ = try Simulation.partition(config: withFile, data: SimulationTests.data) })
            else { continue }
            for word in words + ["bad.json"] where !message.contains(word) {
                Issue.record("'\(message)' does not mention '\(word)'")
            }
        }
        withFile.splitFile = folder.file("missing.json")
        expectUserError("missing.json", "not found") { _ = try Simulation.partition(config: withFile, data: SimulationTests.data) }
        // The unchanged file (re-encoded by JSONEncoder) is accepted.
        try folder.write("bad.json", Array(encoded { _ in }.utf8))
        withFile.splitFile = folder.file("bad.json")
        _ = try Simulation.partition(config: withFile, data: SimulationTests.data)
    }

    @Test func aRecordedChecksumThatDoesNotMatchIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let text = try Experiment.splitJSON(Self.config(), data: SimulationTests.data)
        try folder.write("split.json", Array(text.utf8))
        var config = Self.config()
        config.splitFile = folder.file("split.json")
        config.splitSHA256 = sha256Hex(Array(text.utf8))
        _ = try Simulation.partition(config: config, data: SimulationTests.data)
        config.splitSHA256 = String(repeating: "0", count: 64)
        expectUserError("split.json", "changed since the run started") {
            _ = try Simulation.partition(config: config, data: SimulationTests.data)
        }
        config.splitSHA256 = "abc"
        expectUserError("split_sha256") { try config.validate() }
    }
}
