/// How long and how a client trains on its own data (docs/semantics.md §4).
public struct LocalTrainingOptions: Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var optimizer: SGD
    /// Shuffle the samples before each epoch; false trains on them in the given order, without
    /// augmentation, so another framework can replay the batches.
    public var shuffle: Bool

    public init(epochs: Int = 5, batchSize: Int = 100, optimizer: SGD = SGD(), shuffle: Bool = true) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.shuffle = shuffle
    }
}

/// What one client's local training produced, besides its updated arenas.
public struct LocalTrainingResult: Sendable {
    /// Sample-weighted mean loss and accuracy over every mini-batch of every epoch.
    public let loss: Double
    public let accuracy: Double
    public let samples: Int
    /// Correctly classified training samples, summed over the steps.
    public let correct: Int
    public let steps: Int
}

/// One worker's trainer: a workspace and gradient/momentum arenas for one model, reused for
/// every client the worker trains, so training a client allocates nothing.
///
/// After `train`, `gradients` holds the gradient of the client's **last** local step, which LIPS
/// keeps for its mask (docs/semantics.md §6).
public final class ClientTrainer {
    public let model: Model
    public let options: LocalTrainingOptions
    public let gradients: Arena
    let momentum: Arena
    let workspace: Workspace
    /// The epoch's sample order, reused.
    private var order: [Int] = []
    /// One batch of per-sample losses and hits, for `score`.
    private let batchLosses: OwnedBuffer<Double>
    private let batchCorrect: OwnedBuffer<UInt8>
    /// When set (tests), `train` appends every mini-batch's sample indices, in training order.
    var batchLog: [[Int]]?

    public init(model: Model, options: LocalTrainingOptions) {
        precondition(options.epochs >= 1 && options.batchSize >= 1, "ClientTrainer: epochs and batch size must be ≥ 1")
        self.model = model
        self.options = options
        gradients = model.makeParameters()
        momentum = model.makeParameters()
        workspace = model.makeWorkspace(batchSize: options.batchSize)
        batchLosses = OwnedBuffer(repeating: 0, count: options.batchSize)
        batchCorrect = OwnedBuffer(repeating: 0, count: options.batchSize)
    }

    /// Trains `parameters` and `statistics` in place on the samples `indices` of `data`, with a
    /// fresh optimizer. Shuffling and augmentation draw from streams named by (seed, round, client),
    /// so the result does not depend on which worker runs the client. With `options.shuffle` false
    /// every epoch takes `indices` in order and nothing is augmented. `rule` adds FedProx's or
    /// SCAFFOLD's term to every step's gradient.
    public func train(parameters: Arena, statistics: Arena, data: Dataset, indices: [Int], assembler: BatchAssembler,
                      seed: UInt64, round: Int, client: Int, rule: LocalRule = .plain) -> LocalTrainingResult {
        precondition(!indices.isEmpty, "ClientTrainer: client \(client) has no samples")
        var shuffle = RandomStream(seed: seed, purpose: "shuffle/round \(round)/client \(client)")
        var augmentation: RandomStream? = assembler.augmentation.isNone || !options.shuffle
            ? nil : RandomStream(seed: seed, purpose: "augment/round \(round)/client \(client)")
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: indices)
        var lossSum = 0.0, correct = 0, samples = 0, steps = 0
        for _ in 0..<options.epochs {
            if options.shuffle {
                for i in stride(from: order.count - 1, to: 0, by: -1) {
                    order.swapAt(i, shuffle.nextInt(below: i + 1))
                }
            }
            for start in stride(from: 0, to: order.count, by: options.batchSize) {
                let n = min(options.batchSize, order.count - start)
                batchLog?.append(Array(order[start..<(start + n)]))
                workspace.withInput { input in
                    workspace.withLabels { labels in
                        assembler.assemble(data, indices: order[start..<(start + n)], into: input, labels: labels,
                                           random: &augmentation)
                    }
                }
                let step = model.computeGradients(workspace, parameters: parameters, gradients: gradients,
                                                  statistics: statistics, batchSize: n)
                rule.correct(gradients, parameters: parameters)
                options.optimizer.step(parameters: parameters, gradients: gradients, momentumBuffer: momentum,
                                       isFirstStep: steps == 0)
                lossSum += step.loss * Double(n)
                correct += step.correct
                samples += n
                steps += 1
            }
        }
        return LocalTrainingResult(loss: lossSum / Double(samples), accuracy: Double(correct) / Double(samples),
                                   samples: samples, correct: correct, steps: steps)
    }

    /// Accuracy of `parameters` (eval mode) on the samples `indices` of `data`: `score`'s.
    public func accuracy(parameters: Arena, statistics: Arena, data: Dataset, indices: [Int], assembler: BatchAssembler) -> Double {
        score(parameters: parameters, statistics: statistics, data: data, indices: indices, assembler: assembler).accuracy
    }

    /// Accuracy and mean cross-entropy of `parameters` (eval mode) on the samples `indices` of
    /// `data` (docs/semantics.md §9). The loss is the sum of the per-sample losses taken one sample
    /// at a time in `indices` order, divided by the count: the same bits as summing the per-sample
    /// losses `scoreSamples` writes in that order. Allocates nothing.
    public func score(parameters: Arena, statistics: Arena, data: Dataset, indices: [Int],
                      assembler: BatchAssembler) -> (accuracy: Double, loss: Double) {
        guard !indices.isEmpty else { return (0, 0) }
        var correct = 0, lossSum = 0.0
        var none: RandomStream? = nil
        for start in stride(from: 0, to: indices.count, by: options.batchSize) {
            let n = min(options.batchSize, indices.count - start)
            workspace.withInput { input in
                workspace.withLabels { labels in
                    assembler.assemble(data, indices: indices[start..<(start + n)], into: input, labels: labels, random: &none)
                }
            }
            // The parameters stay as they are over the batches: the first batch's forward transforms them
            // for the others.
            model.score(workspace, parameters: parameters, statistics: statistics, batchSize: n,
                        parametersUnchanged: start > 0, losses: batchLosses.base, correct: batchCorrect.base)
            for j in 0..<n {
                lossSum += batchLosses[j]
                correct += Int(batchCorrect[j])
            }
        }
        return (Double(correct) / Double(indices.count), lossSum / Double(indices.count))
    }

    /// Eval-mode scoring of the samples `indices` of `data`: `correct[j]` becomes 1 when sample
    /// `indices[j]` is classified right and 0 otherwise, `losses[j]` its cross-entropy.
    /// `parametersUnchanged`: this trainer's previous
    /// forward ran on these same parameters (the caller scores one model in several calls), so their
    /// transforms from then are reused (`Model.forward`); the batches after the first reuse them anyway.
    func scoreSamples(parameters: Arena, statistics: Arena, data: Dataset, indices: ArraySlice<Int>,
                      assembler: BatchAssembler, parametersUnchanged: Bool = false,
                      correct: UnsafeMutablePointer<UInt8>, losses: UnsafeMutablePointer<Double>) {
        var none: RandomStream? = nil
        var written = 0
        for start in stride(from: indices.startIndex, to: indices.endIndex, by: options.batchSize) {
            let n = min(options.batchSize, indices.endIndex - start)
            let batch = indices[start..<(start + n)]
            workspace.withInput { input in
                workspace.withLabels { labels in
                    assembler.assemble(data, indices: batch, into: input, labels: labels, random: &none)
                }
            }
            model.score(workspace, parameters: parameters, statistics: statistics, batchSize: n,
                        parametersUnchanged: parametersUnchanged || start > indices.startIndex,
                        losses: losses + written, correct: correct + written)
            written += n
        }
    }
}
