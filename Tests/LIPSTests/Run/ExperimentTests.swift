import Foundation
import Testing
@testable import LIPS

/// Run folders end to end on a small synthetic set: files, resume after a stop, wrong folders.
@Suite struct ExperimentTests {
    static func config(rounds: Int = 4) -> ExperimentConfig {
        var config = SimulationTests.config(.lips, rounds: rounds)
        config.syntheticShape = "3x8x8"
        config.syntheticClasses = 4
        config.syntheticTrain = 400
        config.syntheticTest = 200
        config.checkpointEvery = 1
        return config
    }

    static func withoutTimings(_ rows: [RoundMetrics]) -> [RoundMetrics] {
        rows.map { var row = $0; row.seconds = 0; row.secondsTraining = 0; row.secondsEvaluation = 0; return row }
    }

    @Test func aRunFillsItsFolderAndLearns() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var config = Self.config(rounds: 6)
        config.method = .fedavg
        config.localEpochs = 3
        let outcome = try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 2)
        #expect(outcome == .finished(rounds: 6, resumedFrom: 0))
        for name in ["config.yaml", "metrics.jsonl", "metrics.csv", "layers.csv", "checkpoint.bin"] {
            #expect(FileManager.default.fileExists(atPath: folder.file(name)), "\(name) missing")
        }
        let rows = try MetricsFiles.readJSONLines(String(contentsOfFile: folder.file("metrics.jsonl"), encoding: .utf8))
        #expect(rows.map(\.round) == Array(0..<6))
        // Four balanced classes: chance is 0.25; local models on non-IID clients do far better.
        let accuracy = try #require(rows.last?.personalizedAccuracy)
        #expect(accuracy > 0.6, "personalised accuracy \(accuracy) after 6 rounds")
        #expect(try ExperimentConfig.load(file: folder.file("config.yaml")) == config)
        // Rerunning a finished run does nothing.
        #expect(try Experiment(directory: folder.path, config: nil).run(data: SimulationTests.data) == .finished(rounds: 6, resumedFrom: 6))
    }

    @Test(arguments: [0, 2]) func aStoppedRunResumesToTheSameEnd(stopAfter: Int) throws {
        let whole = try TemporaryFolder(), stopped = try TemporaryFolder()
        defer { whole.cleanup(); stopped.cleanup() }
        let config = Self.config(rounds: 4)
        try Experiment(directory: whole.path, config: config).run(data: SimulationTests.data, workers: 1)

        // A stop asked for during round `stopAfter`, as Ctrl-C would (through a local flag, not
        // the process-wide StopSignal, so parallel tests cannot interfere).
        var stop = false
        let first = try Experiment(directory: stopped.path, config: config).run(
            data: SimulationTests.data, workers: 2,
            report: { line in if line.hasPrefix("round \(stopAfter + 1)/") { stop = true } },
            shouldStop: { stop })
        #expect(first == .interrupted(round: stopAfter + 1))
        // Resume from the folder alone, with another worker count.
        let second = try Experiment(directory: stopped.path, config: nil).run(data: SimulationTests.data, workers: 3)
        #expect(second == .finished(rounds: 4, resumedFrom: stopAfter + 1))

        let a = try Checkpoint.read(from: whole.file("checkpoint.bin"))
        let b = try Checkpoint.read(from: stopped.file("checkpoint.bin"))
        let sameState = a.snapshot == b.snapshot
        #expect(sameState)
        #expect(Self.withoutTimings(a.rounds) == Self.withoutTimings(b.rounds))
        #expect(a.layers == b.layers)
        let csv = { (folder: TemporaryFolder) in try String(contentsOfFile: folder.file("layers.csv"), encoding: .utf8) }
        #expect(try csv(whole) == csv(stopped))
    }

    @Test func aFolderHoldingAnotherRunIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = Self.config(rounds: 1)
        try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data)
        var other = config
        other.seed = 9
        expectUserError("holds a different run", "seed") { _ = try Experiment(directory: folder.path, config: other) }
        var faster = config
        faster.workers = 3
        _ = try Experiment(directory: folder.path, config: faster)   // runtime keys may change
        expectUserError("holds no run") { _ = try Experiment(directory: folder.file("empty"), config: nil) }
    }

    /// While one holder runs a folder (its lock open), another is refused before it writes
    /// anything; once the holder is gone, the folder runs. (flock conflicts between two open file
    /// descriptions, so two holders in one process stand for two processes.)
    @Test func aFolderInUseIsRefusedUntilItsHolderEnds() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = Self.config(rounds: 1)
        var holder: Experiment? = try Experiment(directory: folder.path, config: config)
        #expect(try holder?.lock() == .acquired)
        let lockText = try String(contentsOfFile: folder.file(".lips.lock"), encoding: .utf8)
        expectUserError("is in use by another lips process (pid \(getpid()))") {
            try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data)
        }
        #expect(lockText == "\(getpid())\n")
        #expect(!FileManager.default.fileExists(atPath: folder.file("config.yaml")), "the refused run wrote its config")
        holder = nil
        #expect(try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data)
                == .finished(rounds: 1, resumedFrom: 0))
    }

    /// A config.yaml edited after a checkpoint (a result-affecting key, or fewer rounds than are
    /// done) is refused on resume instead of mixing two runs; a runtime key may change.
    @Test func aConfigEditedSinceTheCheckpointIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = Self.config(rounds: 4)
        var stop = false
        let first = try Experiment(directory: folder.path, config: config).run(
            data: SimulationTests.data, workers: 1, report: { if $0.hasPrefix("round 2/") { stop = true } }, shouldStop: { stop })
        #expect(first == .interrupted(round: 2))
        for (key, value, recorded) in [("lr", "0.5", "lr: 0.05"), ("rounds", "2", "rounds: 4")] {
            var edited = config
            try edited.apply(setting: "\(key)=\(value)")
            try AtomicFile.write(edited.yaml(), to: folder.file("config.yaml"))
            expectUserError("config.yaml was changed since its checkpoint (made with \(recorded), now \(key): \(value))") {
                try Experiment(directory: folder.path, config: nil).run(data: SimulationTests.data)
            }
        }
        var runtime = config
        runtime.workers = 3
        try AtomicFile.write(runtime.yaml(), to: folder.file("config.yaml"))
        #expect(try Experiment(directory: folder.path, config: nil).run(data: SimulationTests.data) == .finished(rounds: 4, resumedFrom: 2))
    }

    /// A learning rate that blows the model up stops the run at the round it diverged, with one
    /// line naming the round and the first client whose loss went non-finite; the round's metrics
    /// are written (NaN as null), the last good checkpoint stays, and the report flags the run.
    @Test func aDivergedRunStopsAtItsRoundKeepingTheLastGoodCheckpoint() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var config = Self.config(rounds: 6)
        config.method = .fedavg
        config.learningRate = 1e30
        expectUserError("round 0 diverged (", "); stopped, no checkpoint was written") {
            try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 2)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("checkpoint.bin")))
        let rows = try MetricsFiles.readJSONLines(String(contentsOfFile: folder.file("metrics.jsonl"), encoding: .utf8))
        #expect(rows.count == 1)
        let notes = try RunCollection.load([folder.path]).notes
        #expect(notes == [folder.path + ": diverged at round 0, counted as it stands"])

        // Diverging later: the checkpoint of the last sound round is what stays.
        let later = try TemporaryFolder()
        defer { later.cleanup() }
        config.learningRate = 0.05
        var stop = false
        _ = try Experiment(directory: later.path, config: config).run(
            data: SimulationTests.data, workers: 1, report: { if $0.hasPrefix("round 2/") { stop = true } }, shouldStop: { stop })
        let good = try Checkpoint.read(from: later.file("checkpoint.bin"))
        var hot = good.snapshot
        hot.global = hot.global.map { $0 * 1e30 }   // as if the model had blown up in round 2
        try Checkpoint(snapshot: hot, rounds: good.rounds, layers: good.layers, configIdentity: config.identity())
            .write(to: later.file("checkpoint.bin"))
        expectUserError("round 2 diverged", "the checkpoint after round 1 is kept") {
            try Experiment(directory: later.path, config: nil).run(data: SimulationTests.data, workers: 1)
        }
        #expect(try Checkpoint.read(from: later.file("checkpoint.bin")).snapshot.nextRound == 2)
    }

    /// Temporary files a killed writer left (a SIGKILL mid-checkpoint) are removed by the next run
    /// of the folder; other dot files stay.
    @Test func leftoverTemporaryFilesAreRemovedByTheNextRun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write(".checkpoint.bin.tmp-4242-9f3a", [1, 2, 3])
        try folder.write(".keep", [1])
        try Experiment(directory: folder.path, config: Self.config(rounds: 1)).run(data: SimulationTests.data)
        #expect(!FileManager.default.fileExists(atPath: folder.file(".checkpoint.bin.tmp-4242-9f3a")))
        #expect(FileManager.default.fileExists(atPath: folder.file(".keep")))
    }

    @Test func aDamagedCheckpointIsRefusedWithAClearError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Experiment(directory: folder.path, config: Self.config(rounds: 1)).run(data: SimulationTests.data)
        var bytes = try FileReading.bytes(folder.file("checkpoint.bin"))
        bytes[bytes.count - 100] ^= 0xff
        try folder.write("checkpoint.bin", bytes)
        expectUserError("checkpoint.bin") { _ = try Checkpoint.read(from: folder.file("checkpoint.bin")) }
        try folder.write("checkpoint.bin", Array(bytes.prefix(10)))
        expectUserError("checkpoint.bin") { _ = try Checkpoint.read(from: folder.file("checkpoint.bin")) }
    }

    @Test func missingDataIsAUserError() throws {
        var config = Self.config()
        config.dataset = "cifar10"
        config.dataDirectory = "/nonexistent/cifar"
        expectUserError("/nonexistent/cifar") { _ = try Experiment.loadData(config) }
    }
}
