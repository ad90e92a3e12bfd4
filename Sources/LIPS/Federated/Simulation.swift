import Foundation

/// A federated run in memory: the global model, every client's server-side state and one slot per
/// worker. `runRound()` does one round of SPEC's protocol — local training of the selected
/// clients, FedAvg, LIPS masks on masking rounds, evaluation and inertia metrics — and returns its
/// metrics. Files (metrics, checkpoints) are the caller's business (`Run/`).
///
/// Results are a pure function of the config and the data: every random draw is named by
/// (seed, purpose, round, client), and every sum over clients runs in client-index order.
public final class Simulation {
    public let config: ExperimentConfig
    public let model: Model
    public let data: DatasetPair
    public let partition: ClientPartition
    public let pool: WorkerPool
    /// The global model after the last aggregation (the initial model before round 0).
    public let global: Arena
    public let globalStatistics: Arena
    /// Global weights after round `config.referenceRound`, once reached.
    public internal(set) var reference: Arena?
    /// The round `runRound()` runs next.
    public private(set) var nextRound = 0
    func setNextRound(_ round: Int) { nextRound = round }

    let trainAssembler: BatchAssembler
    let evalAssembler: BatchAssembler
    let schedule: LIPSSchedule?
    let slots: [WorkerSlot]
    let store: ClientStore
    let previousGlobal: Arena
    let sum: FedAvgSum
    /// Mean gradient of the round's clients, laid out like a ClientStore slab (diversity metric).
    let meanGradient: SharedBuffer<Float>
    /// Distinct test samples over all clients (all of them with `global_test`), evaluated once
    /// whenever every client holds the same model.
    let distinctTest: [Int]
    /// Position in `distinctTest` of each test sample, −1 if no client holds it.
    let distinctPosition: [Int]
    /// Received non-zeros per client and maskable tensor after the last aggregation.
    let receivedNonzeros: SharedBuffer<Int>

    /// Builds the model, the partition and the workers. Throws a `UserError` for a config the
    /// data cannot satisfy.
    public init(config: ExperimentConfig, data: DatasetPair, workers: Int? = nil) throws {
        self.config = config
        self.data = data
        guard config.trainPerClient <= data.train.count else {
            throw UserError("train_num \(config.trainPerClient) is more than the \(data.train.count) train samples of \(data.train.name)")
        }
        guard config.testPerClient <= data.test.count else {
            throw UserError("test_num \(config.testPerClient) is more than the \(data.test.count) test samples of \(data.test.name)")
        }
        let normalization = config.normalizeMean.isEmpty
            ? nil : (mean: config.normalizeMean.map { Float($0) }, std: config.normalizeStd.map { Float($0) })
        trainAssembler = try BatchAssembler(imageShape: data.train.imageShape, normalization: normalization,
                                            augmentation: Augmentation(horizontalFlip: config.horizontalFlip,
                                                                       rotationDegrees: config.rotationDegrees,
                                                                       cropPadding: config.cropPadding))
        evalAssembler = try BatchAssembler(imageShape: data.train.imageShape, normalization: normalization)
        model = try Model.named(config.model, classes: data.train.classes, input: trainAssembler.inputShape)
        partition = try ClientPartition.make(config.partitionScheme, clients: config.clients,
                                             trainPerClient: config.trainPerClient, testPerClient: config.testPerClient,
                                             data: data, seed: config.seed)
        pool = WorkerPool(workers: workers ?? config.workers)
        setBLASThreads(pool.blasThreadsPerWorker)
        schedule = config.method == .lips
            ? LIPSSchedule(initialDensity: config.updateDensity, updateFrequency: config.updateFrequency,
                           horizon: config.effectiveHorizon)
            : nil
        let options = LocalTrainingOptions(
            epochs: config.localEpochs, batchSize: config.batchSize,
            optimizer: SGD(learningRate: Float(config.learningRate), momentum: Float(config.momentum),
                           weightDecay: Float(config.weightDecay)))
        let model = model
        slots = (0..<pool.workers).map { _ in WorkerSlot(model: model, options: options) }
        store = ClientStore(model: model, clients: config.clients, precision: config.gradientPrecision,
                            keepsLocalState: config.batchNorm == .local)
        global = model.makeParameters()
        globalStatistics = model.makeStatistics()
        model.initialize(parameters: global, statistics: globalStatistics, seed: config.seed)
        previousGlobal = Arena(copying: global)
        sum = FedAvgSum(model: model)
        meanGradient = SharedBuffer(repeating: 0, count: store.trackedCount)
        receivedNonzeros = SharedBuffer(repeating: 0, count: config.clients * store.maskableTracked.count)

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

    /// Bytes of server-side state per client (stored gradient, mask bits, local BN state).
    public var clientStateBytes: Int { store.bytesPerClient }

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
        let training = train(selected, round: round)
        let trained = DispatchTime.now()

        previousGlobal.copy(from: global)
        global.copy(from: sum.parameters)
        globalStatistics.copy(from: sum.statistics)
        if round == config.referenceRound { reference = Arena(copying: global) }

        let density = schedule?.density(afterRound: round)
        if let density { cutMasks(density: density) } else { store.clearMasks() }
        let layers = layerMetrics(round: round, selected: selected)

        let evaluationStarted = DispatchTime.now()
        var accuracies: (personalized: Double?, dense: Double?, global: Double?) = (nil, nil, nil)
        if evaluates(round: round) { accuracies = evaluate() }
        let finished = DispatchTime.now()

        let maskableCount = store.maskableCount
        let nonzeros = receivedNonzeros.array.reduce(0, +)
        let metrics = RoundMetrics(
            round: round, method: config.method.rawValue, density: density ?? 1,
            receivedDensity: maskableCount == 0 ? 1 : Double(nonzeros) / Double(maskableCount * config.clients),
            clientsTrained: selected.count, trainLoss: training.loss, trainAccuracy: training.accuracy,
            personalizedAccuracy: accuracies.personalized, denseAccuracy: accuracies.dense,
            globalAccuracy: accuracies.global,
            bytesUplinked: selected.count * (global.count + globalStatistics.count) * MemoryLayout<Float>.size,
            secondsTraining: seconds(started, trained), secondsEvaluation: seconds(evaluationStarted, finished),
            seconds: seconds(started, finished))
        nextRound += 1
        return (metrics, layers)
    }

    private func seconds(_ from: DispatchTime, _ to: DispatchTime) -> Double {
        Double(to.uptimeNanoseconds - from.uptimeNanoseconds) / 1e9
    }

    // MARK: Training and FedAvg

    /// Trains the selected clients in parallel and folds their models into `sum` (sample-weighted,
    /// in client-index order). Returns the round's train loss and
    /// accuracy, sample-weighted over clients.
    private func train(_ selected: [Int], round: Int) -> (loss: Double, accuracy: Double) {
        sum.reset()
        let (slots, store, partition, data, assembler) = (slots, store, partition, data, trainAssembler)
        let totalSamples = selected.reduce(0) { $0 + partition.train[$1].count }
        let fold = TrainingFold()
        let turn = OrderedTurn()
        let (global, globalStatistics, sum) = (global, globalStatistics, sum)
        let seed = config.seed
        pool.forEach(selected.count) { position, worker in
            let client = selected[position]
            let slot = slots[worker]
            store.writeReceivedModel(client, global: global, globalStatistics: globalStatistics,
                                     parameters: slot.parameters, statistics: slot.statistics)
            let result = slot.trainer.train(parameters: slot.parameters, statistics: slot.statistics, data: data.train,
                                            indices: partition.train[client], assembler: assembler,
                                            seed: seed, round: round, client: client)
            store.storeGradient(client, from: slot.trainer.gradients)
            store.storeLocal(client, parameters: slot.parameters, statistics: slot.statistics)
            turn.run(position) {
                let weight = Float(Double(partition.train[client].count) / Double(totalSamples))
                sum.add(weight: weight, parameters: slot.parameters, statistics: slot.statistics)
                fold.add(result)
            }
        }
        return (fold.lossSum / Double(fold.samples), Double(fold.correct) / Double(fold.samples))
    }

    // MARK: LIPS

    /// Cuts every client's mask at `density` from its stored gradient and the new global weights;
    /// a client that has never trained keeps the dense model (except with the |w| criterion,
    /// which needs no gradient). `runRound` calls it after a masking round's aggregation; it is
    /// public for benchmarks.
    public func cutMasks(density: Double) {
        let (slots, store, global, nonzeros) = (slots, store, global, receivedNonzeros)
        let byWeightOnly = config.criterion == .weight
        let maskables = store.maskableTracked.count
        pool.forEach(config.clients) { client, worker in
            let slot = slots[worker]
            let (values, scores, work) = slot.scratch
            guard byWeightOnly || store.hasGradient[client] else {
                store.hasMask[client] = false
                for (maskable, index) in store.maskableTracked.enumerated() {
                    let entry = store.tracked[index]
                    nonzeros[client * maskables + maskable] = LayerInertia.nonzeroCount(global.base + entry.offset, count: entry.count)
                }
                return
            }
            for (maskable, index) in store.maskableTracked.enumerated() {
                let entry = store.tracked[index]
                let weights = global.base + entry.offset
                if !byWeightOnly { store.loadGradient(client, tracked: index, into: values) }
                LIPSMask.cut(weights: weights, gradients: byWeightOnly ? nil : values, count: entry.count, density: density,
                             scores: scores, work: work, mask: values)
                store.setMask(client, maskable: maskable, from: values)
                var kept = 0
                for i in 0..<entry.count where values[i] != 0 && weights[i] != 0 { kept += 1 }
                nonzeros[client * maskables + maskable] = kept
            }
            store.hasMask[client] = true
        }
    }

    // MARK: Metrics

    /// Inertia, gradient norm and diversity, and received density of every conv and linear weight.
    private func layerMetrics(round: Int, selected: [Int]) -> [LayerMetrics] {
        let (slots, store, global, previous, reference, mean, nonzeros) =
            (slots, store, global, previousGlobal, reference, meanGradient, receivedNonzeros)
        let clients = config.clients
        let maskables = store.maskableTracked.count
        let maskedRound = (0..<clients).contains { store.hasMask[$0] }
        let rows = SharedBuffer<LayerMetrics?>(repeating: nil, count: store.tracked.count)
        pool.forEach(store.tracked.count) { index, worker in
            let entry = store.tracked[index]
            let count = entry.count
            let weights = global.base + entry.offset
            let values = slots[worker].scratch.0
            let average = mean.base + store.trackedStart[index]
            // Mean gradient over the round's clients, summed in client order.
            average.update(repeating: 0, count: count)
            for client in selected {
                store.loadGradient(client, tracked: index, into: values)
                for i in 0..<count { average[i] += values[i] }
            }
            let scale = 1 / Float(selected.count)
            for i in 0..<count { average[i] *= scale }
            var normSum = 0.0, diversitySum = 0.0
            for client in selected {
                store.loadGradient(client, tracked: index, into: values)
                var norm = 0.0, distance = 0.0
                for i in 0..<count {
                    norm += Double(values[i]) * Double(values[i])
                    let d = Double(values[i]) - Double(average[i])
                    distance += d * d
                }
                normSum += norm.squareRoot()
                diversitySum += distance.squareRoot()
            }
            let toReference = reference.map { LayerInertia.distances(weights, reference: $0.base + entry.offset, count: count) }
            var density = 1.0
            if let maskable = store.maskableTracked.firstIndex(of: index) {
                let kept = maskedRound
                    ? (0..<clients).reduce(0) { $0 + nonzeros[$1 * maskables + maskable] }
                    : clients * LayerInertia.nonzeroCount(weights, count: count)
                if !maskedRound {
                    for client in 0..<clients { nonzeros[client * maskables + maskable] = kept / clients }
                }
                density = Double(kept) / Double(clients * count)
            }
            rows[index] = LayerMetrics(
                round: round, layer: entry.name,
                relativeUpdate: LayerInertia.relativeUpdate(new: weights, old: previous.base + entry.offset, count: count),
                l1ToReference: toReference?.l1, l2ToReference: toReference?.l2, cosineToReference: toReference?.cosine,
                gradientNorm: normSum / Double(selected.count), gradientDiversity: diversitySum / Double(selected.count),
                receivedDensity: density)
        }
        return rows.array.compactMap { $0 }
    }

    // MARK: Evaluation

    /// Personalised accuracy (each client's received model on its own test set), the dense global
    /// model's mean local accuracy and, with `global_test`, its accuracy on the whole test set.
    /// `runRound` calls it on evaluation rounds; it is public for benchmarks.
    public func evaluate() -> (personalized: Double?, dense: Double?, global: Double?) {
        guard !distinctTest.isEmpty else { return (nil, nil, nil) }
        // The dense global model scores each distinct test sample once; clients look theirs up.
        let correct = SharedBuffer<UInt8>(repeating: 0, count: distinctTest.count)
        let (slots, global, globalStatistics, data, assembler, distinct) =
            (slots, global, globalStatistics, data, evalAssembler, distinctTest)
        let (store, partition) = (store, partition)
        let batch = config.batchSize
        let chunks = (distinct.count + batch - 1) / batch
        pool.forEach(chunks) { chunk, worker in
            let range = (chunk * batch)..<min(distinct.count, (chunk + 1) * batch)
            slots[worker].trainer.scoreSamples(parameters: global, statistics: globalStatistics, data: data.test,
                                               indices: distinct[range], assembler: assembler,
                                               correct: correct.base + range.lowerBound)
        }
        let clientsWithTests = (0..<config.clients).filter { !partition.test[$0].isEmpty }
        var denseByClient = [Double](repeating: 0, count: config.clients)
        for client in clientsWithTests {
            let hits = partition.test[client].reduce(0) { $0 + Int(correct[distinctPosition[$1]]) }
            denseByClient[client] = Double(hits) / Double(partition.test[client].count)
        }
        let dense = clientsWithTests.isEmpty ? nil : clientsWithTests.reduce(0.0) { $0 + denseByClient[$1] } / Double(clientsWithTests.count)
        let globalAccuracy = config.globalTest
            ? Double(correct.array.reduce(0) { $0 + Int($1) }) / Double(distinct.count) : nil

        // Clients that receive their own model (a mask, or local BN state) are scored one by one.
        let personal = SharedBuffer<Double>(repeating: 0, count: config.clients)
        let personalClients = clientsWithTests.filter { store.receivesPersonalModel($0) }
        pool.forEach(personalClients.count) { position, worker in
            let client = personalClients[position]
            let slot = slots[worker]
            store.writeReceivedModel(client, global: global, globalStatistics: globalStatistics,
                                     parameters: slot.parameters, statistics: slot.statistics)
            personal[client] = slot.trainer.accuracy(parameters: slot.parameters, statistics: slot.statistics,
                                                     data: data.test, indices: partition.test[client], assembler: assembler)
        }
        var personalizedSum = 0.0
        for client in clientsWithTests {
            personalizedSum += store.receivesPersonalModel(client) ? personal[client] : denseByClient[client]
        }
        let personalized = clientsWithTests.isEmpty ? nil : personalizedSum / Double(clientsWithTests.count)
        return (personalized, dense, globalAccuracy)
    }
}

/// The round's training loss and accuracy sums, added to only inside an `OrderedTurn`.
private final class TrainingFold: @unchecked Sendable {
    var lossSum = 0.0
    var correct = 0
    var samples = 0

    func add(_ result: LocalTrainingResult) {
        lossSum += result.loss * Double(result.samples)
        correct += result.correct
        samples += result.samples
    }
}
