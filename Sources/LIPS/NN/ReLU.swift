// input (C, M), output (C, M).

/// Rectified linear unit, `max(0, x)`; backward uses the output (gradient 0 at 0, as PyTorch).
struct ReLU: Layer {
    let name: String
    let inputShape: Shape
    var outputShape: Shape { inputShape }

    func cacheCount(batchSize: Int) -> Int { 0 }
    func scratchCount(batchSize: Int) -> Int { 0 }

    func forward(_ io: LayerIO) {
        reluForward(io.input, io.output, count: inputShape.count * io.batchSize)
    }

    func backward(_ io: LayerIO) {
        guard let dInput = io.dInput else { return }
        reluBackward(output: io.output, io.dOutput, dInput, count: inputShape.count * io.batchSize)
    }

    var summary: [LayerSummary] {
        [LayerSummary(name: name, type: "ReLU", outputShape: outputShape, parameters: 0, multiplyAdds: 0)]
    }
}
