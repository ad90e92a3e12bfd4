import Benchmark
import LIPS

// `make bench` (or `cd Benchmarks && swift package benchmark`). Wall clock, throughput and mallocs
// for the kernels, ResNet-8's layers, one client's local training, FedAvg and LIPS over 100
// clients, evaluation, and whole paper rounds on 1 and 2 workers. Speed is measured here, never in
// tests.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           warmupIterations: 1, maxDuration: .seconds(2), maxIterations: 20)
    let input = Shape(channels: 3, height: 32, width: 32)
    let batch = 100

    // SGEMM at ResNet-8's im2col shapes (forward, batch 100), one BLAS thread.
    for shape in GEMMPeak.resnet8Shapes {
        Benchmark("sgemm \(shape.m)x\(shape.n)x\(shape.k)",
                  configuration: .init(metrics: [.wallClock, .throughput], scalingFactor: .one)) { benchmark in
            let a = [Float](repeating: 0.5, count: shape.m * shape.k), b = [Float](repeating: 0.25, count: shape.k * shape.n)
            var c = [Float](repeating: 0, count: shape.m * shape.n)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { GEMMPeak.multiply(shape, a: a, b: b, c: &c) }
            benchmark.stopMeasurement()
            blackHole(c)
        }
    }

    // Each ResNet-8 layer's forward and backward at batch 100, one BLAS thread.
    let model = try! Model.named("resnet8", classes: 10, input: input)
    for (index, name) in model.layerNames.enumerated() {
        Benchmark("resnet8 layer \(index) \(name) forward+backward") { benchmark in
            let parameters = model.makeParameters(), gradients = model.makeParameters(), statistics = model.makeStatistics()
            model.initialize(parameters: parameters, statistics: statistics, seed: 1)
            let workspace = model.makeWorkspace(batchSize: batch)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                model.forwardLayer(index, workspace, parameters: parameters, statistics: statistics, batchSize: batch)
                model.backwardLayer(index, workspace, parameters: parameters, gradients: gradients, statistics: statistics,
                                    batchSize: batch)
            }
            benchmark.stopMeasurement()
        }
    }

    // One client's local training: 5 and 10 steps of batch 100 (one and two epochs of 500
    // samples). The malloc count is per call; equal counts for 5 and 10 steps mean the steps
    // themselves allocate nothing (what is left comes from naming the call's random streams).
    for epochs in [1, 2] {
        Benchmark("client local training resnet8 \(5 * epochs) steps x 100") { benchmark in
            let data = SyntheticData.make(trainCount: 500, testCount: 0, classes: 10, shape: input, seed: 1)
            let parameters = model.makeParameters(), statistics = model.makeStatistics()
            model.initialize(parameters: parameters, statistics: statistics, seed: 1)
            let trainer = ClientTrainer(model: model, options: LocalTrainingOptions(epochs: epochs, batchSize: batch))
            let assembler = try BatchAssembler(imageShape: input)
            let indices = Array(0..<500)
            _ = trainer.train(parameters: parameters, statistics: statistics, data: data.train, indices: indices,
                              assembler: assembler, seed: 1, round: 0, client: 0)
            benchmark.startMeasurement()
            for iteration in benchmark.scaledIterations {
                _ = trainer.train(parameters: parameters, statistics: statistics, data: data.train, indices: indices,
                                  assembler: assembler, seed: 1, round: iteration, client: 0)
            }
            benchmark.stopMeasurement()
        }
    }

    /// A 100-client federation on synthetic data; `light` trains 1 step per client (to fill stored
    /// gradients quickly for the masking benchmark). LIPS masks on round 0, so after it every client
    /// is scored with its own model; the paper round is FedAvg's, as `lips bench round` and
    /// `reference/torch_round.py` time it.
    func simulation(workers: Int, light: Bool = false, method: ExperimentConfig.Method = .lips) throws -> Simulation {
        var config = ExperimentConfig()
        config.dataset = "synthetic"
        config.partition = .iid
        config.method = method
        config.trainPerClient = light ? 10 : 100
        config.localEpochs = light ? 1 : 5
        let data = SyntheticData.make(trainCount: 10_000, testCount: 10_000, classes: 10, shape: input, seed: 1)
        return try Simulation(config: config, data: data, workers: workers)
    }

    Benchmark("fedavg fold 100 clients resnet8") { benchmark in
        let sum = FedAvgSum(model: model, blockSize: 10)
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            sum.reset()
            for client in 0..<100 { sum.add(client: client, weight: 0.01, parameters: parameters, statistics: statistics) }
            sum.finish()
        }
        benchmark.stopMeasurement()
    }

    for workers in [1, 2] {
        Benchmark("lips masks 100 clients resnet8 \(workers) workers",
                  configuration: .init(metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(5), maxIterations: 5)) { benchmark in
            let federation = try simulation(workers: workers, light: true)
            _ = federation.runRound()
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { federation.cutMasks(density: 0.5) }
            benchmark.stopMeasurement()
        }

        Benchmark("evaluation 100 clients x 400 resnet8 \(workers) workers",
                  configuration: .init(metrics: [.wallClock], maxDuration: .seconds(10), maxIterations: 3)) { benchmark in
            let federation = try simulation(workers: workers, light: true)
            _ = federation.runRound()   // round 0 masks: every client holds its own model
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(federation.evaluate()) }
            benchmark.stopMeasurement()
        }

        Benchmark("paper round resnet8 100 clients \(workers) workers",
                  configuration: .init(metrics: [.wallClock], warmupIterations: 0, maxDuration: .seconds(1), maxIterations: 1)) { benchmark in
            let federation = try simulation(workers: workers, method: .fedavg)
            benchmark.startMeasurement()
            blackHole(federation.runRound())
            benchmark.stopMeasurement()
        }
    }
}
