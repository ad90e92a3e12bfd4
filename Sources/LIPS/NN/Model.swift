/// How a model's linear classifier is initialised (docs/semantics.md §3).
public enum LinearInitialization: Sendable {
    /// PyTorch's default: uniform ±1/√fan_in for weight and bias (ResNet, CNN).
    case pytorchDefault
    /// normal(0, std) weight, zero bias (VGG: std 0.01).
    case normal(standardDeviation: Double)
}

/// A network: an immutable list of layers with their parameter and BN-statistics layouts.
///
/// The description is shared by every worker; memory lives in arenas (parameters, gradients,
/// momentum with `parameterLayout`; running statistics with `statisticsLayout`) and in one
/// `Workspace` per worker.
public final class Model: Sendable {
    /// Architecture name, e.g. "resnet8".
    public let name: String
    public let inputShape: Shape
    public let classes: Int
    /// The layers as run: the builders' list with BatchNorm2d → ReLU pairs fused.
    let layers: [any Layer]
    public let parameterLayout: ParameterLayout
    public let statisticsLayout: ParameterLayout
    let linearInitialization: LinearInitialization

    /// `layers` as the builders describe them (PyTorch's modules); a BatchNorm2d directly followed
    /// by a ReLU runs as one `BatchNormReLU` unless `fuseBatchNormReLU` is false (tests compare both).
    init(name: String, inputShape: Shape, layers: [any Layer], planner: ParameterPlanner,
         linearInitialization: LinearInitialization, fuseBatchNormReLU: Bool = true) {
        precondition(!layers.isEmpty && layers[0].inputShape == inputShape, "Model \(name): first layer does not take \(inputShape)")
        for (previous, next) in zip(layers, layers.dropFirst()) {
            precondition(previous.outputShape == next.inputShape,
                         "Model \(name): \(previous.outputShape) feeds a layer taking \(next.inputShape)")
        }
        let last = layers[layers.count - 1].outputShape
        precondition(last.spatial == 1, "Model \(name): output \(last) is not a vector of logits")
        self.name = name
        self.inputShape = inputShape
        self.classes = last.channels
        self.layers = fuseBatchNormReLU ? BatchNormReLU.fusing(layers) : layers
        self.parameterLayout = planner.parameters
        self.statisticsLayout = planner.statistics
        self.linearInitialization = linearInitialization
    }

    /// Per-layer rows (name, type, output shape, parameters, multiply-adds per sample).
    public var summary: [LayerSummary] { layers.flatMap(\.summary) }

    /// Forward multiply-adds per sample (convolutions and linear layers).
    public var multiplyAddsPerSample: Int { summary.reduce(0) { $0 + $1.multiplyAdds } }

    /// Multiply-adds of one training sample: forward, input gradient and weight gradient (3× the
    /// forward), less the stem's input gradient, which is never computed.
    public var trainingMultiplyAddsPerSample: Int {
        3 * multiplyAddsPerSample - (summary.first?.multiplyAdds ?? 0)
    }

    // MARK: - Memory

    /// New zeroed arenas for parameters (also gradients and momentum) and for BN statistics.
    public func makeParameters() -> Arena { Arena(count: parameterLayout.count) }
    public func makeStatistics() -> Arena { Arena(count: statisticsLayout.count) }

    /// A workspace for batches of up to `batchSize` samples.
    public func makeWorkspace(batchSize: Int) -> Workspace {
        precondition(batchSize >= 1, "Model.makeWorkspace: batch size \(batchSize) < 1")
        var activations = [inputShape.count * batchSize]
        activations += layers.map { $0.outputShape.count * batchSize }
        let largest = activations.max()!
        return Workspace(capacity: batchSize, activationCounts: activations,
                         cacheCounts: layers.map { $0.cacheCount(batchSize: batchSize) },
                         gradientCount: largest,
                         scratchCount: layers.map { $0.scratchCount(batchSize: batchSize) }.max()!)
    }

    // MARK: - Initialisation

    /// The initialisation of docs/semantics.md §3: conv weights Kaiming-normal (fan_out, ReLU gain), conv biases 0,
    /// BN weight 1 and bias 0, running mean 0 and variance 1, linear per `linearInitialization`.
    /// Every tensor draws from its own stream ("init/<name>"), so adding a layer changes no other.
    public func initialize(parameters: Arena, statistics: Arena, seed: UInt64) {
        precondition(parameters.count == parameterLayout.count && statistics.count == statisticsLayout.count,
                     "Model.initialize: arenas do not match the layouts")
        for entry in parameterLayout.entries {
            var random = RandomStream(seed: seed, purpose: "init/\(entry.name)")
            let values = parameters.pointer(to: entry)
            switch entry.kind {
            case .convWeight:
                let fanOut = entry.shape[0] * entry.shape[2] * entry.shape[3]
                let std = (2.0 / Double(fanOut)).squareRoot()
                for i in 0..<entry.count { values[i] = Float(random.nextNormal() * std) }
            case .batchNormWeight:
                fill(values, 1, count: entry.count)
            case .convBias, .batchNormBias, .runningMean, .runningVariance:
                fill(values, 0, count: entry.count)
            case .linearWeight, .linearBias:
                switch linearInitialization {
                case .pytorchDefault:
                    // The bias shares its weight's fan-in: "<layer>.bias" → "<layer>.weight".
                    let layerName = entry.name.hasSuffix(".bias") ? String(entry.name.dropLast(5)) : String(entry.name.dropLast(7))
                    guard let weight = parameterLayout.entry(named: layerName + ".weight") else {
                        preconditionFailure("Model \(name): no weight for \(entry.name)")
                    }
                    let fanIn = weight.shape[1]
                    let bound = 1 / Double(fanIn).squareRoot()
                    for i in 0..<entry.count { values[i] = Float((2 * random.nextUniform() - 1) * bound) }
                case .normal(let std):
                    if entry.kind == .linearWeight {
                        for i in 0..<entry.count { values[i] = Float(random.nextNormal() * std) }
                    } else {
                        fill(values, 0, count: entry.count)
                    }
                }
            }
        }
        for entry in statisticsLayout.entries {
            fill(statistics.pointer(to: entry), entry.kind == .runningVariance ? 1 : 0, count: entry.count)
        }
    }

    // MARK: - Forward and backward

    /// The IO of layer `index` in `workspace` for `batchSize` samples.
    func io(_ index: Int, _ workspace: Workspace, parameters: Arena, gradients: Arena?, statistics: Arena,
                    batchSize: Int, training: Bool) -> LayerIO {
        let base = workspace.arena.base
        return LayerIO(
            input: base + workspace.activationOffsets[index],
            output: base + workspace.activationOffsets[index + 1],
            dOutput: base + workspace.gradientOffsets.0,
            dInput: nil,
            cache: base + workspace.cacheOffsets[index],
            scratch: base + workspace.scratchOffset,
            params: parameters.base,
            grads: (gradients ?? parameters).base,
            statistics: statistics.base,
            batchSize: batchSize,
            training: training)
    }

    private func checkArenas(_ parameters: Arena, _ statistics: Arena, _ workspace: Workspace, _ batchSize: Int) {
        precondition(parameters.count == parameterLayout.count, "Model \(name): parameter arena has \(parameters.count) floats, layout \(parameterLayout.count)")
        precondition(statistics.count == statisticsLayout.count, "Model \(name): statistics arena has \(statistics.count) floats, layout \(statisticsLayout.count)")
        precondition(batchSize >= 1 && batchSize <= workspace.capacity, "Model \(name): batch \(batchSize) outside 1...\(workspace.capacity)")
    }

    /// Runs the layers on the workspace's input; the logits are then in `workspace.withLogits`.
    /// Train mode uses batch statistics and updates `statistics`; eval mode reads them.
    /// `parametersUnchanged`: `parameters` hold what they held at the previous forward on this workspace
    /// (the same model scored batch after batch), so the layers reuse what they derived from them then
    /// (`LayerIO.parametersUnchanged`); the results are the same bits either way.
    public func forward(_ workspace: Workspace, parameters: Arena, statistics: Arena, batchSize: Int, training: Bool,
                        parametersUnchanged: Bool = false) {
        checkArenas(parameters, statistics, workspace, batchSize)
        for index in layers.indices {
            var layerIO = io(index, workspace, parameters: parameters, gradients: nil, statistics: statistics,
                             batchSize: batchSize, training: training)
            layerIO.parametersUnchanged = parametersUnchanged
            layers[index].forward(layerIO)
        }
    }

    /// Mean cross-entropy of the last forward's logits against the workspace's labels; writes the
    /// logits' gradient into the first gradient buffer when `gradient` is true.
    func loss(_ workspace: Workspace, batchSize: Int, gradient: Bool) -> (loss: Double, correct: Int) {
        let base = workspace.arena.base
        return softmaxCrossEntropy(logits: base + workspace.activationOffsets[layers.count], labels: workspace.labels.base,
                                   classes: classes, batchSize: batchSize,
                                   dLogits: gradient ? base + workspace.gradientOffsets.0 : nil)
    }

    /// Back-propagates the gradient buffer through every layer, adding parameter gradients into
    /// `gradients`. The stem gets no input gradient.
    func backward(_ workspace: Workspace, parameters: Arena, gradients: Arena, statistics: Arena, batchSize: Int) {
        precondition(gradients.count == parameterLayout.count, "Model \(name): gradient arena does not match")
        let base = workspace.arena.base
        var dOutput = base + workspace.gradientOffsets.0
        var dInput = base + workspace.gradientOffsets.1
        for index in layers.indices.reversed() {
            var layerIO = io(index, workspace, parameters: parameters, gradients: gradients, statistics: statistics,
                             batchSize: batchSize, training: true)
            layerIO.dOutput = dOutput
            layerIO.dInput = index == 0 ? nil : dInput
            layers[index].backward(layerIO)
            swap(&dOutput, &dInput)
        }
    }

    /// One forward and backward in train mode on the workspace's input and labels: zeroes
    /// `gradients`, then fills it with the mean loss's gradient. Returns the loss and correct count.
    @discardableResult
    public func computeGradients(_ workspace: Workspace, parameters: Arena, gradients: Arena, statistics: Arena,
                                 batchSize: Int) -> (loss: Double, correct: Int) {
        forward(workspace, parameters: parameters, statistics: statistics, batchSize: batchSize, training: true)
        let result = loss(workspace, batchSize: batchSize, gradient: true)
        gradients.fill(0)
        backward(workspace, parameters: parameters, gradients: gradients, statistics: statistics, batchSize: batchSize)
        return result
    }

    /// Eval-mode forward and the number of correct predictions on the workspace's batch.
    /// `parametersUnchanged` as for `forward`.
    public func evaluate(_ workspace: Workspace, parameters: Arena, statistics: Arena, batchSize: Int,
                         parametersUnchanged: Bool = false) -> Int {
        forward(workspace, parameters: parameters, statistics: statistics, batchSize: batchSize, training: false,
                parametersUnchanged: parametersUnchanged)
        let base = workspace.arena.base
        return countCorrect(logits: base + workspace.activationOffsets[layers.count], labels: workspace.labels.base,
                            classes: classes, batchSize: batchSize)
    }

    /// Eval-mode forward; writes each sample's cross-entropy into `losses` and 1 (right) or 0 (wrong)
    /// into `correct` (batchSize entries each; `sampleCrossEntropy`). `parametersUnchanged` as for `forward`.
    func score(_ workspace: Workspace, parameters: Arena, statistics: Arena, batchSize: Int, parametersUnchanged: Bool = false,
               losses: UnsafeMutablePointer<Double>, correct: UnsafeMutablePointer<UInt8>) {
        forward(workspace, parameters: parameters, statistics: statistics, batchSize: batchSize, training: false,
                parametersUnchanged: parametersUnchanged)
        let base = workspace.arena.base
        sampleCrossEntropy(logits: base + workspace.activationOffsets[layers.count], labels: workspace.labels.base,
                           classes: classes, batchSize: batchSize, losses: losses, correct: correct)
    }
}
