// input (C, N, H·W), output (C·H·W, N): each sample's features in PyTorch's `flatten(1)` order.

/// Turns a channel-major feature map into one feature column per sample (VGG on inputs larger
/// than 32×32, whose last feature map is more than 1×1).
struct Flatten: Layer {
    let name: String
    let inputShape: Shape
    var outputShape: Shape { Shape(channels: inputShape.count, height: 1, width: 1) }

    func cacheCount(batchSize: Int) -> Int { 0 }
    func scratchCount(batchSize: Int) -> Int { 0 }

    func forward(_ io: LayerIO) {
        let n = io.batchSize, s = inputShape.spatial
        for c in 0..<inputShape.channels {
            for sample in 0..<n {
                for p in 0..<s { io.output[(c * s + p) * n + sample] = io.input[(c * n + sample) * s + p] }
            }
        }
    }

    func backward(_ io: LayerIO) {
        guard let dInput = io.dInput else { return }
        let n = io.batchSize, s = inputShape.spatial
        for c in 0..<inputShape.channels {
            for sample in 0..<n {
                for p in 0..<s { dInput[(c * n + sample) * s + p] = io.dOutput[(c * s + p) * n + sample] }
            }
        }
    }

    var summary: [LayerSummary] {
        [LayerSummary(name: name, type: "Flatten", outputShape: outputShape, parameters: 0, multiplyAdds: 0)]
    }
}
