import Foundation
import Testing
@testable import LIPS

/// `lips run --out DIR --set rounds=N` on a run with fewer rounds: it goes on to N and ends where
/// a run of N rounds from the start would; what would make that false is refused in one line.
@Suite struct RunExtensionTests {
    /// Runs `config` into `folder`, then extends it to `rounds`; returns the second outcome.
    static func extend(_ folder: TemporaryFolder, _ config: ExperimentConfig, to rounds: Int,
                       settings: [String] = []) throws -> Experiment.Outcome {
        try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 1)
        var longer = try Experiment(directory: folder.path, config: nil).config
        for setting in ["rounds=\(rounds)"] + settings { try longer.apply(setting: setting) }
        return try Experiment(directory: folder.path, config: longer).run(data: SimulationTests.data, workers: 2)
    }

    /// The extended folder equals a folder run with `expected` from the start.
    static func expectSameRun(_ extended: TemporaryFolder, _ expected: ExperimentConfig) throws {
        let whole = try TemporaryFolder()
        defer { whole.cleanup() }
        try Experiment(directory: whole.path, config: expected).run(data: SimulationTests.data, workers: 1)
        let a = try Checkpoint.read(from: whole.file("checkpoint.bin")), b = try Checkpoint.read(from: extended.file("checkpoint.bin"))
        let sameState = a.snapshot == b.snapshot
        #expect(sameState)
        #expect(ExperimentTests.withoutTimings(a.rounds) == ExperimentTests.withoutTimings(b.rounds))
        let read = { (folder: TemporaryFolder, name: String) in try String(contentsOfFile: folder.file(name), encoding: .utf8) }
        #expect(try read(whole, "layers.csv") == read(extended, "layers.csv"))
        #expect(try ExperimentConfig.load(file: extended.file("config.yaml")) == expected)
    }

    @Test func aFinishedFedAvgRunGrowsToTheLongerRunsEnd() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var config = ExperimentTests.config(rounds: 2)
        config.method = .fedavg
        #expect(try Self.extend(folder, config, to: 4) == .finished(rounds: 4, resumedFrom: 2))
        config.rounds = 4
        try Self.expectSameRun(folder, config)
    }

    /// LIPS's schedule runs to `horizon`, which defaults to `rounds`: growing `rounds` alone would
    /// change it, so the user pins the horizon the done rounds used.
    @Test func aLIPSRunGrowsOnlyWithItsHorizonKept() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = ExperimentTests.config(rounds: 2)
        expectUserError("rounds can grow (2 → 4) only if the LIPS schedule stays", "horizon = rounds (2)", "--set horizon=2") {
            _ = try Self.extend(folder, config, to: 4)
        }
        expectUserError("asked horizon 3", "--set horizon=2") {
            var longer = config
            longer.rounds = 4
            longer.horizon = 3
            _ = try Experiment(directory: folder.path, config: longer)
        }
        var longer = try Experiment(directory: folder.path, config: nil).config
        try longer.apply(setting: "rounds=4")
        try longer.apply(setting: "horizon=2")
        #expect(try Experiment(directory: folder.path, config: longer).run(data: SimulationTests.data, workers: 2)
                == .finished(rounds: 4, resumedFrom: 2))
        try Self.expectSameRun(folder, longer)
    }

    /// A run stopped before its end grows too (its checkpoint still records the fewer rounds).
    @Test func aStoppedRunGrowsAndEndsAsTheLongerRun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var config = ExperimentTests.config(rounds: 3)
        config.horizon = 5
        var stop = false
        _ = try Experiment(directory: folder.path, config: config).run(
            data: SimulationTests.data, workers: 1, report: { if $0.hasPrefix("round 1/") { stop = true } }, shouldStop: { stop })
        config.rounds = 5
        #expect(try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 1)
                == .finished(rounds: 5, resumedFrom: 1))
        try Self.expectSameRun(folder, config)
    }

    /// With eval_every > 1 the old last round was evaluated only because it was the last.
    @Test func anEvaluatedLastRoundOffTheCadenceRefusesToGrow() throws {
        let folder = try TemporaryFolder(), other = try TemporaryFolder()
        defer { folder.cleanup(); other.cleanup() }
        var config = ExperimentTests.config(rounds: 2)
        config.method = .fedavg
        config.evalEvery = 2
        expectUserError("rounds cannot grow (2 → 4): its round 1 was evaluated as the last one", "eval_every 2") {
            _ = try Self.extend(folder, config, to: 4)
        }
        config.rounds = 3  // its last round, 2, is on the cadence
        #expect(try Self.extend(other, config, to: 5) == .finished(rounds: 5, resumedFrom: 3))
        config.rounds = 5
        try Self.expectSameRun(other, config)
    }

    @Test func fewerRoundsOrAnotherKeyAreStillAnotherRun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = ExperimentTests.config(rounds: 3)
        try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 1)
        var shorter = config
        shorter.rounds = 2
        expectUserError("holds a different run (it has rounds: 3, asked rounds: 2)") {
            _ = try Experiment(directory: folder.path, config: shorter)
        }
        var other = config
        other.rounds = 5
        other.horizon = 3
        other.seed = 9
        expectUserError("holds a different run", "seed") { _ = try Experiment(directory: folder.path, config: other) }
    }

    // MARK: - preset: in a run config

    @Test func aRunConfigMayStartFromAPreset() throws {
        let loaded = try ExperimentConfig.load(yaml: "rounds: 3\npreset: fmnist-resnet8-lips\nseed: 5\n", source: "my.yaml")
        var expected = try Presets.config(named: "fmnist-resnet8-lips")
        expected.rounds = 3
        expected.seed = 5
        #expect(loaded == expected)  // the preset first, wherever it stands, then the other keys
        expectUserError("my.yaml:2: unknown preset 'nope'; known presets: fmnist-resnet8-fedavg") {
            _ = try ExperimentConfig.load(yaml: "rounds: 3\npreset: nope\n", source: "my.yaml")
        }
        expectUserError("my.yaml:1: 'preset' must be a preset name") {
            _ = try ExperimentConfig.load(yaml: "preset: [a, b]\n", source: "my.yaml")
        }
        // The written config is resolved: it names no preset and loads back equal.
        #expect(!loaded.yaml().contains("preset"))
        #expect(try ExperimentConfig.load(yaml: loaded.yaml(), source: "x") == loaded)
    }
}
