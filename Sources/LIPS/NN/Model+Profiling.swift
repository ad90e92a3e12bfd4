/// One layer at a time, for per-layer benchmarks (`Benchmarks/`): the same calls a training step
/// makes, on whatever the workspace holds.
extension Model {
    /// The top-level layers' names, in order (a BasicBlock is one layer, and so is a fused
    /// BatchNorm2d → ReLU pair, named after its BatchNorm).
    public var layerNames: [String] { layers.map { $0.summary.first?.name ?? "\(type(of: $0))" } }

    /// Train-mode forward of layer `index` only.
    public func forwardLayer(_ index: Int, _ workspace: Workspace, parameters: Arena, statistics: Arena, batchSize: Int) {
        precondition(layers.indices.contains(index), "Model \(name): no layer \(index)")
        layers[index].forward(io(index, workspace, parameters: parameters, gradients: nil, statistics: statistics,
                                 batchSize: batchSize, training: true))
    }

    /// Backward of layer `index` only (after its train-mode forward), with an input gradient
    /// unless it is the stem, as in a training step.
    public func backwardLayer(_ index: Int, _ workspace: Workspace, parameters: Arena, gradients: Arena, statistics: Arena,
                              batchSize: Int) {
        precondition(layers.indices.contains(index), "Model \(name): no layer \(index)")
        var layerIO = io(index, workspace, parameters: parameters, gradients: gradients, statistics: statistics,
                         batchSize: batchSize, training: true)
        layerIO.dOutput = workspace.arena.base + workspace.gradientOffsets.0
        layerIO.dInput = index == 0 ? nil : workspace.arena.base + workspace.gradientOffsets.1
        layers[index].backward(layerIO)
    }
}
