import Foundation
import Testing
@testable import LIPS

/// Per-client results (`clients.csv`, docs/semantics.md §9) and the round's spread, losses and bytes
/// (§10): checked against independent computations on small synthetic federations.
@Suite struct ClientResultsTests {
    /// Runs every round of `config`; each round's metrics (timings zeroed) and client rows.
    static func run(_ config: ExperimentConfig, workers: Int) throws -> (simulation: Simulation, rounds: [RoundMetrics], clients: [ClientMetrics]) {
        let simulation = try Simulation(config: config, data: SimulationTests.data, workers: workers)
        var rounds: [RoundMetrics] = [], clients: [ClientMetrics] = []
        while simulation.nextRound < config.rounds {
            rounds.append(simulation.runRound().round)
            clients += simulation.clientMetrics
        }
        return (simulation, ExperimentTests.withoutTimings(rounds), clients)
    }

    /// Accuracy and mean cross-entropy of one model on `indices`, one sample per forward, the loss
    /// as log Σ exp(l_c − max) + max − l_label in Double: nothing shared with the evaluation's batches.
    static func naiveScore(_ model: Model, parameters: Arena, statistics: Arena, data: Dataset, indices: [Int],
                           assembler: BatchAssembler) -> (hits: Int, loss: Double) {
        let workspace = model.makeWorkspace(batchSize: 1)
        var hits = 0, lossSum = 0.0
        var none: RandomStream? = nil
        for index in indices {
            workspace.withInput { input in
                workspace.withLabels { labels in assembler.assemble(data, indices: [index], into: input, labels: labels, random: &none) }
            }
            model.forward(workspace, parameters: parameters, statistics: statistics, batchSize: 1, training: false)
            let pointer = workspace.arena.base + workspace.activationOffsets[model.layers.count]
            let logits = (0..<model.classes).map { Double(pointer[$0]) }
            let largest = logits.max()!
            let label = Int(data.labels[index])
            lossSum += log(logits.reduce(0) { $0 + exp($1 - largest) }) + largest - logits[label]
            if logits.firstIndex(of: largest)! == label { hits += 1 }
        }
        return (hits, lossSum / Double(indices.count))
    }

    @Test(arguments: [ExperimentConfig.BatchNormMode.received, .local])
    func clientRowsMatchANaiveScoringOfWhatEachClientReceives(bn: ExperimentConfig.BatchNormMode) throws {
        var config = SimulationTests.config(.lips, rounds: 1)
        config.batchNorm = bn
        let (simulation, rounds, rows) = try Self.run(config, workers: 2)
        // Round 0 is a masking round: every client (all trained) receives its own masked model.
        #expect(rows.map(\.client) == Array(0..<config.clients) && rows.allSatisfy { $0.round == 0 && $0.samples == 12 })
        let model = simulation.model
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        for row in rows {
            let indices = simulation.partition.test[row.client]
            WorkerSlot.receive(row.client, global: simulation.global, globalStatistics: simulation.globalStatistics,
                               masks: simulation.sparsifier, store: simulation.store, into: parameters, statistics: statistics)
            let personal = Self.naiveScore(model, parameters: parameters, statistics: statistics, data: simulation.data.test,
                                           indices: indices, assembler: simulation.evalAssembler)
            let dense = Self.naiveScore(model, parameters: simulation.global, statistics: simulation.globalStatistics,
                                        data: simulation.data.test, indices: indices, assembler: simulation.evalAssembler)
            #expect(row.personalizedAccuracy == Double(personal.hits) / 12, "client \(row.client) personalised accuracy")
            #expect(row.denseAccuracy == Double(dense.hits) / 12, "client \(row.client) dense accuracy")
            #expect(abs(row.personalizedLoss - personal.loss) <= 1e-5 * max(1, personal.loss), "client \(row.client): \(row.personalizedLoss) vs \(personal.loss)")
            #expect(abs(row.denseLoss - dense.loss) <= 1e-5 * max(1, dense.loss), "client \(row.client): \(row.denseLoss) vs \(dense.loss)")
        }
        #expect(Set(rows.map(\.personalizedLoss)) != Set(rows.map(\.denseLoss)), "masks changed no loss")
        // The round's means and spread are those of the rows, in client order.
        let round = try #require(rounds.first)
        let count = Double(rows.count)
        #expect(round.personalizedAccuracy == rows.reduce(0.0) { $0 + $1.personalizedAccuracy } / count)
        #expect(round.denseAccuracy == rows.reduce(0.0) { $0 + $1.denseAccuracy } / count)
        #expect(round.personalizedLoss == rows.reduce(0.0) { $0 + $1.personalizedLoss } / count)
        #expect(round.denseLoss == rows.reduce(0.0) { $0 + $1.denseLoss } / count)
        let spread = try #require(ClientSpread(rows.map(\.personalizedAccuracy)))
        #expect(round.personalizedAccuracyStd == spread.standardDeviation && round.personalizedAccuracyMin == spread.minimum
                && round.personalizedAccuracyP10 == spread.percentile10)
        #expect(simulation.clientAccuracies?.personalized == rows.map(\.personalizedAccuracy))
    }

    @Test func fedAvgClientsScoreTheDenseModelAndRoundsNotEvaluatedHaveNoRows() throws {
        var config = SimulationTests.config(.fedavg, rounds: 3)
        config.evalEvery = 2
        let (_, rounds, rows) = try Self.run(config, workers: 1)
        #expect(rows.map(\.round) == Array(repeating: 0, count: 6) + Array(repeating: 2, count: 6))
        #expect(rows.allSatisfy { $0.personalizedAccuracy == $0.denseAccuracy && $0.personalizedLoss == $0.denseLoss })
        #expect(rounds[1].personalizedLoss == nil && rounds[1].personalizedAccuracyStd == nil && rounds[1].denseLoss == nil)
        #expect(rounds[0].personalizedLoss == rounds[0].denseLoss && rounds[0].personalizedLoss! > 0)
    }

    @Test func clientRowsAreBitwiseTheSameForOneTwoAndThreeWorkers() throws {
        for bn in [ExperimentConfig.BatchNormMode.received, .local] {
            var config = SimulationTests.config(.lips, rounds: 3)
            config.batchNorm = bn
            let one = try Self.run(config, workers: 1)
            #expect(one.clients.count == 3 * config.clients)
            for workers in [2, 3] {
                let other = try Self.run(config, workers: workers)
                #expect(other.clients == one.clients, "bn \(bn): client rows differ with \(workers) workers")
                #expect(other.rounds == one.rounds, "bn \(bn): round rows differ with \(workers) workers")
            }
        }
    }

    @Test func clientRowsOnTwoAndThreeRanksAreTheOneProcessRows() throws {
        for (name, config) in RanksRunTests.cases {
            let one = try Self.run(config, workers: 2)
            for ranks in [2, 3] {
                let runs = try ThreadRanks(size: ranks).run { communicator in
                    let simulation = try Simulation(config: config, data: SimulationTests.data, workers: 1, communicator: communicator)
                    var clients: [ClientMetrics] = []
                    while simulation.nextRound < config.rounds {
                        _ = simulation.runRound()
                        clients += simulation.clientMetrics
                    }
                    return clients
                }
                for (rank, clients) in runs.enumerated() {
                    #expect(clients == one.clients, "\(name): client rows of rank \(rank) of \(ranks)")
                }
            }
        }
    }

    @Test func spreadStatisticsOnHandComputedValues() throws {
        // Mean 0.625; squared deviations 0.015625, 0.140625, 0.140625, 0.015625 → variance 0.078125.
        let spread = try #require(ClientSpread([0.5, 0.25, 1, 0.75]))
        #expect(spread.standardDeviation == 0.078125.squareRoot())
        #expect(spread.minimum == 0.25)
        // Sorted 0.25, 0.5, 0.75, 1; h = 3 · 0.1 = 0.3: 0.25 + 0.3 · 0.25 (numpy.percentile: 0.325).
        #expect(abs(spread.percentile10 - 0.325) < 1e-15)
        // h = 5 · 0.1 = 0.5 exactly between 1 and 2, written 2 − 1 · 0.5.
        #expect(ClientSpread.percentile([5, 4, 3, 2, 1, 0], 0.1) == 0.5)
        #expect(ClientSpread.percentile([7, 3], 0) == 3 && ClientSpread.percentile([7, 3], 1) == 7)
        let one = try #require(ClientSpread([0.8]))
        #expect(one.standardDeviation == 0 && one.minimum == 0.8 && one.percentile10 == 0.8)
        #expect(ClientSpread([]) == nil)
    }

    @Test func trafficOnAHandComputedModel() {
        // 100 values, 64 of them maskable: dense 400 bytes; sparse 4 · (36 + non-zeros) + 8 bytes of bitmask.
        let traffic = Traffic(modelValues: 100, maskableWeights: 64)
        #expect(traffic.denseModelBytes == 400)
        #expect(traffic.receivedModelBytes(maskableNonzeros: 10) == 4 * 46 + 8)
        #expect(traffic.receivedModelBytes(maskableNonzeros: 61) == 396)
        #expect(traffic.receivedModelBytes(maskableNonzeros: 62) == 400)
        #expect(traffic.receivedModelBytes(maskableNonzeros: 64) == 400, "sparse would be 408: dense is sent")
        #expect(Traffic(modelValues: 10, maskableWeights: 9).receivedModelBytes(maskableNonzeros: 0) == 4 + 2, "9 bits round up to 2 bytes")
        #expect(traffic.uplink(clients: 3) == 1200)
        #expect(traffic.downlink(maskableNonzeros: [10, 64, 0]) == 192 + 400 + 4 * 36 + 8)
    }

    /// The bytes of a LIPS run by hand: dense models up and, except after a masking round, down;
    /// after masking round 0 (density 0.5) each client receives floor(n/2) of each maskable
    /// tensor's n weights (all non-zero), sent sparse.
    @Test func bytesOfDenseAndMaskingRounds() throws {
        let config = SimulationTests.config(.lips, rounds: 3)
        let (simulation, rounds, _) = try Self.run(config, workers: 2)
        let model = simulation.model
        let values = model.parameterLayout.count + model.statisticsLayout.count
        let maskable = model.parameterLayout.entries.filter(\.maskable)
        let maskableWeights = maskable.reduce(0) { $0 + $1.count }
        let kept = maskable.reduce(0) { $0 + $1.count / 2 }
        #expect(kept < maskableWeights * 31 / 32, "the sparse encoding must win for this check")
        let dense = 4 * values, sparse = 4 * (values - maskableWeights + kept) + (maskableWeights + 7) / 8
        #expect(rounds.map(\.bytesUplinked) == Array(repeating: 6 * dense, count: 3))
        // Round 0 trains from the initial model, round 1 from the masks cut after round 0, round 2
        // from the dense model sent after round 1 (not a masking round: update_freq 2).
        #expect(rounds.map(\.bytesDownlinked) == [6 * dense, 6 * sparse, 6 * dense])
        #expect(rounds.map(\.density) == [0.5, 1, 0.5 + 0.5 * 2 / 3])
    }

    /// SCAFFOLD sends c with each model and receives Δc_k with each trained one: the parameters as
    /// Float32 once more each way per training client, on top of what FedAvg's rounds send.
    @Test func scaffoldAddsItsControlVariatesBothWays() throws {
        let tweak: (inout ExperimentConfig) -> Void = { $0.participation = 0.5; $0.rounds = 2 }
        let scaffold = try Self.run(AlgorithmTests.config(.scaffold, tweak), workers: 1)
        let fedavg = try Self.run(AlgorithmTests.config(.fedavg, tweak), workers: 1)
        let parameters = scaffold.simulation.model.parameterLayout.count
        #expect(Traffic(modelValues: 100, maskableWeights: 64, controlValues: 80).uplink(clients: 2) == 2 * (400 + 320))
        #expect(Traffic(modelValues: 100, maskableWeights: 64, controlValues: 80).receivedModelBytes(maskableNonzeros: 10) == 192 + 320)
        for round in 0..<2 {
            let (a, b) = (scaffold.rounds[round], fedavg.rounds[round])
            #expect(a.bytesUplinked == b.bytesUplinked + 3 * 4 * parameters, "round \(round)")
            // Round 0 receives the same dense initial model; round 1 masks cut from other weights may
            // keep other non-zeros, so only round 0 compares exactly.
            if round == 0 { #expect(a.bytesDownlinked == b.bytesDownlinked! + 3 * 4 * parameters) }
        }
    }

    @Test func downlinkCountsOnlyTheRoundsClientsAndSurvivesARestore() throws {
        var config = SimulationTests.config(.lips, rounds: 4)
        config.participation = 0.5
        let whole = try Self.run(config, workers: 1)
        // A restore recounts what each client receives from its mask: after masking round 0 (only
        // round 0's clients have a gradient, so a mask) and after masking round 2 (every client has).
        for stop in [1, 3] {
            let first = try SimulationTests.run(config, workers: 1, rounds: stop)
            let rest = try SimulationTests.run(config, workers: 2, from: first.simulation.snapshot())
            #expect(first.rounds + rest.rounds == whole.rounds, "resumed at round \(stop)")
        }
        let simulation = try SimulationTests.run(config, workers: 1, rounds: 3).simulation
        let model = simulation.model
        let values = model.parameterLayout.count + model.statisticsLayout.count
        let maskable = model.parameterLayout.entries.filter(\.maskable)
        let maskableWeights = maskable.reduce(0) { $0 + $1.count }
        #expect(whole.rounds.allSatisfy { $0.clientsTrained == 3 && $0.bytesUplinked == 3 * 4 * values })
        #expect(whole.rounds[0].bytesDownlinked == 3 * 4 * values)
        // Round 3's clients receive what was sent after round 2: counted here from each received model.
        let selected = simulation.selectedClients(round: 3)
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        var expected = 0
        for client in selected {
            WorkerSlot.receive(client, global: simulation.global, globalStatistics: simulation.globalStatistics,
                               masks: simulation.sparsifier, store: simulation.store, into: parameters, statistics: statistics)
            let nonzeros = maskable.reduce(0) { sum, entry in sum + parameters.values(entry.range).filter { $0 != 0 }.count }
            expected += min(4 * values, 4 * (values - maskableWeights + nonzeros) + (maskableWeights + 7) / 8)
        }
        #expect(whole.rounds[3].bytesDownlinked == expected)
        #expect(expected < 3 * 4 * values)
    }
}
