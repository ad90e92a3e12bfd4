import Foundation
import Testing
@testable import LIPS

/// `lips export` and `init_from`: a run's model out as safetensors, and back in as another run's start.
@Suite struct ModelExportTests {
    static func config(rounds: Int) -> ExperimentConfig {
        var config = ExperimentTests.config(rounds: rounds)
        config.updateFrequency = 1
        return config
    }

    static let model = try! Model.named("cnn", classes: 4, input: Shape(channels: 3, height: 8, width: 8))

    @Test func theGlobalModelRoundTripsIntoAnotherRun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let runA = folder.file("a"), runB = folder.file("b"), weights = folder.file("a.safetensors")
        try Experiment(directory: runA, config: Self.config(rounds: 2)).run(data: SimulationTests.data, workers: 2)
        let summary = try ModelExport.export(runDirectory: runA, client: nil, to: weights)
        #expect(summary.round == 1)
        let a = try Checkpoint.read(from: runA + "/checkpoint.bin").snapshot
        let file = try Safetensors.read(from: weights)
        #expect(file.metadata["format"] == "pt")
        let values = try StateDict.values(from: file, source: weights, model: Self.model)
        #expect(values.parameters.map(\.bitPattern) == a.global.map(\.bitPattern))
        #expect(values.statistics.map(\.bitPattern) == a.globalStatistics.map(\.bitPattern))

        // Run B starts from run A's global model: its first round equals a simulation whose
        // initial model was set to exactly those weights, and differs from the seeded start.
        var config = Self.config(rounds: 1)
        config.seed = 5
        config.initFrom = weights
        try Experiment(directory: runB, config: config).run(data: SimulationTests.data, workers: 2)
        let b = try Checkpoint.read(from: runB + "/checkpoint.bin").snapshot
        var plain = config
        plain.initFrom = nil
        let expected = try Simulation(config: plain, data: SimulationTests.data, workers: 1)
        let seeded = try Simulation(config: plain, data: SimulationTests.data, workers: 1)
        expected.setInitialModel(parameters: a.global, statistics: a.globalStatistics)
        _ = expected.runRound()
        _ = seeded.runRound()
        #expect(b.global.map(\.bitPattern) == expected.global.array.map(\.bitPattern))
        #expect(b.global != seeded.global.array)

        // The resolved config records the file's SHA-256.
        let recorded = try ExperimentConfig.load(file: runB + "/config.yaml")
        #expect(recorded.initFrom == weights)
        #expect(recorded.initSHA256 == sha256Hex(try FileReading.bytes(weights)))
    }

    /// `save_global_every`: the global model after the rounds it names (and the last), each equal
    /// to what a simulation stopped after that round holds; resuming adds the later files.
    @Test func saveGlobalEveryWritesTheNamedRounds() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let run = folder.file("run")
        var config = Self.config(rounds: 5)
        config.saveGlobalEvery = 2
        config.checkpointEvery = 1
        var stopAfter = 2
        _ = try Experiment(directory: run, config: config).run(data: SimulationTests.data, workers: 2,
                                                                 shouldStop: { stopAfter -= 1; return stopAfter == 0 })
        let models = run + "/" + Experiment.modelsFolder
        #expect(try FileManager.default.contentsOfDirectory(atPath: models).sorted() == ["global-r1.safetensors"])
        try Experiment(directory: run, config: nil).run(data: SimulationTests.data, workers: 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: models).sorted()
                == ["global-r1.safetensors", "global-r3.safetensors", "global-r4.safetensors"])

        let reference = try Simulation(config: config, data: SimulationTests.data, workers: 1)
        for round in 0..<5 {
            _ = reference.runRound()
            guard [1, 3, 4].contains(round) else { continue }
            let path = models + "/global-r\(round).safetensors"
            let file = try Safetensors.read(from: path)
            #expect(file.metadata["round"] == "\(round)")
            let values = try StateDict.values(from: file, source: path, model: Self.model)
            #expect(values.parameters.map(\.bitPattern) == reference.global.array.map(\.bitPattern))
            #expect(values.statistics.map(\.bitPattern) == reference.globalStatistics.array.map(\.bitPattern))
        }
    }

    @Test func aResumeWithAChangedInitFileIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let weights = folder.file("w.safetensors")
        let parameters = Self.model.makeParameters(), statistics = Self.model.makeStatistics()
        Self.model.initialize(parameters: parameters, statistics: statistics, seed: 11)
        try Safetensors(tensors: StateDict.tensors(model: Self.model, parameters: parameters.array, statistics: statistics.array))
            .write(to: weights)
        var config = Self.config(rounds: 3)
        config.initFrom = weights
        var stop = false
        let run = folder.file("run")
        let first = try Experiment(directory: run, config: config).run(
            data: SimulationTests.data, workers: 1, report: { if $0.hasPrefix("round 1/") { stop = true } }, shouldStop: { stop })
        #expect(first == .interrupted(round: 1))
        // Same file: resumes (from the folder alone, and with the config given again).
        _ = try Experiment(directory: run, config: nil)
        _ = try Experiment(directory: run, config: config)
        // Another file under the same name: refused, both ways.
        Self.model.initialize(parameters: parameters, statistics: statistics, seed: 12)
        try Safetensors(tensors: StateDict.tensors(model: Self.model, parameters: parameters.array, statistics: statistics.array))
            .write(to: weights)
        expectUserError("init_from", "w.safetensors", "has changed") { _ = try Experiment(directory: run, config: nil) }
        expectUserError("init_from", "has changed") { _ = try Experiment(directory: run, config: config) }
    }

    @Test func initFromErrorsNameTheFileAndTensor() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let weights = folder.file("w.safetensors")
        let file = SafetensorsTests.stateDict { $0.removeAll { $0.name == "classifier.bias" } }
        try file.write(to: weights)
        var config = Self.config(rounds: 1)
        config.initFrom = weights
        expectUserError("init_from", "w.safetensors", "missing tensor 'classifier.bias'") {
            try Experiment(directory: folder.file("run"), config: config).run(data: SimulationTests.data, workers: 1)
        }
        // A failed start leaves no run behind.
        #expect(!FileManager.default.fileExists(atPath: folder.file("run/config.yaml")))
        config.initFrom = folder.file("none.safetensors")
        expectUserError("init_from", "none.safetensors", "cannot read") { _ = try Experiment(directory: folder.file("run"), config: config) }
        try folder.write("bad.safetensors", [1, 2, 3])
        config.initFrom = folder.file("bad.safetensors")
        expectUserError("bad.safetensors", "truncated") {
            try Experiment(directory: folder.file("run2"), config: config).run(data: SimulationTests.data, workers: 1)
        }
    }

    @Test func aClientsExportHasItsMaskZeros() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = Self.config(rounds: 2)
        try Experiment(directory: folder.path, config: config).run(data: SimulationTests.data, workers: 2)
        let snapshot = try Checkpoint.read(from: folder.file("checkpoint.bin")).snapshot
        let density = try #require(LIPSSchedule(initialDensity: config.updateDensity, updateFrequency: 1,
                                                horizon: config.effectiveHorizon).density(afterRound: 1))
        #expect(density < 1)
        for client in [0, 5] {
            try ModelExport.export(runDirectory: folder.path, client: client, to: folder.file("c.safetensors"))
            let file = try Safetensors.read(from: folder.file("c.safetensors"))
            #expect(file.metadata["source"] == "client \(client) received model")
            for entry in Self.model.parameterLayout.entries {
                let values = try #require(file.tensor(named: entry.name)?.floats)
                let global = Array(snapshot.global[entry.range])
                if entry.maskable {
                    // floor(n·d) weights kept, exactly as sent; the rest zero.
                    let kept = zip(values, global).filter { $0.0 != 0 }
                    #expect(kept.count == LIPSSparsifier.keepCount(entry.count, density: density), "\(entry.name)")
                    #expect(kept.allSatisfy { $0.0.bitPattern == $0.1.bitPattern }, "\(entry.name)")
                } else {
                    #expect(values.map(\.bitPattern) == global.map(\.bitPattern), "\(entry.name)")
                }
            }
        }
    }

    @Test func exportErrorsAreOneLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        expectUserError("nowhere", "no such run folder") {
            try ModelExport.export(runDirectory: folder.file("nowhere"), client: nil, to: folder.file("x.safetensors"))
        }
        expectUserError("holds no run") { try ModelExport.export(runDirectory: folder.path, client: nil, to: folder.file("x.safetensors")) }
        try AtomicFile.write(Self.config(rounds: 1).yaml(), to: folder.file("config.yaml"))
        expectUserError("holds no checkpoint") { try ModelExport.export(runDirectory: folder.path, client: nil, to: folder.file("x.safetensors")) }
        try Experiment(directory: folder.path, config: nil).run(data: SimulationTests.data, workers: 1)
        expectUserError("--client 6 is out of range", "0..<6") {
            try ModelExport.export(runDirectory: folder.path, client: 6, to: folder.file("x.safetensors"))
        }
        expectUserError("--client -1") { try ModelExport.export(runDirectory: folder.path, client: -1, to: folder.file("x.safetensors")) }
    }
}
