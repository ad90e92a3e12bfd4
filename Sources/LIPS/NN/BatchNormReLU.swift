// input (C, N, H, W), output (C, N, H, W).

/// A BatchNorm2d and the ReLU right after it, run as one layer: the ReLU in BN's output pass, and
/// its mask in BN's backward passes (bitwise the two layers, one pass less each way). `Model` forms
/// these pairs from the layers it is given; the parts keep their names, parameters and summary rows.
struct BatchNormReLU: Layer {
    let batchNorm: BatchNorm2d
    let relu: ReLU

    init(_ batchNorm: BatchNorm2d, _ relu: ReLU) {
        precondition(batchNorm.outputShape == relu.inputShape,
                     "BatchNormReLU: \(batchNorm.name) gives \(batchNorm.outputShape), \(relu.name) takes \(relu.inputShape)")
        self.batchNorm = batchNorm
        self.relu = relu
    }

    var inputShape: Shape { batchNorm.inputShape }
    var outputShape: Shape { relu.outputShape }

    func cacheCount(batchSize: Int) -> Int { batchNorm.cacheCount(batchSize: batchSize) }
    func scratchCount(batchSize: Int) -> Int { batchNorm.scratchCount(batchSize: batchSize) }

    func forward(_ io: LayerIO) { batchNorm.forward(io, relu: true) }

    func backward(_ io: LayerIO) { batchNorm.backward(io, reluOutput: io.output) }

    var summary: [LayerSummary] { batchNorm.summary + relu.summary }

    /// `layers` with every BatchNorm2d that is directly followed by a ReLU fused with it.
    static func fusing(_ layers: [any Layer]) -> [any Layer] {
        var fused: [any Layer] = []
        var index = layers.startIndex
        while index < layers.endIndex {
            if let batchNorm = layers[index] as? BatchNorm2d, index + 1 < layers.endIndex,
               let relu = layers[index + 1] as? ReLU {
                fused.append(BatchNormReLU(batchNorm, relu))
                index += 2
            } else {
                fused.append(layers[index])
                index += 1
            }
        }
        return fused
    }
}
