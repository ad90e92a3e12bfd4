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
    func scratchCount(batchSize: Int) -> Int { stride == 2 ? paddedPlaneWidth * (inputShape.height + 2 * padding) : 0 }

    func forward(_ io: LayerIO) {
        if stride == 2 {
            forwardStride2(io)
        } else {
            forwardReference(io)
        }
    }

    /// Row width of the −∞-bordered plane copy: room for the borders, and for every 16-float load
    /// of `forwardStride2` (the last chunk's may reach 16·chunks + kernel − 2).
    private var paddedPlaneWidth: Int {
        let chunks = (outputShape.width + FloatVector.scalarCount - 1) / FloatVector.scalarCount
        return max(inputShape.width + 2 * padding, 2 * FloatVector.scalarCount * chunks + kernel)
    }

    /// Every pooling layer of the models has stride 2: eight outputs of a row at a time, branch-free.
    /// Each plane is copied into scratch with −∞ borders (padding never wins, as in PyTorch), and
    /// the even half of 16 consecutive floats holds the window element of eight adjacent outputs.
    /// Per lane the update is the reference's, in the same window order, so results are identical.
    private func forwardStride2(_ io: LayerIO) {
        let h = inputShape.height, w = inputShape.width
        let ho = outputShape.height, wo = outputShape.width
        let pw = paddedPlaneWidth
        let padded = io.scratch
        fill(padded, -.infinity, count: pw * (h + 2 * padding))
        let laneOffsets = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        for plane in 0..<(inputShape.channels * io.batchSize) {
            let x = io.input + plane * h * w
            let y = io.output + plane * ho * wo
            let argmax = io.cache + plane * ho * wo
            for row in 0..<h { copy(x + row * w, to: padded + (row + padding) * pw + padding, count: w) }
            for oy in 0..<ho {
                let firstRow = max(0, 2 * oy - padding)
                for ox0 in Swift.stride(from: 0, to: wo, by: FloatVector.scalarCount) {
                    let columns = (laneOffsets &+ Int32(ox0)) &* 2   // 2·ox: window start before padding
                    var best = FloatVector(repeating: -.infinity)
                    var bestIndex = Int32(firstRow * w) &+ (columns &- Int32(padding)).replacing(with: 0, where: columns .< Int32(padding))
                    for ky in 0..<kernel {
                        let source = padded + (2 * oy + ky) * pw + 2 * ox0
                        let rowIndex = Int32((2 * oy + ky - padding) * w - padding)
                        for kx in 0..<kernel {
                            let value = UnsafeRawPointer(source + kx).loadUnaligned(as: SIMD16<Float>.self).evenHalf
                            let wins = (value .> best) .| (value .!= value)
                            best.replace(with: value, where: wins)
                            bestIndex.replace(with: rowIndex &+ Int32(kx) &+ columns, where: wins)
                        }
                    }
                    let lanes = min(FloatVector.scalarCount, wo - ox0)
                    for lane in 0..<lanes {
                        y[oy * wo + ox0 + lane] = best[lane]
                        argmax[oy * wo + ox0 + lane] = Float(bitPattern: UInt32(bitPattern: bestIndex[lane]))
                    }
                }
            }
        }
    }

    /// Any stride, one output at a time; also the reference the stride-2 path is tested against.
    func forwardReference(_ io: LayerIO) {
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
