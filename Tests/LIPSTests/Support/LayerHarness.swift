@testable import LIPS

/// Runs one layer outside a model: owns its arenas and buffers, all channel-major.
final class LayerHarness {
    let layer: any Layer
    let batchSize: Int
    let parameters: Arena
    let gradients: Arena
    let statistics: Arena
    let input: Arena
    let output: Arena
    let dOutput: Arena
    let dInput: Arena
    let cache: Arena
    let scratch: Arena

    init(_ layer: any Layer, planner: ParameterPlanner, batchSize: Int) {
        self.layer = layer
        self.batchSize = batchSize
        parameters = Arena(count: planner.parameters.count)
        gradients = Arena(count: planner.parameters.count)
        statistics = Arena(count: planner.statistics.count)
        input = Arena(count: layer.inputShape.count * batchSize)
        output = Arena(count: layer.outputShape.count * batchSize)
        dOutput = Arena(count: layer.outputShape.count * batchSize)
        dInput = Arena(count: layer.inputShape.count * batchSize)
        cache = Arena(count: max(1, layer.cacheCount(batchSize: batchSize)))
        scratch = Arena(count: max(1, layer.scratchCount(batchSize: batchSize)))
    }

    private func io(training: Bool) -> LayerIO {
        LayerIO(input: input.base, output: output.base, dOutput: dOutput.base, dInput: dInput.base, cache: cache.base,
                scratch: scratch.base, params: parameters.base, grads: gradients.base, statistics: statistics.base,
                batchSize: batchSize, training: training)
    }

    func forward(training: Bool = true) {
        layer.forward(io(training: training))
    }

    /// Backward after a forward; parameter gradients accumulate into `gradients`.
    func backward() {
        layer.backward(io(training: true))
    }
}

/// PyTorch's NCHW layout to the engine's channel-major (C, N, H, W).
func nchwToChannelMajor(_ x: [Float], n: Int, c: Int, spatial: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for sample in 0..<n {
        for channel in 0..<c {
            for p in 0..<spatial { out[(channel * n + sample) * spatial + p] = x[(sample * c + channel) * spatial + p] }
        }
    }
    return out
}

/// The engine's channel-major (C, N, H, W) back to NCHW.
func channelMajorToNCHW(_ x: [Float], n: Int, c: Int, spatial: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for sample in 0..<n {
        for channel in 0..<c {
            for p in 0..<spatial { out[(sample * c + channel) * spatial + p] = x[(channel * n + sample) * spatial + p] }
        }
    }
    return out
}
