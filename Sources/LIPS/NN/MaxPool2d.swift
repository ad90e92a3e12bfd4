// input (C, N, H, W), output (C, N, Ho, Wo); cache: the input index of each output's maximum.

/// Max pooling, square window, as PyTorch's `nn.MaxPool2d` (padding never wins; the first
/// maximum in row-major window order does, as in PyTorch's CPU kernel).
struct MaxPool2d: Layer {
    let name: String
    let inputShape: Shape
    let outputShape: Shape
    let kernel: Int
    let stride: Int
    let padding: Int

    init(_ name: String, input: Shape, kernel: Int, stride: Int, padding: Int = 0) {
        precondition(padding * 2 <= kernel, "MaxPool2d \(name): padding \(padding) exceeds half the kernel \(kernel)")
        self.name = name
        self.inputShape = input
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        outputShape = Shape(channels: input.channels,
                            height: convolutionOutputSize(input.height, kernel: kernel, stride: stride, padding: padding),
                            width: convolutionOutputSize(input.width, kernel: kernel, stride: stride, padding: padding))
        precondition(outputShape.height >= 1 && outputShape.width >= 1, "MaxPool2d \(name): input \(input) too small")
    }

    /// One index per output value, stored as the bit pattern of a UInt32 in the float cache.
    func cacheCount(batchSize: Int) -> Int { outputShape.count * batchSize }
    func scratchCount(batchSize: Int) -> Int { 0 }

    func forward(_ io: LayerIO) {
        let h = inputShape.height, w = inputShape.width
        let ho = outputShape.height, wo = outputShape.width
        for plane in 0..<(inputShape.channels * io.batchSize) {
            let x = io.input + plane * h * w
            let y = io.output + plane * ho * wo
            let argmax = io.cache + plane * ho * wo
            for oy in 0..<ho {
                let y0 = max(0, oy * stride - padding), y1 = min(h, oy * stride - padding + kernel)
                for ox in 0..<wo {
                    let x0 = max(0, ox * stride - padding), x1 = min(w, ox * stride - padding + kernel)
                    var best = -Float.infinity
                    var bestIndex = y0 * w + x0
                    // Selects, not branches: which element wins is data-dependent and unpredictable.
                    for iy in y0..<y1 {
                        for i in (iy * w + x0)..<(iy * w + x1) {
                            let value = x[i]
                            let wins = value > best || value != value
                            best = wins ? value : best
                            bestIndex = wins ? i : bestIndex
                        }
                    }
                    y[oy * wo + ox] = best
                    argmax[oy * wo + ox] = Float(bitPattern: UInt32(bestIndex))
                }
            }
        }
    }

    func backward(_ io: LayerIO) {
        guard let dInput = io.dInput else { return }
        let planeIn = inputShape.spatial, planeOut = outputShape.spatial
        fill(dInput, 0, count: inputShape.count * io.batchSize)
        for plane in 0..<(inputShape.channels * io.batchSize) {
            let dx = dInput + plane * planeIn
            let dy = io.dOutput + plane * planeOut
            let argmax = io.cache + plane * planeOut
            for o in 0..<planeOut {
                dx[Int(argmax[o].bitPattern)] += dy[o]
            }
        }
    }

    var summary: [LayerSummary] {
        [LayerSummary(name: name, type: "MaxPool2d(\(kernel)/\(stride))", outputShape: outputShape, parameters: 0, multiplyAdds: 0)]
    }
}
