import Foundation

/// A federated run in memory: the global model, every client's server-side state and one slot per
/// worker. `runRound()` does one round of the protocol — local training of the selected clients
/// (docs/semantics.md §4), FedAvg (§5), LIPS masks on masking rounds (§6), evaluation (§9) and
/// layer metrics (§10) — and returns its metrics. Files (metrics, checkpoints) are the caller's
/// business (`Run/`).
///
/// Results are a pure function of the config and the data (§11): every random draw is named by
/// (seed, purpose, round, client), and every sum over clients runs in client-index order (by
/// aggregation blocks for the FedAvg and mean-gradient sums).
///
/// Across MPI ranks (`communicator`), every rank runs the same rounds: it trains, masks and scores
/// the clients it owns (`ClientOwnership`) and holds only their state; what a round needs from the
/// others (block sums, per-client results) is exchanged as bytes and folded in the same order, so
/// every rank ends each round with the same global model and metrics as one process would.
public final class Simulation {
    public let config: ExperimentConfig
    /// This run's ranks (a single process unless started by an MPI launcher).
    public let communicator: Communicator
    /// The clients whose state lives in this process.
    let ownership: ClientOwnership
    public let model: Model
    public let data: DatasetPair
    public let partition: ClientPartition
    public let pool: WorkerPool
    /// The global model after the last aggregation (the initial model before round 0).
    public let global: Arena
    public let globalStatistics: Arena
    /// Global weights after round `config.referenceRound`, once reached.
    public internal(set) var reference: Arena?
    /// Each client's scores at the last evaluation (§9), one row per client with test samples, in
    /// client order: the rows of `clients.csv`. Empty after a round that was not evaluated.
    public internal(set) var clientMetrics: [ClientMetrics] = []
    /// Seconds the last evaluation spent scoring the clients that receive a model of their own (LIPS
    /// masks, local BN state), one model per client: the part of the evaluation that a reference
    /// implementation scoring every client's received model does too (`lips bench round` reports it).
    public internal(set) var secondsScoringPersonalModels = 0.0
    /// What every client received after round `round`'s aggregation (from `sendMasks`), for the
    /// next round's downlink; nil before the first round and after a restore (counted again then).
    var lastReceived: (round: Int, received: LIPSSparsifier.Received)?
    /// The first client (in client order) whose training loss was not finite in the last round.
    public private(set) var firstClientWithNonFiniteLoss: Int?
    /// The round `runRound()` runs next.
    public private(set) var nextRound = 0
    func setNextRound(_ round: Int) {
        nextRound = round
        lastReceived = nil
    }

    let trainAssembler: BatchAssembler
    let evalAssembler: BatchAssembler
    let schedule: LIPSSchedule?
    let slots: [WorkerSlot]
    let store: ClientStore
    let sparsifier: LIPSSparsifier
    let previousGlobal: Arena
    let sum: FedAvgSum
    /// Server momentum and SCAFFOLD's control variate (§12).
    let server: ServerState
    /// Across ranks: this rank's block sums of the stored gradients, for the mean gradient ḡ.
    let gradientBlocks: GradientBlocks?
    /// Distinct test samples over all clients (all of them with `global_test`), evaluated once
    /// whenever every client holds the same model.
    let distinctTest: [Int]
    /// Position in `distinctTest` of each test sample, −1 if no client holds it.
    let distinctPosition: [Int]

    /// Builds the model, the partition and the workers. Throws a `UserError` for a config the
    /// data cannot satisfy.
    public init(config: ExperimentConfig, data: DatasetPair, workers: Int? = nil,
                communicator: Communicator = SingleProcess()) throws {
        self.config = config
        self.communicator = communicator
        ownership = ClientOwnership(clients: config.clients, blockSize: config.aggregationBlock,
                                    rank: communicator.rank, ranks: communicator.size)
        self.data = data
        try Simulation.requireSamples(trainPerClient: config.trainPerClient, testPerClient: config.testPerClient, data: data)
        let normalization = config.normalizeMean.isEmpty
            ? nil : (mean: config.normalizeMean.map { Float($0) }, std: config.normalizeStd.map { Float($0) })
        trainAssembler = try BatchAssembler(imageShape: data.train.imageShape, normalization: normalization,
                                            augmentation: Augmentation(horizontalFlip: config.horizontalFlip,
                                                                       rotationDegrees: config.rotationDegrees,
                                                                       cropPadding: config.cropPadding))
        evalAssembler = try BatchAssembler(imageShape: data.train.imageShape, normalization: normalization)
        model = try Model.named(config.model, classes: data.train.classes, input: trainAssembler.inputShape)
        partition = try Simulation.partition(config: config, data: data)
        // More workers than clients would only hold idle models; results do not depend on the count.
        pool = WorkerPool(workers: max(1, min(WorkerPool(workers: workers ?? config.workers).workers, config.clients)))
        schedule = config.method == .lips
            ? LIPSSchedule(initialDensity: config.updateDensity, updateFrequency: config.updateFrequency,
                           horizon: config.effectiveHorizon)
            : nil
        let options = LocalTrainingOptions(
            epochs: config.localEpochs, batchSize: config.batchSize,
            optimizer: SGD(learningRate: Float(config.learningRate), momentum: Float(config.momentum),
                           weightDecay: Float(config.weightDecay)),
            shuffle: config.shuffle)
        let model = model
        try Simulation.refuseIfTooLarge(config: config, model: model, ownership: ownership, workers: pool.workers)
        let algorithm = config.algorithm
        slots = (0..<pool.workers).map { _ in WorkerSlot(model: model, options: options, algorithm: algorithm) }
        store = ClientStore(model: model, ownership: ownership, precision: config.gradientPrecision,
                            keepsLocalState: config.batchNorm == .local, keepsControls: algorithm == .scaffold)
        sparsifier = LIPSSparsifier(tracked: store.tracked, ownership: ownership)
        global = model.makeParameters()
        globalStatistics = model.makeStatistics()
        model.initialize(parameters: global, statistics: globalStatistics, seed: config.seed)
        previousGlobal = Arena(copying: global)
        sum = FedAvgSum(model: model, blockSize: config.aggregationBlock, keepsBlocks: communicator.size > 1)
        server = ServerState(config: config, model: model, keepsBlocks: communicator.size > 1)
        gradientBlocks = communicator.size > 1
            ? GradientBlocks(store: store, ownership: ownership) : nil

        var position = [Int](repeating: -1, count: data.test.count)
        if config.globalTest {
            for index in 0..<data.test.count { position[index] = 0 }
        } else {
            for indices in partition.test { for index in indices { position[index] = 0 } }
        }
        var distinct: [Int] = []
        for index in 0..<data.test.count where position[index] == 0 {
            position[index] = distinct.count
            distinct.append(index)
        }
        distinctTest = distinct
        distinctPosition = position
    }

    /// Refuses per-client sample counts the data cannot give (each client draws without
    /// replacement from the whole set).
    public static func requireSamples(trainPerClient: Int, testPerClient: Int, data: DatasetPair) throws {
        guard trainPerClient >= 1, trainPerClient <= data.train.count else {
            throw UserError("train_num \(trainPerClient) must be between 1 and the \(data.train.count) train samples of \(data.train.name)")
        }
        guard testPerClient >= 0, testPerClient <= data.test.count else {
            throw UserError("test_num \(testPerClient) must be between 0 and the \(data.test.count) test samples of \(data.test.name)")
        }
    }

    /// The clients' samples: read from `split_file` (checked against `split_sha256` when that is
    /// set), or drawn from `partition` (docs/semantics.md §2).
    public static func partition(config: ExperimentConfig, data: DatasetPair) throws -> ClientPartition {
        guard let path = config.splitFile else {
            return try ClientPartition.make(config.partitionScheme, clients: config.clients,
                                            trainPerClient: config.trainPerClient, testPerClient: config.testPerClient,
                                            data: data, seed: config.seed)
        }
        let (partition, sha256) = try SplitFile.read(path, dataset: config.dataset, data: data, clients: config.clients,
                                                     trainNum: config.trainPerClient, testNum: config.testPerClient)
        if let recorded = config.splitSHA256, recorded != sha256 {
            throw SplitFile.changed(path, sha256: sha256, recorded: recorded)
        }
        return partition
    }

    /// Refuses, before allocating it, a run whose server state (every owned client's stored
    /// gradient, mask bits, local BN state and SCAFFOLD's control variate) and workers (a model, its
    /// gradients, momentum and scratch each, counted as 8 copies of the parameters, 9–10 with FedProx
    /// and SCAFFOLD) need more memory than this process may
    /// use (`MemoryLimit`), with the estimate in the message.
    static func refuseIfTooLarge(config: ExperimentConfig, model: Model, ownership: ClientOwnership, workers: Int) throws {
        let entries = model.parameterLayout.entries
        let tracked = entries.filter { $0.kind == .convWeight || $0.kind == .linearWeight }.reduce(0) { $0 + $1.count }
        let maskable = entries.filter(\.maskable).reduce(0) { $0 + $1.count }
        let local = config.batchNorm == .local
            ? entries.filter { $0.kind != .convWeight && $0.kind != .linearWeight }.reduce(0) { $0 + $1.count } + model.statisticsLayout.count
            : 0
        let controls = config.algorithm == .scaffold ? model.parameterLayout.count : 0
        let perClient = Double(tracked * (config.gradientPrecision == .half ? 2 : 4) + maskable / 8 + local * 4 + controls * 4)
        let clientBytes = perClient * Double(ownership.owned.count)
        // FedProx and SCAFFOLD keep the received model beside it, SCAFFOLD also c − c_k.
        let workerCopies = 8 + (config.algorithm == .fedprox || config.algorithm == .scaffold ? 1 : 0)
            + (config.algorithm == .scaffold ? 1 : 0)
        let workerBytes = Double(workers * workerCopies) * 4 * Double(model.parameterLayout.count)
        let limit = Double(MemoryLimit.bytes)
        guard clientBytes + workerBytes <= 0.9 * limit else {
            throw UserError(String(format: "%d clients need about %.1f GB of server state (%.1f MB each) and %d workers %.1f GB, more than the %.1f GB this process may use; use fewer clients, grad_precision fp16, fewer workers, or several MPI ranks",
                                   ownership.owned.count, clientBytes / 1e9, perClient / 1e6, workers, workerBytes / 1e9, limit / 1e9))
        }
    }

    /// Bytes of server-side state per client (stored gradient, mask bits, local BN state).
    public var clientStateBytes: Int { store.bytesPerClient + sparsifier.wordsPerClient * MemoryLayout<UInt64>.size }

    /// The clients that train in `round`: all, or a seeded fraction (sorted).
    public func selectedClients(round: Int) -> [Int] {
        let all = Array(0..<config.clients)
        guard config.participation < 1 else { return all }
        let count = max(1, Int((config.participation * Double(config.clients)).rounded()))
        var random = RandomStream(seed: config.seed, purpose: "participation/round \(round)")
        var order = all
        for i in 0..<count { order.swapAt(i, i + random.nextInt(below: order.count - i)) }
        return order[0..<count].sorted()
    }

    /// Whether round `round` is evaluated (every `eval_every` rounds and always the last).
    public func evaluates(round: Int) -> Bool {
        round % config.evalEvery == 0 || round == config.rounds - 1
    }

    /// Runs round `nextRound` and returns its metrics and its per-layer inertia.
    public func runRound() -> (round: RoundMetrics, layers: [LayerMetrics]) {
        let round = nextRound
        let started = DispatchTime.now()
        let selected = selectedClients(round: round)
        // Before training: the models the selected clients receive are those sent after the last round.
        let downlink = downlinkBytes(to: selected, round: round)
        let training = train(selected, round: round)
        let trained = DispatchTime.now()

        previousGlobal.copy(from: global)
        server.step(global: global, average: sum.parameters)
        globalStatistics.copy(from: sum.statistics)
        if round == config.referenceRound { reference = Arena(copying: global) }

        let density = schedule?.density(afterRound: round)
        let received = sendMasks(density: density)
        lastReceived = (round, received)
        let layers = LayerMetrics.measure(round: round, selected: selected, global: global, previous: previousGlobal,
                                          reference: reference, received: received, masks: sparsifier, store: store,
                                          pool: pool, slots: slots, blocks: gradientBlocks, communicator: communicator)

        let evaluationStarted = DispatchTime.now()
        var evaluation = Evaluation()
        clientMetrics = []
        if evaluates(round: round) { evaluation = evaluate() }
        let finished = DispatchTime.now()

        let metrics = RoundMetrics(
            round: round, method: config.method.rawValue, density: density ?? 1, receivedDensity: received.density,
            clientsTrained: selected.count, clients: selected, trainLoss: training.loss, trainAccuracy: training.accuracy,
            personalizedAccuracy: evaluation.personalized, denseAccuracy: evaluation.dense,
            globalAccuracy: evaluation.global,
            personalizedAccuracyStd: evaluation.personalizedSpread?.standardDeviation,
            personalizedAccuracyMin: evaluation.personalizedSpread?.minimum,
            personalizedAccuracyP10: evaluation.personalizedSpread?.percentile10,
            personalizedLoss: evaluation.personalizedLoss, denseLoss: evaluation.denseLoss,
            bytesUplinked: traffic.uplink(clients: selected.count), bytesDownlinked: downlink,
            secondsTraining: seconds(started, trained), secondsEvaluation: seconds(evaluationStarted, finished),
            seconds: seconds(started, finished))
        nextRound += 1
        return (metrics, layers)
    }

    /// What went non-finite in the last round, if anything: its training loss (naming the first
    /// client whose loss did) or the new global model. nil when the round is sound.
    public func divergence(_ row: RoundMetrics) -> String? {
        if !row.trainLoss.isFinite {
            return "train loss \(row.trainLoss)" + (firstClientWithNonFiniteLoss.map { ", first at client \($0)" } ?? "")
        }
        let finite = global.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) }
            && globalStatistics.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) }
        return finite ? nil : "the global model holds non-finite values"
    }

    private func seconds(_ from: DispatchTime, _ to: DispatchTime) -> Double {
        Double(to.uptimeNanoseconds - from.uptimeNanoseconds) / 1e9
    }

    // MARK: Training and FedAvg

    /// Trains the selected clients this rank owns in parallel and folds their models into `sum`
    /// (sample-weighted, in client-index order, by aggregation blocks; the other ranks' blocks
    /// joined in block order). Returns the round's train loss and accuracy, sample-weighted over
    /// every rank's clients in client order.
    private func train(_ selected: [Int], round: Int) -> (loss: Double, accuracy: Double) {
        sum.reset()
        let (slots, store, masks, partition, data, assembler) = (slots, store, sparsifier, partition, data, trainAssembler)
        let totalSamples = selected.reduce(0) { $0 + partition.train[$1].count }
        let mine = selected.filter { ownership.owns($0) }
        let results = OwnedBuffer<ClientResult>(repeating: ClientResult(), count: mine.count)
        let turn = OrderedTurn()
        let (global, globalStatistics, sum) = (global, globalStatistics, sum)
        let seed = config.seed
        let (server, algorithm, mu, lr) = (server, config.algorithm, Float(config.proximalWeight), config.learningRate)
        server.controlSum?.reset()
        pool.forEach(mine.count) { position, worker in
            let client = mine[position]
            let slot = slots[worker]
            slot.receive(client, global: global, globalStatistics: globalStatistics, masks: masks, store: store)
            let rule: LocalRule
            switch algorithm {
            case .fedavg, .fedavgm:
                rule = .plain
            case .fedprox:
                slot.anchor!.copy(from: slot.parameters)
                rule = .proximal(mu: mu, anchor: slot.anchor!)
            case .scaffold:
                slot.anchor!.copy(from: slot.parameters)
                store.loadCorrection(client, server: server.control!, into: slot.correction!)
                rule = .controlVariates(correction: slot.correction!)
            }
            let result = slot.trainer.train(parameters: slot.parameters, statistics: slot.statistics, data: data.train,
                                            indices: partition.train[client], assembler: assembler,
                                            seed: seed, round: round, client: client, rule: rule)
            store.storeGradient(client, from: slot.trainer.gradients)
            store.storeLocal(client, parameters: slot.parameters, statistics: slot.statistics)
            if algorithm == .scaffold {
                Simulation.controlUpdate(anchor: slot.anchor!, trained: slot.parameters, server: server.control!,
                                         steps: result.steps, learningRate: lr, into: slot.correction!)
                store.addControl(client, delta: slot.correction!)
            }
            results[position] = ClientResult(client: client, result: result)
            turn.run(position) {
                let weight = Float(Double(partition.train[client].count) / Double(totalSamples))
                sum.add(client: client, weight: weight, parameters: slot.parameters, statistics: slot.statistics)
                server.controlSum?.add(client: client, weight: server.controlWeight, parameters: slot.correction!,
                                       statistics: slot.statistics)
            }
        }
        sum.finish()
        if communicator.size > 1 { sum.fold(parts: communicator.allGather(sum.encodedBlocks())) }
        if let controlSum = server.controlSum {
            controlSum.finish()
            if communicator.size > 1 { controlSum.fold(parts: communicator.allGather(controlSum.encodedBlocks())) }
            server.updateControl()
        }
        var lossSum = 0.0, correct = 0, samples = 0
        let all = ClientResult.gathered(results.array, communicator: communicator)
        firstClientWithNonFiniteLoss = all.first { !$0.loss.isFinite }?.client
        for result in all {
            lossSum += result.loss * Double(result.samples)
            correct += result.correct
            samples += result.samples
        }
        return (lossSum / Double(samples), Double(correct) / Double(samples))
    }

    /// SCAFFOLD's client update, option II of Karimireddy et al. (2020): Δc_k = (a − y)/(K·η) − c,
    /// a the model the client received, y the one it trained to in K steps of learning rate η.
    static func controlUpdate(anchor: Arena, trained: Arena, server: Arena, steps: Int, learningRate: Double,
                              into delta: Arena) {
        let divisor = Float(Double(steps) * learningRate)
        let a = anchor.base, y = trained.base, c = server.base, d = delta.base
        for i in 0..<delta.count { d[i] = (a[i] - y[i]) / divisor - c[i] }
    }

    // MARK: LIPS

    /// The masks sent after this round's aggregation: cut at `density` from each client's stored
    /// gradient and the new global weights on a masking round, none otherwise. Returns the
    /// non-zeros each client receives per maskable layer, which the round and layer metrics report.
    func sendMasks(density: Double?) -> LIPSSparsifier.Received {
        guard let density else { return sparsifier.clear(global: global) }
        return sparsifier.cut(density: density, criterion: config.criterion, global: global, store: store,
                              pool: pool, slots: slots)
            .gathered(ownership: ownership, communicator: communicator)
    }

    /// Cuts every client's mask at `density`, as `runRound` does after a masking round's
    /// aggregation; public for benchmarks.
    public func cutMasks(density: Double) {
        _ = sendMasks(density: density)
        lastReceived = nil
    }
}
