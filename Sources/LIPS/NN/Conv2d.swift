// input (Cin, N·H·W), weight (Cout, Cin·K·K), col (Cin·K·K, N·Ho·Wo), output (Cout, N·Ho·Wo).

/// 2-D convolution, square kernel, as PyTorch's `nn.Conv2d` (groups 1, dilation 1).
/// Forward is im2col into scratch then a GEMM, chunk of samples by chunk; a 1×1 stride-1 unpadded conv uses its input as col,
/// and a 3×3 stride-1 padding-1 conv goes through Winograd F(2×2, 3×3) when `isWinograd` (Kernels/WinogradConv.swift).
struct Conv2d: Layer {
    let name: String
    let inputShape: Shape
    let outputShape: Shape
    let kernel: Int
    let stride: Int
    let padding: Int
    let weightOffset: Int
    /// Offset of the bias, or nil for a conv without bias.
    let biasOffset: Int?

    init(_ name: String, input: Shape, outputChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
         bias: Bool, planner: inout ParameterPlanner) {
        precondition(kernel >= 1 && stride >= 1 && padding >= 0, "Conv2d \(name): bad geometry k=\(kernel) s=\(stride) p=\(padding)")
        self.name = name
        self.inputShape = input
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        let ho = convolutionOutputSize(input.height, kernel: kernel, stride: stride, padding: padding)
        let wo = convolutionOutputSize(input.width, kernel: kernel, stride: stride, padding: padding)
        precondition(ho >= 1 && wo >= 1, "Conv2d \(name): input \(input) too small for kernel \(kernel)")
        outputShape = Shape(channels: outputChannels, height: ho, width: wo)
        weightOffset = planner.claimConvWeight("\(name).weight", shape: [outputChannels, input.channels, kernel, kernel])
        biasOffset = bias ? planner.claim("\(name).bias", shape: [outputChannels], kind: .convBias) : nil
    }

    /// Whether the input itself is the col matrix (1×1 kernel, stride 1, no padding).
    private var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    private var colRows: Int { inputShape.channels * kernel * kernel }
    /// Whether forward and backward take the Winograd F(2×2, 3×3) path: 3×3, stride 1, padding 1, at
    /// least 4 input channels (with fewer, the transforms cost as much as the multiplies they save) and
    /// at least 2×2 pixels (at 1×1 a tile does 16 products for 1 output against im2col's 9).
    var isWinograd: Bool {
        kernel == 3 && stride == 1 && padding == 1 && inputShape.channels >= 4 && inputShape.height >= 2 && inputShape.width >= 2
    }

    private func winograd(batchSize: Int) -> WinogradGeometry {
        WinogradGeometry(inputChannels: inputShape.channels, outputChannels: outputShape.channels, batch: batchSize,
                         height: inputShape.height, width: inputShape.width)
    }

    /// Winograd keeps U, the transformed weights, from forward for backward (and for the next forward
    /// when the parameters are unchanged, `LayerIO.parametersUnchanged`). Its size does not depend on the
    /// batch, so it stays valid across batch sizes.
    func cacheCount(batchSize: Int) -> Int {
        isWinograd ? winograd(batchSize: batchSize).filterCount : 0
    }

    func scratchCount(batchSize: Int) -> Int {
        if isWinograd { return winograd(batchSize: batchSize).scratchCount }
        return isPointwise ? 0 : colRows * samplesPerChunk(batchSize: batchSize) * outputShape.spatial + planeCount
    }

    /// The im2col path goes through the batch in chunks whose col matrix stays in a core's L2
    /// (`chunkFloats`) while the GEMM reads it: unchunked, the stem's col (15 MB at batch 100, many
    /// times a core's L2) would go to memory and back twice a step, written by im2col and read again
    /// by OpenBLAS's packing.
    /// A chunk keeps at least `minimumChunkColumns` columns so the GEMMs stay wide.
    static let chunkFloats = 1 << 17
    static let minimumChunkColumns = 512

    /// Samples per chunk, balanced so that the last chunk is not a sliver (pointwise: the whole
    /// batch, whose col is the input itself).
    func samplesPerChunk(batchSize: Int) -> Int {
        if isPointwise { return batchSize }
        let rowFloats = colRows * outputShape.spatial
        let byCache = Conv2d.chunkFloats / max(1, rowFloats)
        let byWidth = (Conv2d.minimumChunkColumns + outputShape.spatial - 1) / outputShape.spatial
        let most = min(batchSize, max(1, byCache, byWidth))
        let chunks = (batchSize + most - 1) / most
        return (batchSize + chunks - 1) / chunks
    }

    /// im2col's phase planes, after the col matrix in scratch.
    private var planeCount: Int {
        im2colPlaneCount(height: inputShape.height, width: inputShape.width, kernel: kernel, stride: stride, padding: padding)
    }

    /// The chunks of samples of a batch, in order (lazily: no array per step).
    private func chunks(_ batchSize: Int) -> LazyMapSequence<StrideTo<Int>, Range<Int>> {
        let size = samplesPerChunk(batchSize: batchSize)
        return Swift.stride(from: 0, to: batchSize, by: size).lazy.map { $0..<min(batchSize, $0 + size) }
    }

    /// The col matrix of `samples` (colRows × samples·Ho·Wo): the input itself when pointwise (one
    /// chunk, the whole batch), else im2col into scratch, followed there by the phase planes.
    private func columns(_ io: LayerIO, samples: Range<Int>) -> UnsafeMutablePointer<Float> {
        if isPointwise { return io.input }
        im2col(io.input, channels: inputShape.channels, batch: io.batchSize, height: inputShape.height, width: inputShape.width,
               kernel: kernel, stride: stride, padding: padding, samples: samples,
               plane: io.scratch + colRows * samples.count * outputShape.spatial, into: io.scratch)
        return io.scratch
    }

    func forward(_ io: LayerIO) {
        if isWinograd {
            let g = winograd(batchSize: io.batchSize)
            if !io.parametersUnchanged { winogradFilterTransform(io.params + weightOffset, g, into: io.cache) }
            winogradConvolution(io.input, filters: io.cache, bias: biasOffset.map { UnsafePointer(io.params + $0) }, g,
                                scratch: io.scratch, into: io.output)
            return
        }
        let columnCount = io.batchSize * outputShape.spatial
        // Output columns of a chunk: a block of every output row, ldc the whole batch.
        for samples in chunks(io.batchSize) {
            let col = columns(io, samples: samples), width = samples.count * outputShape.spatial
            gemm(.noTranspose, .noTranspose, m: outputShape.channels, n: width, k: colRows,
                 a: io.params + weightOffset, lda: colRows, b: col, ldb: width,
                 beta: 0, c: io.output + samples.lowerBound * outputShape.spatial, ldc: columnCount)
        }
        if let biasOffset {
            for channel in 0..<outputShape.channels {
                let b = io.params[biasOffset + channel]
                let row = io.output + channel * columnCount
                for i in 0..<columnCount { row[i] += b }
            }
        }
    }

    func backward(_ io: LayerIO) {
        let columnCount = io.batchSize * outputShape.spatial
        if let biasOffset {
            for channel in 0..<outputShape.channels {
                io.grads[biasOffset + channel] += Float(sum(io.dOutput + channel * columnCount, count: columnCount))
            }
        }
        if isWinograd {
            winogradConvolutionBackward(io.input, filters: io.cache, dOutput: io.dOutput, winograd(batchSize: io.batchSize),
                                        scratch: io.scratch, dWeight: io.grads + weightOffset, dInput: io.dInput)
            return
        }
        if !isPointwise, let dInput = io.dInput { fill(dInput, 0, count: inputShape.count * io.batchSize) }
        for samples in chunks(io.batchSize) {
            let width = samples.count * outputShape.spatial
            let dOutput = io.dOutput + samples.lowerBound * outputShape.spatial
            // dWeight += dOutput · colᵀ (col recomputed: cheaper in memory than keeping it).
            let col = columns(io, samples: samples)
            gemm(.noTranspose, .transpose, m: outputShape.channels, n: colRows, k: width,
                 a: dOutput, lda: columnCount, b: col, ldb: width,
                 beta: 1, c: io.grads + weightOffset, ldc: colRows)
            guard let dInput = io.dInput else { continue }
            // dCol = Weightᵀ · dOutput (pointwise: dInput itself; else in col's place, then folded back
            // onto the input positions).
            let dCol = isPointwise ? dInput : col
            gemm(.transpose, .noTranspose, m: colRows, n: width, k: outputShape.channels,
                 a: io.params + weightOffset, lda: colRows, b: dOutput, ldb: columnCount,
                 beta: 0, c: dCol, ldc: width)
            if isPointwise { continue }
            col2imAdd(col, channels: inputShape.channels, batch: io.batchSize, height: inputShape.height,
                      width: inputShape.width, kernel: kernel, stride: stride, padding: padding, samples: samples,
                      plane: io.scratch + colRows * width, into: dInput)
        }
    }

    var summary: [LayerSummary] {
        let parameters = outputShape.channels * colRows + (biasOffset == nil ? 0 : outputShape.channels)
        return [LayerSummary(name: name, type: "Conv2d(\(kernel)x\(kernel)/\(stride))", outputShape: outputShape,
                             parameters: parameters, multiplyAdds: outputShape.count * colRows)]
    }
}
