import Foundation
import Testing
@testable import LIPS

/// Runs split over ranks (threads standing in for MPI processes, `ThreadRanks`) against the same
/// run in one process: every round's metrics, every layer row, the global model and every client's
/// received model must be bitwise the same, whatever the rank count. Tests/MPI/check.sh repeats this
/// with real MPI processes.
@Suite struct RanksRunTests {
    /// Seven clients in aggregation blocks of two: on 3 ranks rank 0 owns clients 0, 1 and 6.
    static func config(_ tweak: (inout ExperimentConfig) -> Void = { _ in }) -> ExperimentConfig {
        var config = SimulationTests.config(.lips, rounds: 4)
        config.clients = 7
        config.aggregationBlock = 2
        tweak(&config)
        return config
    }

    static let cases: [(name: String, config: ExperimentConfig)] = [
        ("fedavg", config { $0.method = .fedavg }),
        ("lips, bn received", config { _ in }),
        // fp32 stored gradients: sums of fp16 ones are often exact, so would not show a wrong order.
        ("lips, bn local, fp32 gradients", config { $0.batchNorm = .local; $0.gradientPrecision = .single }),
        ("lips, partial participation", config { $0.participation = 0.6; $0.evalEvery = 2 }),
        // SCAFFOLD's c sums every rank's Δc_k; the server momentum is the same on every rank.
        ("scaffold + lips, partial participation", config { $0.algorithm = .scaffold; $0.participation = 0.6 }),
        ("fedprox, fedavgm", config { $0.method = .fedavg; $0.algorithm = .fedprox; $0.proximalWeight = 0.1; $0.serverMomentum = 0.5 }),
    ]

    typealias RankRun = (rounds: [RoundMetrics], layers: [LayerMetrics], snapshot: SimulationSnapshot)

    static func run(_ config: ExperimentConfig, ranks: Int) throws -> [RankRun] {
        try ThreadRanks(size: ranks).run { communicator in
            let simulation = try Simulation(config: config, data: SimulationTests.data, workers: 1, communicator: communicator)
            var rounds: [RoundMetrics] = [], layers: [LayerMetrics] = []
            while simulation.nextRound < config.rounds {
                let (row, layerRows) = simulation.runRound()
                rounds.append(row)
                layers += layerRows
            }
            return (ExperimentTests.withoutTimings(rounds), layers, simulation.snapshot())
        }
    }

    /// Every rank's client state in one snapshot (what `lips export --client` reads from the shards).
    static func merged(_ runs: [RankRun]) -> SimulationSnapshot {
        var snapshot = runs[0].snapshot
        for run in runs.dropFirst() {
            let part = run.snapshot.clients
            snapshot.clients.clients += part.clients
            snapshot.clients.hasGradient += part.hasGradient
            snapshot.clients.hasMask += part.hasMask
            snapshot.clients.hasLocal += part.hasLocal
            snapshot.clients.maskWords += part.maskWords
            snapshot.clients.localValues += part.localValues
            snapshot.clients.controlValues += part.controlValues
            snapshot.clients.halfGradients += part.halfGradients
            snapshot.clients.singleGradients += part.singleGradients
        }
        return snapshot
    }

    @Test(arguments: cases.indices)
    func aRunOnTwoOrThreeRanksIsBitwiseTheOneProcessRun(index: Int) throws {
        let (name, config) = Self.cases[index]
        let one = try SimulationTests.run(config, workers: 2)
        let oneSnapshot = one.simulation.snapshot()
        let model = one.simulation.model
        for ranks in [2, 3] {
            let runs = try Self.run(config, ranks: ranks)
            for (rank, run) in runs.enumerated() {
                #expect(run.rounds == one.rounds, "\(name): round metrics of rank \(rank) of \(ranks)")
                #expect(run.layers == one.layers, "\(name): layer rows of rank \(rank) of \(ranks)")
                #expect(run.snapshot.global == oneSnapshot.global && run.snapshot.globalStatistics == oneSnapshot.globalStatistics
                        && run.snapshot.reference == oneSnapshot.reference, "\(name): global model of rank \(rank) of \(ranks)")
                #expect(run.snapshot.serverMomentum == oneSnapshot.serverMomentum
                        && run.snapshot.serverControl == oneSnapshot.serverControl, "\(name): server state of rank \(rank) of \(ranks)")
            }
            // Each client's state lives on one rank only, and each received model is the one-process one.
            let merged = Self.merged(runs)
            #expect(merged.clients.clients.sorted() == Array(0..<config.clients), "\(name): clients held on \(ranks) ranks")
            if config.algorithm == .scaffold {
                let n = model.parameterLayout.count
                func controls(_ s: SimulationSnapshot, _ client: Int) -> ArraySlice<Float> {
                    let i = s.clients.clients.firstIndex(of: client)!
                    return s.clients.controlValues[i * n ..< (i + 1) * n]
                }
                for client in 0..<config.clients {
                    #expect(controls(merged, client) == controls(oneSnapshot, client), "\(name): c_\(client) on \(ranks) ranks")
                }
            }
            for client in 0..<config.clients {
                let expected = try Simulation.receivedModel(client: client, model: model, config: config, snapshot: oneSnapshot)
                let got = try Simulation.receivedModel(client: client, model: model, config: config, snapshot: merged)
                #expect(got.parameters == expected.parameters && got.statistics == expected.statistics,
                        "\(name): model received by client \(client) on \(ranks) ranks")
            }
        }
    }

    @Test func ownershipDealsWholeAggregationBlocksRoundRobin() {
        let ranks = (0..<3).map { ClientOwnership(clients: 7, blockSize: 2, rank: $0, ranks: 3) }
        #expect(ranks.map(\.owned) == [[0, 1, 6], [2, 3], [4, 5]])
        #expect(ranks[0].position(of: 6) == 2 && !ranks[1].owns(6) && ranks[2].owner(of: 6) == 0)
        #expect(ClientOwnership.all(5).owned == [0, 1, 2, 3, 4])
        // More ranks than blocks: the last ranks own nothing, and a run still works (below).
        #expect(ClientOwnership(clients: 4, blockSize: 2, rank: 2, ranks: 3).owned.isEmpty)
    }

    @Test func ranksWithoutClientsStillFollowTheRounds() throws {
        let config = Self.config { $0.clients = 4 }
        let one = try SimulationTests.run(config, workers: 1)
        for run in try Self.run(config, ranks: 3) {
            #expect(run.rounds == one.rounds && run.layers == one.layers)
        }
    }

    /// A stop asked on rank 1 only stops both ranks after the same round with a sharded checkpoint;
    /// resuming on 3 ranks (the shards redistributed) and then reading the folder gives what an
    /// uninterrupted one-process run gives.
    @Test func aStopOnOneRankIsAgreedAndTheShardedCheckpointResumesOnOtherRankCounts() throws {
        var config = ExperimentTests.config(rounds: 5)
        config.clients = 7
        config.aggregationBlock = 2
        config.participation = 0.6
        config.checkpointEvery = 0
        let whole = try TemporaryFolder(), stopped = try TemporaryFolder()
        defer { whole.cleanup(); stopped.cleanup() }
        try Experiment(directory: whole.path, config: config).run(data: SimulationTests.data, workers: 2)
        let sameConfig = config

        let outcomes = try ThreadRanks(size: 2).run { communicator in
            var asked = 0
            return try Experiment(directory: stopped.path, config: sameConfig)
                .run(data: SimulationTests.data, workers: 1, communicator: communicator, shouldStop: {
                    asked += 1
                    return communicator.rank == 1 && asked == 2
                })
        }
        #expect(outcomes == [.interrupted(round: 2), .interrupted(round: 2)])
        let manifest = try Checkpoint.read(from: stopped.file("checkpoint.bin"))
        #expect(manifest.shards == ["checkpoint.shards/next2-rank0of2.bin", "checkpoint.shards/next2-rank1of2.bin"])
        #expect(manifest.snapshot.clients.clients.isEmpty, "client state in checkpoint.bin of a sharded run")

        let resumed = try ThreadRanks(size: 3).run { communicator in
            try Experiment(directory: stopped.path, config: nil).run(data: SimulationTests.data, workers: 1,
                                                                    communicator: communicator, shouldStop: { false })
        }
        #expect(resumed == Array(repeating: .finished(rounds: 5, resumedFrom: 2), count: 3))
        let shards = try FileManager.default.contentsOfDirectory(atPath: stopped.file("checkpoint.shards")).sorted()
        #expect(shards == ["next5-rank0of3.bin", "next5-rank1of3.bin", "next5-rank2of3.bin"], "earlier shards left behind")

        let a = try Checkpoint.read(from: whole.file("checkpoint.bin"))
        let b = try Checkpoint.read(from: stopped.file("checkpoint.bin"), mergingShards: true)
        #expect(ExperimentTests.withoutTimings(a.rounds) == ExperimentTests.withoutTimings(b.rounds))
        #expect(a.layers == b.layers)
        #expect(a.snapshot.global == b.snapshot.global && a.snapshot.globalStatistics == b.snapshot.globalStatistics)
        let model = try Model.named(config.model, classes: 4, input: Shape(channels: 3, height: 8, width: 8))
        for client in 0..<config.clients {
            let expected = try Simulation.receivedModel(client: client, model: model, config: config, snapshot: a.snapshot)
            let got = try Simulation.receivedModel(client: client, model: model, config: config, snapshot: b.snapshot)
            #expect(got.parameters == expected.parameters && got.statistics == expected.statistics, "client \(client)")
        }
    }
}
