// input (C, N, H, W), output (C, N, Ho, Wo); cache: the input index of each output's maximum
// (train mode).

/// Max pooling, square window, as PyTorch's `nn.MaxPool2d` (padding never wins; the first
/// maximum in row-major window order does, as in PyTorch's CPU kernel).
struct MaxPool2d: Layer {
    let name: String
    let inputShape: Shape
    let outputShape: Shape
    let kernel: Int
    let stride: Int
    let padding: Int
    /// Floats per row of a stride-2 phase plane, and per phase plane (see "Stride 2" below).
    private let phaseWidth: Int, phaseSize: Int

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
        // Every padded column, and every load of eight outputs (the last chunk's reaches
        // 8·chunks − 1 + (kernel − 1) / 2); rows: the input's and the padding above and below.
        let chunks = (outputShape.width + FloatVector.scalarCount - 1) / FloatVector.scalarCount
        phaseWidth = max(chunks * FloatVector.scalarCount + (kernel - 1) / 2, (input.width + 2 * padding + 1) / 2)
        phaseSize = (input.height + 2 * padding) * phaseWidth
    }

    /// One index per output value, stored as the bit pattern of a UInt32 in the float cache.
    func cacheCount(batchSize: Int) -> Int { outputShape.count * batchSize }
    func scratchCount(batchSize: Int) -> Int { stride == 2 ? 2 * phaseSize : 0 }

    func forward(_ io: LayerIO) {
        if stride == 2 {
            forwardStride2(io)
        } else {
            forwardReference(io)
        }
    }

    // MARK: - Stride 2

    // Every pooling layer of the models has stride 2. Each input plane is split by column parity
    // into two −∞-bordered phase planes (as im2col's `PhasePlanes`; padding never wins, as in
    // PyTorch): padded column 2·ox + kx is phase kx % 2, index ox + kx / 2, so the window elements
    // of eight adjacent outputs are eight consecutive floats, loaded without shuffles.

    /// Eight outputs of a row at a time, branch-free; per lane the update is the reference's, in the
    /// same window order, so maxima and indices are identical. The copy into the phase planes also
    /// tells whether the plane holds a NaN: without one, the update is cheaper (`OrderedUpdate`).
    /// Eval mode keeps no indices: only backward reads them, and it follows a train-mode forward.
    private func forwardStride2(_ io: LayerIO) {
        let phases = io.scratch
        // The borders stay −∞; every plane rewrites the same interiors.
        fill(phases, -.infinity, count: 2 * phaseSize)
        let planeIn = inputShape.spatial, planeOut = outputShape.spatial
        for plane in 0..<(inputShape.channels * io.batchSize) {
            let hasNaN = loadPhases(io.input + plane * planeIn, into: phases)
            let y = io.output + plane * planeOut, argmax = io.cache + plane * planeOut
            switch (io.training, hasNaN) {
            case (true, false): pool(phases, into: y, argmax: argmax, OrderedUpdate.self)
            case (true, true): pool(phases, into: y, argmax: argmax, NaNUpdate.self)
            case (false, false): pool(phases, into: y, argmax: argmax, ValueOnly<OrderedUpdate>.self)
            case (false, true): pool(phases, into: y, argmax: argmax, ValueOnly<NaNUpdate>.self)
            }
        }
    }

    /// One plane's outputs from its phase planes, and their indices if `Update` keeps them.
    private func pool<Update: MaximumUpdate>(_ phases: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                             argmax: UnsafeMutablePointer<Float>, _: Update.Type) {
        let wo = outputShape.width
        for oy in 0..<outputShape.height {
            for ox0 in Swift.stride(from: 0, to: wo, by: FloatVector.scalarCount) {
                // Constant kernels, for unrolled window loops.
                let (maxima, indices) = switch kernel {
                case 2: windowMaxima(phases, kernel: 2, oy: oy, ox0: ox0, Update.self)
                case 3: windowMaxima(phases, kernel: 3, oy: oy, ox0: ox0, Update.self)
                default: windowMaxima(phases, kernel: kernel, oy: oy, ox0: ox0, Update.self)
                }
                let lanes = min(FloatVector.scalarCount, wo - ox0)
                store(maxima, lanes: lanes, y + (oy * wo + ox0))
                if Update.keepsIndex {
                    store(unsafeBitCast(indices, to: FloatVector.self), lanes: lanes, argmax + (oy * wo + ox0))
                }
            }
        }
    }

    /// The maxima of the windows of outputs (oy, ox0 + 0…7) and the input index (within the plane)
    /// of each; lanes past the row's end are garbage. (Wrapping arithmetic: the sizes are far from
    /// overflowing, and the checks would weigh on this innermost scalar work.)
    @inline(__always)
    private func windowMaxima<Update: MaximumUpdate>(_ phases: UnsafePointer<Float>, kernel: Int, oy: Int, ox0: Int,
                                                     _: Update.Type) -> (FloatVector, SIMD8<Int32>) {
        let w = inputShape.width, pw = phaseWidth, odd = phaseSize
        // Padding rows are skipped (they never win); padding columns are −∞ in the phase planes.
        let top = 2 &* oy &- padding   // input row of the window's first row
        let firstKy = max(0, -top), endKy = min(kernel, inputShape.height &- top)
        let starts = (SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) &+ Int32(truncatingIfNeeded: ox0)) &* 2
            &- Int32(truncatingIfNeeded: padding)   // 2·ox − padding
        // max(0, start) by the sign bit: a compare of Int32 lanes compiles to a loop over the lanes.
        let firstColumns = starts & ~(starts &>> 31)
        // The window's first element starts the search, with the index of the first element inside
        // the input: where it is padding or −∞, nothing has won yet, as from −∞ in the reference.
        var row = phases + ((top &+ padding &+ firstKy) &* pw &+ ox0)
        let firstRowIndex = Int32(truncatingIfNeeded: (top &+ firstKy) &* w)
        var rowIndices = firstRowIndex &+ starts
        var best = loadVector(row)
        var bestIndex = firstRowIndex &+ firstColumns
        for kx in 1..<kernel {
            Update.update(&best, &bestIndex, with: loadVector(row + ((kx & 1) &* odd &+ kx >> 1)),
                          at: rowIndices &+ Int32(truncatingIfNeeded: kx))
        }
        for _ in (firstKy &+ 1)..<endKy {
            row += pw
            rowIndices &+= Int32(truncatingIfNeeded: w)
            for kx in 0..<kernel {
                Update.update(&best, &bestIndex, with: loadVector(row + ((kx & 1) &* odd &+ kx >> 1)),
                              at: rowIndices &+ Int32(truncatingIfNeeded: kx))
            }
        }
        return (best, bestIndex)
    }

    /// Copies one input plane into the interiors of the two phase planes: input column c is padded
    /// column c + padding, so the even columns go to one phase and the odd ones to the other.
    /// Returns whether the plane holds a NaN.
    private func loadPhases(_ x: UnsafePointer<Float>, into phases: UnsafeMutablePointer<Float>) -> Bool {
        let h = inputShape.height, w = inputShape.width, pw = phaseWidth
        let interior = phases + padding * pw
        let evens = interior + ((padding & 1) * phaseSize + padding >> 1)
        let odds = interior + (((padding + 1) & 1) * phaseSize + (padding + 1) >> 1)
        // Column pairs: eight at a time, then four (the 8-wide maps), then one column at a time.
        let pairs8 = (w >> 1) & ~7, pairs4 = (w >> 1) & ~3
        var nans = SIMDMask<SIMD16<Int32>>(repeating: false), nans4 = SIMDMask<SIMD8<Int32>>(repeating: false)
        var scalarNaN = false
        for row in 0..<h {
            let source = UnsafeRawPointer(x + row * w), target = row * pw
            for m in Swift.stride(from: 0, to: pairs8, by: 8) {
                let pairs = source.loadUnaligned(fromByteOffset: 8 * m, as: SIMD16<Float>.self)
                nans .|= pairs .!= pairs
                storeVector(pairs.evenHalf, evens + (target + m))
                storeVector(pairs.oddHalf, odds + (target + m))
            }
            if pairs4 > pairs8 {
                let pairs = source.loadUnaligned(fromByteOffset: 8 * pairs8, as: SIMD8<Float>.self)
                nans4 .|= pairs .!= pairs
                UnsafeMutableRawPointer(evens + (target + pairs8)).storeBytes(of: pairs.evenHalf, as: SIMD4<Float>.self)
                UnsafeMutableRawPointer(odds + (target + pairs8)).storeBytes(of: pairs.oddHalf, as: SIMD4<Float>.self)
            }
            for c in (2 * pairs4)..<w {
                let value = x[row * w + c]
                scalarNaN = scalarNaN || value != value
                (c & 1 == 0 ? evens : odds)[target + c >> 1] = value
            }
        }
        return scalarNaN || any(nans) || any(nans4)
    }

    /// The first `lanes` floats of `v` to `p`: a whole vector store where all eight are wanted.
    @inline(__always)
    private func store(_ v: FloatVector, lanes: Int, _ p: UnsafeMutablePointer<Float>) {
        if lanes == FloatVector.scalarCount {
            storeVector(v, p)
        } else if lanes == 4 {
            UnsafeMutableRawPointer(p).storeBytes(of: v.lowHalf, as: SIMD4<Float>.self)
        } else {
            withUnsafeBytes(of: v) { p.update(from: $0.assumingMemoryBound(to: Float.self).baseAddress!, count: lanes) }
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
        for plane in 0..<(inputShape.channels * io.batchSize) {
            let dx = dInput + plane * planeIn
            // Zeroed plane by plane, so that the scatter finds it in cache (same sums, same order).
            fill(dx, 0, count: planeIn)
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

// MARK: - Window updates

/// The reference's update of eight windows' running maxima by their next elements: the element
/// wins if it is greater, or NaN.
private protocol MaximumUpdate {
    /// Whether the winners' indices are kept (train mode, for backward).
    static var keepsIndex: Bool { get }
    static func update(_ best: inout FloatVector, _ bestIndex: inout SIMD8<Int32>, with value: FloatVector, at index: SIMD8<Int32>)
}

/// For a plane with a NaN: the reference's test as it stands.
private enum NaNUpdate: MaximumUpdate {
    static var keepsIndex: Bool { true }

    @inline(__always)
    static func update(_ best: inout FloatVector, _ bestIndex: inout SIMD8<Int32>, with value: FloatVector, at index: SIMD8<Int32>) {
        let wins = (value .> best) .| (value .!= value)
        best.replace(with: value, where: wins)
        bestIndex.replace(with: index, where: wins)
    }
}

/// For a plane without NaN, where the test is `value > best` alone. Written lane by lane, the new
/// maximum `value > best ? value : best` compiles to one MAXPS per four lanes (exactly its
/// semantics, a tie keeping `best`), where a vector select takes four instructions.
private enum OrderedUpdate: MaximumUpdate {
    static var keepsIndex: Bool { true }

    @inline(__always)
    static func update(_ best: inout FloatVector, _ bestIndex: inout SIMD8<Int32>, with value: FloatVector, at index: SIMD8<Int32>) {
        bestIndex.replace(with: index, where: value .> best)
        for lane in 0..<FloatVector.scalarCount {
            best[lane] = value[lane] > best[lane] ? value[lane] : best[lane]
        }
    }
}

/// Eval mode: the maxima only (the optimiser drops the unused index updates).
private enum ValueOnly<Base: MaximumUpdate>: MaximumUpdate {
    static var keepsIndex: Bool { false }

    @inline(__always)
    static func update(_ best: inout FloatVector, _ bestIndex: inout SIMD8<Int32>, with value: FloatVector, at index: SIMD8<Int32>) {
        var unused = bestIndex
        Base.update(&best, &unused, with: value, at: index)
    }
}
