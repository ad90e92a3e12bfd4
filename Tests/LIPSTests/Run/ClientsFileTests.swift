import Foundation
import Testing
@testable import LIPS

/// `clients.csv` in run folders (rebuilt from the checkpoint on resume), and metrics files and
/// checkpoints written before the per-client fields existed.
@Suite struct ClientsFileTests {
    static func text(_ folder: TemporaryFolder, _ name: String) throws -> String {
        try String(contentsOfFile: folder.file(name), encoding: .utf8)
    }

    @Test func aRunWritesOneRowPerClientPerEvaluatedRound() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var config = ExperimentTests.config(rounds: 3)
        config.evalEvery = 2
        try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 2)
        let text = try Self.text(folder, "clients.csv")
        #expect(text.hasPrefix("round,client,samples,personalized_accuracy,dense_accuracy,personalized_loss,dense_loss\n"))
        let rows = try MetricsFiles.readClientsCSV(text)
        #expect(rows.map(\.round) == Array(repeating: 0, count: 6) + Array(repeating: 2, count: 6))
        #expect(rows.map(\.client) == Array(0..<6) + Array(0..<6))
        #expect(try MetricsFiles.readClients(from: folder.path) == rows)
        #expect(MetricsFiles.clientsCSV(rows) == text, "written and read back bit for bit")
        let rounds = try MetricsFiles.readJSONLines(Self.text(folder, "metrics.jsonl"))
        #expect(rounds[2].personalizedAccuracy == rows[6...].reduce(0.0) { $0 + $1.personalizedAccuracy } / 6)
        #expect(try Checkpoint.read(from: folder.file("checkpoint.bin")).clients == rows)
    }

    /// A run killed after writing a round's metrics files but before its checkpoint (simulated by
    /// putting a finished run's files over a stopped run's) resumes from the checkpoint: the rows
    /// after it are written once, as an uninterrupted run writes them.
    @Test func aResumedRunRewritesTheClientsFileUpToItsCheckpointWithoutDuplicates() throws {
        let whole = try TemporaryFolder(), stopped = try TemporaryFolder()
        defer { whole.cleanup(); stopped.cleanup() }
        let config = ExperimentTests.config(rounds: 4)
        try Experiment(directory: whole.path, config: config).run(data: SimulationTests.data, workers: 1)
        var stop = false
        let first = try Experiment(directory: stopped.path, config: config).run(
            data: SimulationTests.data, workers: 2, report: { if $0.hasPrefix("round 2/") { stop = true } }, shouldStop: { stop })
        #expect(first == .interrupted(round: 2))
        #expect(try MetricsFiles.readClientsCSV(Self.text(stopped, "clients.csv")).map(\.round).max() == 1)
        for name in ["clients.csv", "metrics.jsonl", "metrics.csv", "layers.csv"] {
            try FileManager.default.removeItem(atPath: stopped.file(name))
            try FileManager.default.copyItem(atPath: whole.file(name), toPath: stopped.file(name))
        }
        let second = try Experiment(directory: stopped.path, config: nil).run(data: SimulationTests.data, workers: 3)
        #expect(second == .finished(rounds: 4, resumedFrom: 2))
        #expect(try Self.text(stopped, "clients.csv") == Self.text(whole, "clients.csv"))
        #expect(try Self.text(stopped, "layers.csv") == Self.text(whole, "layers.csv"))
        let a = try MetricsFiles.readJSONLines(Self.text(whole, "metrics.jsonl"))
        let b = try MetricsFiles.readJSONLines(Self.text(stopped, "metrics.jsonl"))
        #expect(ExperimentTests.withoutTimings(a) == ExperimentTests.withoutTimings(b))
    }

    /// Stopped on 2 ranks (threads) and resumed on 3: the same `clients.csv` as one process.
    @Test func aRunAcrossRanksWritesTheOneProcessClientsFile() throws {
        var config = ExperimentTests.config(rounds: 4)
        config.clients = 7
        config.aggregationBlock = 2
        config.checkpointEvery = 0
        let whole = try TemporaryFolder(), stopped = try TemporaryFolder()
        defer { whole.cleanup(); stopped.cleanup() }
        try Experiment(directory: whole.path, config: config).run(data: SimulationTests.data, workers: 2)
        let sameConfig = config
        _ = try ThreadRanks(size: 2).run { communicator in
            var asked = 0
            return try Experiment(directory: stopped.path, config: sameConfig)
                .run(data: SimulationTests.data, workers: 1, communicator: communicator, shouldStop: {
                    asked += 1
                    return communicator.rank == 1 && asked == 2
                })
        }
        _ = try ThreadRanks(size: 3).run { communicator in
            try Experiment(directory: stopped.path, config: nil).run(data: SimulationTests.data, workers: 1,
                                                                    communicator: communicator, shouldStop: { false })
        }
        #expect(try Self.text(stopped, "clients.csv") == Self.text(whole, "clients.csv"))
        #expect(try MetricsFiles.readClientsCSV(Self.text(whole, "clients.csv")).count == 4 * 7)
    }

    @Test func metricsFilesFromBeforeTheNewColumnsStillRead() throws {
        let jsonLine = #"{"round": 0, "method": "lips", "density": 0.5, "received_density": 0.5, "clients_trained": 2, "clients": [0, 1], "train_loss": 1.5, "train_accuracy": 0.5, "personalized_accuracy": 0.25, "dense_accuracy": 0.5, "global_accuracy": null, "bytes_uplinked": 800, "seconds_training": 1, "seconds_evaluation": 1, "seconds": 2}"#
        let row = try #require(try MetricsFiles.readJSONLines(jsonLine + "\n").first)
        #expect(row.bytesUplinked == 800 && row.bytesDownlinked == nil && row.personalizedLoss == nil)
        #expect(row.personalizedAccuracyStd == nil && row.personalizedAccuracyP10 == nil && row.denseLoss == nil)
        let csv = "round,method,density,received_density,clients_trained,train_loss,train_accuracy,personalized_accuracy,dense_accuracy,global_accuracy,bytes_uplinked,seconds_training,seconds_evaluation,seconds\n0,lips,0.5,0.5,2,1.5,0.5,0.25,0.5,,800,1,1,2\n"
        var fromCSV = try #require(try MetricsFiles.readCSV(csv).first)
        fromCSV.clients = [0, 1]
        #expect(fromCSV == row)
        // Written again, the row has the new columns (empty) and bytes_uplink.
        let written = MetricsFiles.csv([row])
        #expect(written.hasPrefix(MetricsFiles.roundColumns.joined(separator: ",") + "\n"))
        #expect(written.contains(",,,,,800,,1.0,1.0,2.0\n"))
        #expect(try MetricsFiles.readCSV(written) == [fromCSV].map { var r = $0; r.clients = nil; return r })
        // A file with neither name is an error naming the new one.
        expectUserError("line 2", "'bytes_uplink' missing") {
            _ = try MetricsFiles.readCSV(csv.replacingOccurrences(of: "bytes_uplinked", with: "bytes"))
        }
        // A checkpoint from before clients.metrics reads with no client rows.
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let snapshot = SimulationSnapshot(nextRound: 1, global: [1], globalStatistics: [], reference: [],
                                          clients: ClientStoreSnapshot(clients: [], hasGradient: [], hasMask: [], hasLocal: [],
                                                                       maskWords: [], localValues: [], halfGradients: [], singleGradients: []))
        let clientRow = ClientMetrics(round: 0, client: 1, samples: 4, personalizedAccuracy: 0.25, denseAccuracy: .nan,
                                      personalizedLoss: .infinity, denseLoss: 1e-300)
        var archive = try Checkpoint(snapshot: snapshot, rounds: [row], layers: [], clients: [clientRow]).archive()
        try archive.write(to: folder.file("new.bin"))
        let kept = try Checkpoint.read(from: folder.file("new.bin")).clients
        #expect(kept.count == 1 && kept[0].denseAccuracy.isNaN && kept[0].personalizedLoss == .infinity && kept[0].denseLoss == 1e-300)
        archive.sections.removeAll { $0.name == "clients.metrics" }
        try archive.write(to: folder.file("old.bin"))
        let old = try Checkpoint.read(from: folder.file("old.bin"))
        #expect(old.clients.isEmpty && old.rounds == [row])
    }
}
