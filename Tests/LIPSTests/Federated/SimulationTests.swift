import Testing
@testable import LIPS

/// Small synthetic runs (CNN on 3×8×8, a handful of clients) of the whole round protocol.
@Suite struct SimulationTests {
    static let data = SyntheticData.make(trainCount: 400, testCount: 200, classes: 4,
                                         shape: Shape(channels: 3, height: 8, width: 8), seed: 3)

    static func config(_ method: ExperimentConfig.Method = .lips, rounds: Int = 4) -> ExperimentConfig {
        var config = ExperimentConfig()
        config.dataset = "synthetic"
        config.model = "cnn"
        config.clients = 6
        config.trainPerClient = 20
        config.testPerClient = 12
        config.alpha = 0.5
        config.rounds = rounds
        config.localEpochs = 2
        config.batchSize = 10
        config.learningRate = 0.05
        config.method = method
        config.updateDensity = 0.5
        config.updateFrequency = 2
        config.referenceRound = 1
        return config
    }

    /// Runs `rounds` rounds; metrics with the timings zeroed (the only fields allowed to differ).
    static func run(_ config: ExperimentConfig, workers: Int, rounds: Int? = nil,
                    from snapshot: SimulationSnapshot? = nil) throws -> (simulation: Simulation, rounds: [RoundMetrics], layers: [LayerMetrics]) {
        let simulation = try Simulation(config: config, data: data, workers: workers)
        if let snapshot { try simulation.restore(snapshot) }
        var rows: [RoundMetrics] = [], layers: [LayerMetrics] = []
        while simulation.nextRound < (rounds ?? config.rounds) {
            var (row, layerRows) = simulation.runRound()
            row.seconds = 0
            row.secondsTraining = 0
            row.secondsEvaluation = 0
            rows.append(row)
            layers += layerRows
        }
        return (simulation, rows, layers)
    }

    @Test(arguments: [ExperimentConfig.BatchNormMode.received, .local])
    func resultsAreBitwiseTheSameForOneTwoAndThreeWorkers(bn: ExperimentConfig.BatchNormMode) throws {
        var config = Self.config()
        config.batchNorm = bn
        let one = try Self.run(config, workers: 1)
        for workers in [2, 3] {
            let other = try Self.run(config, workers: workers)
            #expect(other.rounds == one.rounds, "round metrics differ with \(workers) workers")
            #expect(other.layers == one.layers, "layer metrics differ with \(workers) workers")
            let sameState = other.simulation.snapshot() == one.simulation.snapshot()
            #expect(sameState, "global model or client state differs with \(workers) workers")
        }
        #expect(one.rounds.map(\.round) == [0, 1, 2, 3])
        #expect(one.rounds.allSatisfy { $0.personalizedAccuracy != nil && $0.denseAccuracy != nil })
    }

    @Test func aResumedRunEndsEqualToAnUninterruptedOne() throws {
        for (config, stop) in [(Self.config(), 1), (Self.config(), 3), ({ var c = Self.config(); c.participation = 0.5; c.batchNorm = .local; return c }(), 2)] {
            let whole = try Self.run(config, workers: 2)
            let first = try Self.run(config, workers: 1, rounds: stop)
            let rest = try Self.run(config, workers: 2, from: first.simulation.snapshot())
            #expect(first.rounds + rest.rounds == whole.rounds, "stopped after round \(stop - 1)")
            #expect(first.layers + rest.layers == whole.layers)
            let sameState = rest.simulation.snapshot() == whole.simulation.snapshot()
            #expect(sameState)
        }
    }

    /// lr 0 leaves every client's weights as received, so with two equal clients the new global
    /// weights are ½w + ½w = w exactly, and the new BN statistics are the mean of what each client's
    /// training left, computed here client by client with the trainer alone.
    @Test func fedAvgIsTheSampleWeightedMeanOfTheClientModels() throws {
        var config = Self.config(.fedavg, rounds: 1)
        config.clients = 2
        config.learningRate = 0
        config.momentum = 0
        let simulation = try Simulation(config: config, data: Self.data, workers: 2)
        let initial = simulation.global.array
        let initialStatistics = simulation.globalStatistics.array
        _ = simulation.runRound()
        let unchanged = simulation.global.array == initial
        #expect(unchanged)

        var expected = [Float](repeating: 0, count: initialStatistics.count)
        for client in 0..<2 {
            let parameters = simulation.model.makeParameters(), statistics = simulation.model.makeStatistics()
            parameters.set(initial, at: 0)
            statistics.set(initialStatistics, at: 0)
            let trainer = ClientTrainer(model: simulation.model, options: LocalTrainingOptions(
                epochs: config.localEpochs, batchSize: config.batchSize, optimizer: SGD(learningRate: 0, momentum: 0)))
            _ = trainer.train(parameters: parameters, statistics: statistics, data: Self.data.train,
                              indices: simulation.partition.train[client], assembler: simulation.trainAssembler,
                              seed: config.seed, round: 0, client: client)
            for i in expected.indices { expected[i] += 0.5 * statistics[i] }
        }
        let isMean = simulation.globalStatistics.array == expected, moved = expected != initialStatistics
        #expect(isMean && moved)
    }

    @Test func lipsMasksKeepTheTopGradientTimesWeightEntriesOfMaskableLayersOnly() throws {
        var config = Self.config(.lips, rounds: 1)
        config.gradientPrecision = .single
        let simulation = try Simulation(config: config, data: Self.data, workers: 2)
        let (row, layers) = simulation.runRound()
        #expect(row.density == 0.5)
        let store = simulation.store, slot = simulation.slots[0]
        for client in 0..<config.clients {
            #expect(simulation.sparsifier.hasMask[client])
            slot.receive(client, global: simulation.global, globalStatistics: simulation.globalStatistics,
                         masks: simulation.sparsifier, store: store)
            let received = slot.parameters
            for entry in simulation.model.parameterLayout.entries {
                let got = received.values(entry.range), dense = simulation.global.values(entry.range)
                guard entry.maskable else {
                    #expect(got == dense, "\(entry.name) must be received dense")
                    continue
                }
                let index = store.tracked.firstIndex { $0.name == entry.name }!
                var gradient = [Float](repeating: 0, count: entry.count)
                gradient.withUnsafeMutableBufferPointer { store.loadGradient(client, tracked: index, into: $0.baseAddress!) }
                let mask = LIPSSparsifierTests.referenceMask(weights: dense, gradients: gradient, density: 0.5)
                #expect(got == zip(dense, mask).map { $0 * $1 }, "client \(client) \(entry.name)")
                #expect(got.filter { $0 != 0 }.count == entry.count / 2)
            }
        }
        // The classifier and the stem are never masked; the one maskable conv is at density ½.
        let byName = Dictionary(uniqueKeysWithValues: layers.map { ($0.layer, $0) })
        #expect(byName["features.0.conv.weight"]?.receivedDensity == 1)
        #expect(byName["classifier.weight"]?.receivedDensity == 1)
        #expect(byName["features.1.conv.weight"]?.receivedDensity == 0.5)
        #expect(abs(row.receivedDensity - 0.5) < 1e-12)
    }

    @Test func maskingFollowsTheScheduleAndPersonalisesOnlyMaskingRounds() throws {
        let run = try Self.run(Self.config(.lips, rounds: 4), workers: 2)
        // update_freq 2, d0 ½, R 4: rounds 0 and 2 mask at ½ and ¾; 1 and 3 send dense models.
        #expect(run.rounds.map(\.density) == [0.5, 1, 0.75, 1])
        #expect(run.rounds[1].personalizedAccuracy == run.rounds[1].denseAccuracy)
        #expect(run.rounds[3].receivedDensity == 1)
        #expect(abs(LIPSSchedule(initialDensity: 0.3, updateFrequency: 5, horizon: 300).density(afterRound: 150)! - 0.65) < 1e-12)
        #expect(LIPSSchedule(initialDensity: 0.3, updateFrequency: 5, horizon: 300).density(afterRound: 151) == nil)
    }

    @Test func localBatchNormKeepsEachClientsOwnStatistics() throws {
        var config = Self.config(.fedavg, rounds: 1)
        config.batchNorm = .local
        let simulation = try Simulation(config: config, data: Self.data, workers: 2)
        _ = simulation.runRound()
        let slot = simulation.slots[0]
        slot.receive(0, global: simulation.global, globalStatistics: simulation.globalStatistics,
                     masks: simulation.sparsifier, store: simulation.store)
        let (parameters, statistics) = (slot.parameters, slot.statistics)
        #expect(statistics.array != simulation.globalStatistics.array)
        for entry in simulation.model.parameterLayout.entries where entry.kind == .convWeight || entry.kind == .linearWeight {
            #expect(parameters.values(entry.range) == simulation.global.values(entry.range))
        }
        let bn = simulation.model.parameterLayout.entries.first { $0.kind == .batchNormWeight }!
        #expect(parameters.values(bn.range) != simulation.global.values(bn.range))
    }

    @Test func partialParticipationSelectsASeededSortedSubset() throws {
        var config = Self.config()
        config.clients = 20
        config.participation = 0.25
        let simulation = try Simulation(config: config, data: Self.data, workers: 1)
        let picked = simulation.selectedClients(round: 3)
        #expect(picked.count == 5 && picked == picked.sorted() && Set(picked).count == 5)
        #expect(picked == simulation.selectedClients(round: 3))
        #expect((0..<10).map { simulation.selectedClients(round: $0) }.contains { $0 != picked })
    }

    @Test func inertiaMetricsOnAHandMadeCase() {
        let old: [Float] = [3, 4, 0], new: [Float] = [3, 4, 5], reference: [Float] = [0, 4, 0]
        #expect(LayerMetrics.relativeUpdate(new: new, old: old, count: 3) == 1)          // ‖(0,0,5)‖ / ‖(3,4,0)‖
        let d = LayerMetrics.distances(new, reference: reference, count: 3)
        #expect(d.l1 == 8 && d.l2 == 34.0.squareRoot())
        #expect(abs(d.cosine - 16 / (50.0.squareRoot() * 4)) < 1e-15)
        #expect(nonzeroCount(new, count: 3) == 3 && nonzeroCount(old, count: 3) == 2)
        // Past one vector of eight (the reductions' lanes) and with a tail: the same sums.
        let long = (0..<21).map { Float($0 % 3) }, zeros = [Float](repeating: 0, count: 21)
        #expect(LayerMetrics.relativeUpdate(new: zeros, old: long, count: 21) == 1)
        #expect(LayerMetrics.distances(long, reference: zeros, count: 21).l1 == 21)      // 7 × (0 + 1 + 2)
        #expect(LayerMetrics.distances(long, reference: zeros, count: 21).l2 == 35.0.squareRoot())  // 7 × (0 + 1 + 4)
        #expect(nonzeroCount(long, count: 21) == 14)
    }

    @Test func layerMetricsDescribeTheRoundsAggregation() throws {
        let run = try Self.run(Self.config(.fedavg, rounds: 3), workers: 2)
        let names = run.simulation.store.tracked.map(\.name)
        #expect(names == ["features.0.conv.weight", "features.1.conv.weight", "classifier.weight"])
        #expect(run.layers.count == 9)
        for row in run.layers {
            #expect(row.relativeUpdate > 0 && row.gradientNorm > 0 && row.gradientDiversity > 0)
            // Reference round 1: no distances before it, zero distance and cosine 1 at it.
            if row.round == 0 { #expect(row.l2ToReference == nil) }
            if row.round == 1 { #expect(row.l2ToReference == 0 && abs(row.cosineToReference! - 1) < 1e-12) }
            if row.round == 2 { #expect(row.l2ToReference! > 0) }
        }
        // Every client trained in the last round, so the stored gradients are that round's: its
        // norm and diversity, computed here in Double from them (ḡ the plain mean).
        let store = run.simulation.store, clients = run.simulation.config.clients
        for (index, entry) in store.tracked.enumerated() {
            let gradients = (0..<clients).map { client in
                var g = [Float](repeating: 0, count: entry.count)
                g.withUnsafeMutableBufferPointer { store.loadGradient(client, tracked: index, into: $0.baseAddress!) }
                return g.map(Double.init)
            }
            let mean = (0..<entry.count).map { i in gradients.reduce(0) { $0 + $1[i] } / Double(clients) }
            func length(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            let norm = gradients.reduce(0) { $0 + length($1) } / Double(clients)
            let diversity = gradients.reduce(0) { $0 + length(zip($1, mean).map { $0 - $1 }) } / Double(clients)
            let row = run.layers.first { $0.round == 2 && $0.layer == entry.name }!
            #expect(abs(row.gradientNorm - norm) <= 1e-6 * norm, "\(entry.name): norm \(row.gradientNorm), expected \(norm)")
            #expect(abs(row.gradientDiversity - diversity) <= 1e-5 * diversity,
                    "\(entry.name): diversity \(row.gradientDiversity), expected \(diversity)")
        }
    }

    /// A run whose server state cannot fit is refused up front with the estimate, before
    /// allocating it (10 million ResNet-8 clients: about 26 TB); so are models of absurd sizes.
    @Test func runsAndModelsBeyondTheMachineAreRefusedWithTheEstimate() throws {
        var config = Self.config()
        config.model = "resnet8"
        let model = try Model.named("resnet8", classes: 10, input: Shape(channels: 3, height: 32, width: 32))
        expectUserError("10000000 clients need about ", "GB of server state (2.6 MB each)", "more than the") {
            try Simulation.refuseIfTooLarge(config: config, model: model, ownership: .all(10_000_000), workers: 2)
        }
        try Simulation.refuseIfTooLarge(config: config, model: model, ownership: .all(100), workers: 2)
        expectUserError("classes must be between 2 and 1000000") {
            _ = try Model.named("cnn", classes: 1 << 62, input: Shape(channels: 3, height: 8, width: 8))
        }
        expectUserError("is too large") {
            _ = try Model.named("cnn", classes: 10, input: Shape(channels: 3, height: 1 << 32, width: 1 << 32))
        }
        expectUserError("is too large") { _ = try Shape.parse("3x4294967296x4294967296") }
        expectUserError("synthetic data of", "needs") {
            _ = try DatasetCatalog.load("synthetic", directory: nil, seed: 1, syntheticShape: Shape(channels: 3, height: 4096, width: 4096),
                                        syntheticClasses: 10, syntheticCounts: (100_000_000, 0))
        }
    }

    @Test func tooManySamplesPerClientIsAUserError() {
        var config = Self.config()
        config.testPerClient = 500
        #expect(throws: UserError.self) { try Simulation(config: config, data: Self.data, workers: 1) }
    }
}
