import Foundation

/// What one evaluation measured (docs/semantics.md §9, §10): the means over the clients that hold
/// test samples (each client counts once), the spread of personalised accuracy over them, and
/// every client's own scores. All nil (and no clients) when no client has test samples.
public struct Evaluation: Sendable {
    public var personalized: Double?
    public var dense: Double?
    /// The dense global model on the whole test split (`global_test`).
    public var global: Double?
    /// Mean over clients of each client's mean test cross-entropy, of its received model and of the
    /// dense global model.
    public var personalizedLoss: Double?
    public var denseLoss: Double?
    public var personalizedSpread: ClientSpread?
    /// One row per client with test samples, in client order.
    public var clients: [ClientMetrics] = []
}

extension Simulation {
    /// Each client's personalised accuracy, dense accuracy and test losses (the model it receives
    /// and the dense global model, on its own test set), their means and spread, and with
    /// `global_test` the dense model's accuracy on the whole test set. `runRound` calls it on
    /// evaluation rounds and keeps the rows in `clientMetrics`; it is public for benchmarks.
    ///
    /// The dense global model scores each distinct test sample once (its hit and its loss) and
    /// each client sums its own samples' entries in its test-list order; only the clients that
    /// receive a model of their own (a mask, or local BN state) are scored one by one, each where
    /// its state lives. Across ranks each rank scores every R-th chunk of the distinct samples and
    /// its own clients' models; the chunks and scores are gathered, then summed in client order,
    /// so every rank holds one process's values bit for bit.
    public func evaluate() -> Evaluation {
        guard !distinctTest.isEmpty else {
            clientMetrics = []
            return Evaluation()
        }
        let (correct, losses) = scoreDistinctSamples()
        let clientsWithTests = (0..<config.clients).filter { !partition.test[$0].isEmpty }
        var denseAccuracy = [Double](repeating: 0, count: config.clients), denseLoss = denseAccuracy
        for client in clientsWithTests {
            var hits = 0, lossSum = 0.0
            for index in partition.test[client] {
                hits += Int(correct[distinctPosition[index]])
                lossSum += losses[distinctPosition[index]]
            }
            denseAccuracy[client] = Double(hits) / Double(partition.test[client].count)
            denseLoss[client] = lossSum / Double(partition.test[client].count)
        }
        let globalAccuracy = config.globalTest
            ? Double(correct.array.reduce(0) { $0 + Int($1) }) / Double(distinctTest.count) : nil

        // A client that receives the plain global model scores as the dense model does.
        var personalAccuracy = denseAccuracy, personalLoss = denseLoss
        for score in scorePersonalModels(clientsWithTests) {
            personalAccuracy[score.client] = score.accuracy
            personalLoss[score.client] = score.loss
        }
        let round = nextRound
        clientMetrics = clientsWithTests.map { client in
            ClientMetrics(round: round, client: client, samples: partition.test[client].count,
                          personalizedAccuracy: personalAccuracy[client], denseAccuracy: denseAccuracy[client],
                          personalizedLoss: personalLoss[client], denseLoss: denseLoss[client])
        }
        var evaluation = Evaluation(global: globalAccuracy, clients: clientMetrics)
        guard !clientsWithTests.isEmpty else { return evaluation }
        // Sums in client order, each client once.
        func mean(_ values: [Double]) -> Double {
            clientsWithTests.reduce(0.0) { $0 + values[$1] } / Double(clientsWithTests.count)
        }
        evaluation.personalized = mean(personalAccuracy)
        evaluation.dense = mean(denseAccuracy)
        evaluation.personalizedLoss = mean(personalLoss)
        evaluation.denseLoss = mean(denseLoss)
        evaluation.personalizedSpread = ClientSpread(clientsWithTests.map { personalAccuracy[$0] })
        return evaluation
    }

    /// The dense global model's hit (1 or 0) and cross-entropy on every distinct test sample, by
    /// position in `distinctTest`: chunks of `batch_size` samples, this rank's every R-th chunk
    /// scored here and the others' gathered.
    private func scoreDistinctSamples() -> (correct: OwnedBuffer<UInt8>, losses: OwnedBuffer<Double>) {
        let correct = OwnedBuffer<UInt8>(repeating: 0, count: distinctTest.count)
        let losses = OwnedBuffer<Double>(repeating: 0, count: distinctTest.count)
        let (slots, global, globalStatistics, data, assembler, distinct) =
            (slots, global, globalStatistics, data, evalAssembler, distinctTest)
        let batch = config.batchSize
        let chunks = (distinct.count + batch - 1) / batch
        let myChunks = Array(stride(from: communicator.rank, to: chunks, by: communicator.size))
        // Whether a worker has scored a chunk already: its trainer's last forward then ran on the global
        // model, whose transforms its next chunks reuse. Each worker touches only its own entry.
        let scoredBefore = OwnedBuffer<Bool>(repeating: false, count: slots.count)
        pool.forEach(myChunks.count) { position, worker in
            let chunk = myChunks[position]
            let range = (chunk * batch)..<min(distinct.count, (chunk + 1) * batch)
            slots[worker].trainer.scoreSamples(parameters: global, statistics: globalStatistics, data: data.test,
                                               indices: distinct[range], assembler: assembler,
                                               parametersUnchanged: scoredBefore[worker],
                                               correct: correct.base + range.lowerBound,
                                               losses: losses.base + range.lowerBound)
            scoredBefore[worker] = true
        }
        if communicator.size > 1 { gatherChunks(correct, losses: losses, chunkSize: batch) }
        return (correct, losses)
    }

    /// Accuracy and mean loss of the model each client among `clients` receives, for those that
    /// receive one of their own, from every rank (each scores the clients it owns). Sets
    /// `secondsScoringPersonalModels`.
    private func scorePersonalModels(_ clients: [Int]) -> [ClientScore] {
        let mine = clients.filter { ownership.owns($0) && receivesPersonalModel($0) }
        let scores = OwnedBuffer<ClientScore>(repeating: ClientScore(), count: mine.count)
        let (slots, global, globalStatistics, data, assembler) = (slots, global, globalStatistics, data, evalAssembler)
        let (store, masks, partition) = (store, sparsifier, partition)
        let started = DispatchTime.now()
        pool.forEach(mine.count) { position, worker in
            let client = mine[position]
            let slot = slots[worker]
            slot.receive(client, global: global, globalStatistics: globalStatistics, masks: masks, store: store)
            let (accuracy, loss) = slot.trainer.score(parameters: slot.parameters, statistics: slot.statistics,
                                                      data: data.test, indices: partition.test[client], assembler: assembler)
            scores[position] = ClientScore(client: client, accuracy: accuracy, loss: loss)
        }
        secondsScoringPersonalModels = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return gatherScores(scores.array)
    }

    /// Whether client `client` (one this rank owns) receives something other than the dense
    /// global model.
    func receivesPersonalModel(_ client: Int) -> Bool {
        sparsifier.hasMask[client] || (store.keepsLocalState && store.hasLocal[client])
    }

    /// Each client's accuracies at the last evaluation, indexed by client (nil for a client
    /// without test samples); nil before any evaluation.
    public var clientAccuracies: (personalized: [Double?], dense: [Double?])? {
        guard !clientMetrics.isEmpty else { return nil }
        var personalized = [Double?](repeating: nil, count: config.clients), dense = personalized
        for row in clientMetrics {
            personalized[row.client] = row.personalizedAccuracy
            dense[row.client] = row.denseAccuracy
        }
        return (personalized, dense)
    }
}
