import Testing
@testable import LIPS

/// FedProx, SCAFFOLD and the server rule (FedAvgM) of docs/semantics.md §12, each against a
/// computation written here step by step, plus determinism and resume with LIPS on top. The
/// PyTorch golden cases (`federation_fedprox`, `federation_scaffold`, …) check them against torch.
@Suite struct AlgorithmTests {
    static let shape = Shape(channels: 3, height: 8, width: 8)

    static func config(_ algorithm: ExperimentConfig.Algorithm, _ tweak: (inout ExperimentConfig) -> Void = { _ in }) -> ExperimentConfig {
        var config = SimulationTests.config(.lips)
        config.algorithm = algorithm
        config.proximalWeight = 0.1
        if algorithm == .fedavgm { config.serverMomentum = 0.9 }
        tweak(&config)
        return config
    }

    /// One client, two steps: each gradient plus μ·(w − a), then PyTorch's SGD (weight decay,
    /// momentum), written out here; the trainer must agree bitwise, and keep the last corrected
    /// gradient for LIPS.
    @Test func fedProxAddsMuTimesTheDistanceToTheReceivedModelToEveryStep() throws {
        let data = SimulationTests.data
        let model = Model.cnn(classes: 4, input: Self.shape)
        let (lr, momentum, decay, mu): (Float, Float, Float, Float) = (0.05, 0.9, 0.01, 0.5)
        let indices = [3, 17, 42, 8, 99, 120, 7, 61]
        let received = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: received, statistics: statistics, seed: 4)
        let assembler = try BatchAssembler(imageShape: Self.shape)

        let trainer = ClientTrainer(model: model, options: LocalTrainingOptions(
            epochs: 1, batchSize: 4, optimizer: SGD(learningRate: lr, momentum: momentum, weightDecay: decay), shuffle: false))
        let parameters = Arena(copying: received), trainedStatistics = Arena(copying: statistics)
        let anchor = Arena(copying: received)
        let result = trainer.train(parameters: parameters, statistics: trainedStatistics, data: data.train, indices: indices,
                                   assembler: assembler, seed: 1, round: 0, client: 0, rule: .proximal(mu: mu, anchor: anchor))
        #expect(result.steps == 2)

        // By hand.
        let w = Arena(copying: received), s = Arena(copying: statistics), g = model.makeParameters()
        let workspace = model.makeWorkspace(batchSize: 4)
        var buffer = [Float](repeating: 0, count: w.count), corrected = buffer
        var none: RandomStream? = nil
        for (step, start) in [0, 4].enumerated() {
            workspace.withInput { input in
                workspace.withLabels { labels in
                    assembler.assemble(data.train, indices: indices[start..<(start + 4)], into: input, labels: labels, random: &none)
                }
            }
            _ = model.computeGradients(workspace, parameters: w, gradients: g, statistics: s, batchSize: 4)
            for i in 0..<w.count {
                corrected[i] = g[i] + mu * (w[i] - received[i])
                let withDecay = corrected[i] + decay * w[i]
                buffer[i] = step == 0 ? withDecay : momentum * buffer[i] + withDecay
                w[i] -= lr * buffer[i]
            }
        }
        #expect(parameters.array == w.array, "FedProx's trained weights")
        #expect(trainer.gradients.array == corrected, "the stored last gradient holds μ·(w − a)")
        // The term mattered: without it the second step differs.
        let plain = Arena(copying: received)
        _ = trainer.train(parameters: plain, statistics: Arena(copying: statistics), data: data.train, indices: indices,
                          assembler: assembler, seed: 1, round: 0, client: 0)
        #expect(plain.array != w.array)
    }

    /// Round 0 of SCAFFOLD (c = c_k = 0) trains as FedAvg; then c is (1/N)·Σ (x − y_k)/(K·η) over
    /// the round's clients, computed here from each client trained alone, and each c_k its own term.
    @Test func scaffoldsFirstRoundIsFedAvgAndSetsTheControlVariates() throws {
        var config = Self.config(.scaffold) { $0.method = .fedavg; $0.participation = 0.5 }
        let scaffold = try SimulationTests.run(config, workers: 2, rounds: 1)
        config.algorithm = .fedavg
        let fedavg = try SimulationTests.run(config, workers: 2, rounds: 1)
        #expect(scaffold.simulation.global.array == fedavg.simulation.global.array)

        let simulation = scaffold.simulation
        let model = simulation.model
        let x = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: x, statistics: statistics, seed: config.seed)
        let assembler = try BatchAssembler(imageShape: Self.shape)
        let trainer = ClientTrainer(model: model, options: LocalTrainingOptions(
            epochs: config.localEpochs, batchSize: config.batchSize,
            optimizer: SGD(learningRate: Float(config.learningRate), momentum: Float(config.momentum))))
        let selected = simulation.selectedClients(round: 0)
        #expect(selected.count == 3)
        var expected = [Double](repeating: 0, count: x.count)
        let snapshot = simulation.snapshot()
        for client in selected {
            let y = Arena(copying: x)
            let result = trainer.train(parameters: y, statistics: Arena(copying: statistics), data: SimulationTests.data.train,
                                       indices: simulation.partition.train[client], assembler: assembler,
                                       seed: config.seed, round: 0, client: client)
            let scale = 1 / (Double(result.steps) * config.learningRate)
            let position = snapshot.clients.clients.firstIndex(of: client)!
            let stored = snapshot.clients.controlValues[(position * x.count)..<((position + 1) * x.count)]
            for (i, value) in stored.enumerated() {
                let term = Double(x[i] - y[i]) * scale
                #expect(abs(Double(value) - term) <= 1e-5 * max(1, abs(term)), "c_\(client)[\(i)]")
                expected[i] += term / Double(config.clients)
            }
        }
        let untrained = Set(0..<config.clients).subtracting(selected)
        for client in untrained {
            let position = snapshot.clients.clients.firstIndex(of: client)!
            #expect(snapshot.clients.controlValues[(position * x.count)..<((position + 1) * x.count)].allSatisfy { $0 == 0 },
                    "client \(client) did not train: c_k stays 0")
        }
        #expect(snapshot.serverControl.count == x.count)
        for (i, value) in snapshot.serverControl.enumerated() {
            #expect(abs(Double(value) - expected[i]) <= 1e-5 * max(1, abs(expected[i])), "c[\(i)]")
        }
        // From round 1 on the correction changes the training.
        let two = try SimulationTests.run(Self.config(.scaffold) { $0.method = .fedavg; $0.participation = 0.5 }, workers: 2, rounds: 2)
        let twoFedAvg = try SimulationTests.run(config, workers: 2, rounds: 2)
        #expect(two.simulation.global.array != twoFedAvg.simulation.global.array)
    }

    /// The server rule over three rounds of made-up averages, against v ← β·v + d, x ← x − η·v in Double.
    @Test func theServerRuleIsSGDWithMomentumOnXMinusTheAverage() {
        var config = ExperimentConfig()
        config.serverLearningRate = 0.7
        config.serverMomentum = 0.9
        let model = Model.cnn(classes: 4, input: Self.shape)
        let server = ServerState(config: config, model: model, keepsBlocks: false)
        let global = model.makeParameters(), average = model.makeParameters()
        var random = RandomStream(seed: 9, purpose: "server rule test")
        for i in 0..<global.count { global[i] = Float(random.nextUniform() - 0.5) }
        var x = global.array.map(Double.init), v = [Double](repeating: 0, count: x.count)
        for _ in 0..<3 {
            for i in 0..<average.count { average[i] = global[i] + Float(random.nextUniform() - 0.5) * 0.1 }
            for i in 0..<x.count {
                v[i] = 0.9 * v[i] + (x[i] - Double(average[i]))
                x[i] -= 0.7 * v[i]
            }
            server.step(global: global, average: average)
        }
        for i in 0..<x.count { #expect(abs(Double(global[i]) - x[i]) <= 1e-5, "x[\(i)]") }

        // server_lr 1 and momentum 0: the average itself, copied.
        let plain = ServerState(config: ExperimentConfig(), model: model, keepsBlocks: false)
        plain.step(global: global, average: average)
        #expect(global.array == average.array)
    }

    /// FedAvgM's first step with η = 1 lands on the FedAvg average (v = d), up to rounding; the
    /// momentum then carries the runs apart.
    @Test func fedAvgMStartsAtTheAverageAndThenMovesWithMomentum() throws {
        let fedavgm = try SimulationTests.run(Self.config(.fedavgm), workers: 2, rounds: 1)
        let fedavg = try SimulationTests.run(Self.config(.fedavg), workers: 2, rounds: 1)
        for (a, b) in zip(fedavgm.simulation.global.array, fedavg.simulation.global.array) {
            #expect(abs(a - b) <= 1e-6 * max(1, abs(b)))
        }
        #expect(fedavgm.simulation.snapshot().serverMomentum.count == fedavg.simulation.global.count)
        let second = try SimulationTests.run(Self.config(.fedavgm), workers: 2, rounds: 2)
        let secondFedAvg = try SimulationTests.run(Self.config(.fedavg), workers: 2, rounds: 2)
        #expect(second.simulation.global.array != secondFedAvg.simulation.global.array)
    }

    static let determinismCases: [(String, ExperimentConfig)] = [
        ("fedprox + lips, bn local", config(.fedprox) { $0.batchNorm = .local }),
        ("scaffold + lips, partial", config(.scaffold) { $0.participation = 0.5 }),
        ("fedavgm + lips, server_lr 0.8", config(.fedavgm) { $0.serverLearningRate = 0.8 }),
    ]

    @Test(arguments: determinismCases.indices)
    func eachAlgorithmIsBitwiseTheSameForAnyWorkerCountAndAfterAResume(index: Int) throws {
        let (name, config) = Self.determinismCases[index]
        let one = try SimulationTests.run(config, workers: 1)
        for workers in [2, 3] {
            let other = try SimulationTests.run(config, workers: workers)
            #expect(other.rounds == one.rounds && other.layers == one.layers, "\(name): metrics with \(workers) workers")
            let same = other.simulation.snapshot() == one.simulation.snapshot()
            #expect(same, "\(name): state with \(workers) workers")
        }
        // Stopped after round 1, written to a checkpoint file and read back, then continued.
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let first = try SimulationTests.run(config, workers: 2, rounds: 2)
        try Checkpoint(snapshot: first.simulation.snapshot(), rounds: first.rounds, layers: first.layers)
            .write(to: folder.file("checkpoint.bin"))
        let read = try Checkpoint.read(from: folder.file("checkpoint.bin"))
        #expect(read.snapshot == first.simulation.snapshot(), "\(name): the checkpoint keeps the server and client state")
        let rest = try SimulationTests.run(config, workers: 3, from: read.snapshot)
        #expect(first.rounds + rest.rounds == one.rounds, "\(name): resumed metrics")
        let same = rest.simulation.snapshot() == one.simulation.snapshot()
        #expect(same, "\(name): resumed state")
    }

    @Test func configsAreCheckedAndOldIdentitiesKept() throws {
        expectUserError("fedavgm", "server_momentum") {
            var config = ExperimentConfig()
            config.algorithm = .fedavgm
            try config.validate()
        }
        for (key, value) in [("mu", "-1"), ("server_lr", "0"), ("server_momentum", "1"), ("algorithm", "fednova")] {
            expectUserError(key) { try ExperimentConfig.load(yaml: "\(key): \(value)\n", source: "test").validate() }
        }
        // A run made before these keys existed has the same identity as before while they keep their defaults.
        let identity = ExperimentConfig().identity()
        #expect(!identity.contains("algorithm") && !identity.contains("server_") && !identity.contains("mu:"))
        #expect(Self.config(.scaffold).identity().contains("algorithm: scaffold"))
        let loaded = try ExperimentConfig.load(yaml: Self.config(.fedavgm).yaml(), source: "test")
        #expect(loaded == Self.config(.fedavgm))
    }

    /// A checkpoint of one algorithm does not restore into a simulation of another.
    @Test func serverStateOfAnotherAlgorithmIsRefused() throws {
        let scaffold = try SimulationTests.run(Self.config(.scaffold), workers: 1, rounds: 1)
        let fedavg = try Simulation(config: Self.config(.fedavg), data: SimulationTests.data, workers: 1)
        expectUserError("control variate") { try fedavg.restore(scaffold.simulation.snapshot()) }
    }

    /// SCAFFOLD with local momentum is run but cautioned about (its option-II control variates
    /// overshoot by about 1/(1 − β)); plain SGD, or momentum under another algorithm, is not.
    @Test func scaffoldWithMomentumIsCautioned() {
        let note = Experiment.caution(Self.config(.scaffold) { $0.momentum = 0.9 })
        #expect(note?.contains("about 10 times") == true)
        #expect(Experiment.caution(Self.config(.scaffold) { $0.momentum = 0 }) == nil)
        #expect(Experiment.caution(Self.config(.fedprox) { $0.momentum = 0.9 }) == nil)
        #expect(Experiment.methodDescription(Self.config(.scaffold) { $0.method = .fedavg }) == "SCAFFOLD")
    }
}
