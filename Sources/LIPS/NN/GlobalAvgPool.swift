// input (C, N, H·W), output (C, N).

/// Global average pooling to one value per channel, as `F.adaptive_avg_pool2d(x, 1).flatten(1)`.
struct GlobalAvgPool: Layer {
    let name: String
    let inputShape: Shape
    var outputShape: Shape { Shape(channels: inputShape.channels, height: 1, width: 1) }

    func cacheCount(batchSize: Int) -> Int { 0 }
    func scratchCount(batchSize: Int) -> Int { 0 }

    func forward(_ io: LayerIO) {
        let s = inputShape.spatial
        let inverse = 1 / Float(s)
        for i in 0..<(inputShape.channels * io.batchSize) {
            io.output[i] = Float(sum(io.input + i * s, count: s)) * inverse
        }
    }

    func backward(_ io: LayerIO) {
        guard let dInput = io.dInput else { return }
        let s = inputShape.spatial
        let inverse = 1 / Float(s)
        for i in 0..<(inputShape.channels * io.batchSize) {
            fill(dInput + i * s, io.dOutput[i] * inverse, count: s)
        }
    }

    var summary: [LayerSummary] {
        [LayerSummary(name: name, type: "GlobalAvgPool", outputShape: outputShape, parameters: 0, multiplyAdds: 0)]
    }
}
