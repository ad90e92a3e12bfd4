import Foundation
import Testing
@testable import LIPS

/// Runs on a split file, in split order, and the participants they record.
@Suite struct SplitRunTests {
    static func metrics(_ directory: String) throws -> [RoundMetrics] {
        ExperimentTests.withoutTimings(try MetricsFiles.read(from: directory).rounds)
    }

    static func file(_ directory: String, _ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    @Test func aRunOnItsExportedSplitIsBitwiseTheSame() throws {
        let drawn = try TemporaryFolder(), fromFile = try TemporaryFolder()
        defer { drawn.cleanup(); fromFile.cleanup() }
        var config = ExperimentTests.config(rounds: 2)
        config.participation = 0.5
        try Experiment(directory: drawn.path, config: config).run(data: SimulationTests.data, workers: 2)
        let text = try Experiment.splitJSON(config, data: SimulationTests.data)
        try fromFile.write("split.json", Array(text.utf8))
        var onFile = config
        onFile.splitFile = fromFile.file("split.json")
        try Experiment(directory: fromFile.file("run"), config: onFile).run(data: SimulationTests.data, workers: 1)
        let run = fromFile.file("run")
        #expect(try Self.metrics(drawn.path) == Self.metrics(run))
        #expect(try Self.metrics(run).allSatisfy { $0.clients?.count == 3 })
        #expect(try String(contentsOfFile: drawn.file("layers.csv"), encoding: .utf8)
                == String(contentsOfFile: Self.file(run, "layers.csv"), encoding: .utf8))
        let a = try Checkpoint.read(from: drawn.file("checkpoint.bin")), b = try Checkpoint.read(from: Self.file(run, "checkpoint.bin"))
        let same = a.snapshot == b.snapshot
        #expect(same)
        // config.yaml records the file and its SHA-256.
        let recorded = try ExperimentConfig.load(file: Self.file(run, "config.yaml"))
        #expect(recorded.splitFile == onFile.splitFile)
        #expect(recorded.splitSHA256 == sha256Hex(Array(text.utf8)))
    }

    @Test func resumingAfterTheSplitFileChangedIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let base = ExperimentTests.config(rounds: 2)
        let text = try Experiment.splitJSON(base, data: SimulationTests.data)
        try folder.write("split.json", Array(text.utf8))
        var config = base
        config.splitFile = folder.file("split.json")
        let run = folder.file("run")
        var stop = true
        #expect(try Experiment(directory: run, config: config).run(data: SimulationTests.data, shouldStop: { stop })
                == .interrupted(round: 1))
        // Same bytes: resumes, from the folder alone or with the same config.
        _ = try Experiment(directory: run, config: config)
        // Another split (another seed's draw) in the same file: refused, with or without a config.
        var other = base
        other.seed = 11
        try folder.write("split.json", Array(try Experiment.splitJSON(other, data: SimulationTests.data).utf8))
        expectUserError("split.json", "changed since the run started") { _ = try Experiment(directory: run, config: nil) }
        expectUserError("split.json", "changed since the run started") { _ = try Experiment(directory: run, config: config) }
        // Restored: the run continues to its end.
        try folder.write("split.json", Array(text.utf8))
        stop = false
        #expect(try Experiment(directory: run, config: nil).run(data: SimulationTests.data) == .finished(rounds: 2, resumedFrom: 1))
    }

    @Test func shuffleFalseIsDeterministicAcrossWorkerCounts() throws {
        var config = SimulationTests.config(.lips, rounds: 2)
        config.shuffle = false
        let one = try SimulationTests.run(config, workers: 1), three = try SimulationTests.run(config, workers: 3)
        #expect(one.rounds == three.rounds)
        #expect(one.layers == three.layers)
        let sameModel = one.simulation.global.array == three.simulation.global.array
        #expect(sameModel)
        var shuffled = config
        shuffled.shuffle = true
        #expect(try SimulationTests.run(shuffled, workers: 1).rounds != one.rounds)
        shuffled.shuffle = false
        shuffled.horizontalFlip = true
        expectUserError("shuffle: false", "flip") { try shuffled.validate() }
    }

    @Test func eachRoundRecordsItsClients() throws {
        var config = SimulationTests.config(.fedavg, rounds: 3)
        config.participation = 0.5
        let run = try SimulationTests.run(config, workers: 2)
        for row in run.rounds {
            #expect(row.clients == run.simulation.selectedClients(round: row.round))
            #expect(row.clients?.count == 3 && row.clientsTrained == 3)
        }
        #expect(Set(run.rounds.map { $0.clients ?? [] }).count > 1, "different draws per round")
        // metrics.jsonl carries the list and reads it back; metrics.csv leaves it out.
        let text = MetricsFiles.jsonLines(run.rounds)
        #expect(text.contains("\"clients\": [\(run.rounds[0].clients!.map(String.init).joined(separator: ", "))]"))
        #expect(try MetricsFiles.readJSONLines(text) == run.rounds)
        #expect(!MetricsFiles.csv(run.rounds).contains("[") )
        let fromCSV = try MetricsFiles.readCSV(MetricsFiles.csv(run.rounds))
        #expect(fromCSV.allSatisfy { $0.clients == nil })
        // Full participation lists every client.
        config.participation = 1
        #expect(try SimulationTests.run(config, workers: 1, rounds: 1).rounds[0].clients == Array(0..<6))
    }
}
