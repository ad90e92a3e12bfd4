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

        With --json each round is one line on standard output: round, seconds, training, evaluation, \
        scoring (the part of evaluation that scores personal models, one per client: LIPS masks, bn local), \
        other (seconds − training − evaluation: FedAvg, masks, layer metrics), gflops, sgemm_peak, method, bn, \
        model, clients, workers; the header lines go to standard error.
        """
    )

    @Option(help: "Model architecture.") var model = "resnet8"
    @Option(help: "Clients per round.") var clients = 100
    @Option(help: "Worker threads (0: one per core).") var workers = 0
    @Option(help: "Rounds to time.") var rounds = 1
    @Option(help: "fedavg or lips (lips masks on round 0).") var method = "fedavg"
    @Option(name: .customLong("train-num"), help: "Train samples per client.") var trainNum = 100
    @Option(name: .customLong("test-num"), help: "Test samples per client.") var testNum = 400
    @Option(name: .customLong("local-epochs"), help: "Local epochs.") var localEpochs = 5
    @Option(help: "BatchNorm mode: received or local (every client then scores its own model every round).")
    var bn = "received"
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
            guard clients >= 1, rounds >= 1, trainNum >= 1, testNum >= 0, localEpochs >= 1, workers >= 0 else {
                throw UserError("clients, rounds, train-num and local-epochs must be ≥ 1; test-num and workers ≥ 0")
            }
            let data = SyntheticData.make(trainCount: max(10_000, trainNum), testCount: max(10_000, testNum), classes: 10,
                                          shape: Shape(channels: 3, height: 32, width: 32), seed: 1)
            let simulation = try Simulation(config: config, data: data, workers: workers)
            let trainMultiplyAdds = Double(simulation.model.trainingMultiplyAddsPerSample)
            let samples = Double(clients * localEpochs * trainNum)
            let header = { (line: String) in
                if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
            }
            header("model \(model), \(clients) clients x \(localEpochs) epochs x \(trainNum) samples, eval \(testNum)/client, \(method), bn \(bn), \(simulation.pool.workers) workers")
            let peak = GEMMPeak.measure(workers: simulation.pool.workers, seconds: 2)
            header(String(format: "SGEMM peak on ResNet-8's im2col shapes, %d workers: %.1f GFLOP/s", simulation.pool.workers, peak)
                   + " (OpenBLAS \(BLASKernel.coreName) kernels)")
            header("training GFLOP/s below: direct-convolution FLOPs per second (Winograd does fewer multiplies)")
            for _ in 0..<rounds {
                let (row, _) = simulation.runRound()
                let gflops = 2 * trainMultiplyAdds * samples / row.secondsTraining / 1e9
                let other = row.seconds - row.secondsTraining - row.secondsEvaluation
                if json {
                    let numbers = String(format: #""round": %d, "seconds": %.4f, "training": %.4f, "evaluation": %.4f, "scoring": %.4f, "other": %.4f, "gflops": %.2f, "sgemm_peak": %.2f"#,
                                         row.round, row.seconds, row.secondsTraining, row.secondsEvaluation,
                                         simulation.secondsScoringPersonalModels, other, gflops, peak)
                    print("{\(numbers), \"method\": \"\(method)\", \"bn\": \"\(bn)\", \"model\": \"\(model)\", \"clients\": \(clients), \"workers\": \(simulation.pool.workers), \"blas_kernels\": \"\(BLASKernel.coreName)\"}")
                } else {
                    print(String(format: "round %d: %.2f s (training %.2f s, %.1f GFLOP/s = %.0f%% of SGEMM peak; evaluation %.2f s, of which scoring personal models %.2f s; other %.2f s)",
                                 row.round, row.seconds, row.secondsTraining, gflops, 100 * gflops / peak, row.secondsEvaluation,
                                 simulation.secondsScoringPersonalModels, other))
                }
            }
        }
    }
}
