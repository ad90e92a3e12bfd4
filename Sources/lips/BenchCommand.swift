import ArgumentParser
import Foundation
import LIPS

/// `lips bench`: speed on synthetic data, the figures users quote.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the engine on synthetic data.",
        subcommands: [BenchRound.self]
    )
}

/// `lips bench round`: paper rounds (every client trains, FedAvg, every client evaluated).
struct BenchRound: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round",
        abstract: "Time paper rounds (local training, FedAvg, evaluation) on synthetic 3x32x32 data.",
        discussion: """
        The work per round is the paper's: every client runs local_epochs epochs over train_num samples in batches \
        of batch_size, then every client's received model is scored on test_num samples. Training GFLOP/s counts \
        the FLOPs of direct convolution (2 × multiply-adds of forward, input gradient and weight gradient, without \
        the stem's input gradient, which is never computed); Winograd does fewer, so the ratio to the SGEMM peak \
        can pass 100 %.

        Examples:
          lips bench round                  # ResNet-8, 100 clients, a worker per core
          taskset -c 0 lips bench round     # one core
          lips bench round --method lips --rounds 2
          lips bench round --bn local --json     # one JSON line per round, for scripts
          mpirun -np 2 --bind-to none lips bench round --workers 1   # 2 ranks (a build with MPI=1)

        With --json each round is one line on standard output: round, seconds, training, evaluation, \
        scoring (the part of evaluation that scores personal models, one per client: LIPS masks, bn local), \
        other (seconds − training − evaluation: FedAvg, masks, layer metrics), gflops, sgemm_peak, method, bn, \
        model, clients, workers; the header lines go to standard error.

        On several MPI ranks (started by mpirun or srun) the round runs across them as `lips run` does, and rank 0 \
        prints, per rank, the seconds spent in MPI calls (waiting for slower ranks included) and the payload bytes \
        it sent and received that round (JSON: ranks, mpi_seconds, mb_sent, mb_received, lists in rank order). \
        Aggregation blocks of --aggregation-block clients are dealt to the ranks round-robin.
        """
    )

    @Option(help: "Model architecture.") var model = "resnet8"
    @Option(parsing: .unconditional, help: "Clients per round.") var clients = 100
    @Option(parsing: .unconditional, help: "Worker threads (0: one per core).") var workers = 0
    @Option(parsing: .unconditional, help: "Rounds to time.") var rounds = 1
    @Option(help: "fedavg or lips (lips masks on round 0).") var method = "fedavg"
    @Option(name: .customLong("train-num"), parsing: .unconditional, help: "Train samples per client.") var trainNum = 100
    @Option(name: .customLong("test-num"), parsing: .unconditional, help: "Test samples per client.") var testNum = 400
    @Option(name: .customLong("local-epochs"), parsing: .unconditional, help: "Local epochs.") var localEpochs = 5
    @Option(help: "BatchNorm mode: received or local (every client then scores its own model every round).")
    var bn = "received"
    @Option(name: .customLong("aggregation-block"), parsing: .unconditional, help: "Clients per aggregation block (the unit dealt to MPI ranks).")
    var aggregationBlock = 10
    @Flag(help: "Print one JSON object per round on standard output (headers on standard error).") var json = false

    func run() throws {
        try reportingUserErrors {
            var config = ExperimentConfig()
            config.dataset = "synthetic"
            config.model = model
            config.clients = clients
            config.trainPerClient = trainNum
            config.testPerClient = testNum
            config.localEpochs = localEpochs
            config.rounds = rounds
            config.partition = .iid
            guard let parsed = ExperimentConfig.Method(rawValue: method) else {
                throw UserError("--method must be fedavg or lips, got '\(method)'")
            }
            config.method = parsed
            guard let batchNorm = ExperimentConfig.BatchNormMode(rawValue: bn) else {
                throw UserError("--bn must be received or local, got '\(bn)'")
            }
            config.batchNorm = batchNorm
            config.aggregationBlock = aggregationBlock
            guard clients >= 1, rounds >= 1, trainNum >= 1, testNum >= 0, localEpochs >= 1, workers >= 0, aggregationBlock >= 1 else {
                throw UserError("clients, rounds, train-num, local-epochs and aggregation-block must be ≥ 1; test-num and workers ≥ 0")
            }
            let data = SyntheticData.make(trainCount: max(10_000, trainNum), testCount: max(10_000, testNum), classes: 10,
                                          shape: Shape(channels: 3, height: 32, width: 32), seed: 1)
            let communicator = Ranks.world()
            let simulation = try Simulation(config: config, data: data, workers: workers, communicator: communicator)
            let leads = communicator.rank == 0
            let ranks = communicator.size
            let trainMultiplyAdds = Double(simulation.model.trainingMultiplyAddsPerSample)
            let samples = Double(clients * localEpochs * trainNum)
            let header = { (line: String) in
                guard leads else { return }
                if json { FileHandle.standardError.writeIgnoringErrors(Data((line + "\n").utf8)) } else { print(line) }
            }
            header("model \(model), \(clients) clients x \(localEpochs) epochs x \(trainNum) samples, eval \(testNum)/client, \(method), bn \(bn), \(simulation.pool.workers) workers"
                   + (ranks > 1 ? " per rank x \(ranks) ranks (aggregation blocks of \(aggregationBlock))" : ""))
            // Every rank measures its own peak at once (each has its own cores), then all start together.
            let peak = GEMMPeak.measure(workers: simulation.pool.workers, seconds: 2)
            _ = communicator.maximum(0)
            header(String(format: "SGEMM peak on ResNet-8's im2col shapes, %d workers: %.1f GFLOP/s", simulation.pool.workers, peak)
                   + " (OpenBLAS \(BLASKernel.coreName) kernels)")
            header("training GFLOP/s below: direct-convolution FLOPs per second (Winograd does fewer multiplies)")
            for _ in 0..<rounds {
                let before = communicator.traffic
                let (row, _) = simulation.runRound()
                let traffic = RankTraffic.gathered(communicator.traffic.since(before), communicator: communicator)
                guard leads else { continue }
                let gflops = 2 * trainMultiplyAdds * samples / row.secondsTraining / 1e9
                let other = row.seconds - row.secondsTraining - row.secondsEvaluation
                if json {
                    let numbers = String(format: #""round": %d, "seconds": %.4f, "training": %.4f, "evaluation": %.4f, "scoring": %.4f, "other": %.4f, "gflops": %.2f, "sgemm_peak": %.2f"#,
                                         row.round, row.seconds, row.secondsTraining, row.secondsEvaluation,
                                         simulation.secondsScoringPersonalModels, other, gflops, peak)
                    print("{\(numbers), \"method\": \"\(method)\", \"bn\": \"\(bn)\", \"model\": \"\(model)\", \"clients\": \(clients), \"workers\": \(simulation.pool.workers), \"blas_kernels\": \"\(BLASKernel.coreName)\"\(ranks > 1 ? ", " + RankTraffic.json(traffic) : "")}")
                } else {
                    print(String(format: "round %d: %.2f s (training %.2f s, %.1f GFLOP/s = %.0f%% of SGEMM peak; evaluation %.2f s, of which scoring personal models %.2f s; other %.2f s)",
                                 row.round, row.seconds, row.secondsTraining, gflops, 100 * gflops / peak, row.secondsEvaluation,
                                 simulation.secondsScoringPersonalModels, other))
                    if ranks > 1 { print("  " + RankTraffic.line(traffic)) }
                }
            }
        }
    }
}

/// Each rank's communication during one bench round, gathered on every rank.
enum RankTraffic {
    static func gathered(_ mine: CommunicatorTraffic, communicator: Communicator) -> [CommunicatorTraffic] {
        guard communicator.size > 1 else { return [mine] }
        let encoded = "\(mine.calls) \(mine.bytesSent) \(mine.bytesReceived) \(mine.seconds)"
        return communicator.allGather(Array(encoded.utf8)).map { part in
            let fields = String(decoding: part, as: UTF8.self).split(separator: " ")
            var traffic = CommunicatorTraffic()
            traffic.calls = Int(fields[0]) ?? 0
            traffic.bytesSent = Int(fields[1]) ?? 0
            traffic.bytesReceived = Int(fields[2]) ?? 0
            traffic.seconds = Double(fields[3]) ?? 0
            return traffic
        }
    }

    /// "MPI per rank: 0.41 / 0.02 s in calls, 24.6 / 24.6 MB sent, 24.6 / 24.6 MB received (14 calls)"
    static func line(_ ranks: [CommunicatorTraffic]) -> String {
        func list(_ values: [Double], _ format: String) -> String {
            values.map { String(format: format, $0) }.joined(separator: " / ")
        }
        return "MPI per rank: \(list(ranks.map(\.seconds), "%.2f")) s in calls, "
            + "\(list(ranks.map { Double($0.bytesSent) / 1e6 }, "%.1f")) MB sent, "
            + "\(list(ranks.map { Double($0.bytesReceived) / 1e6 }, "%.1f")) MB received (\(ranks[0].calls) calls)"
    }

    static func json(_ ranks: [CommunicatorTraffic]) -> String {
        func list(_ values: [Double], _ format: String) -> String {
            "[" + values.map { String(format: format, $0) }.joined(separator: ", ") + "]"
        }
        return "\"ranks\": \(ranks.count), \"mpi_seconds\": \(list(ranks.map(\.seconds), "%.4f")), "
            + "\"mb_sent\": \(list(ranks.map { Double($0.bytesSent) / 1e6 }, "%.3f")), "
            + "\"mb_received\": \(list(ranks.map { Double($0.bytesReceived) / 1e6 }, "%.3f"))"
    }
}
