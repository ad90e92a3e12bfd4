import Foundation
import Testing
@testable import LIPS

/// Winograd F(2×2, 3×3) (3×3, stride 1, padding 1) against im2col + a Double GEMM (`gemmReference`):
/// forward with and without bias, weight gradient (accumulated), input gradient (overwritten) and
/// `dInput` nil, first through the kernels (any channels, the batch forced into ragged chunks), then
/// through `Conv2d`. Scratch is followed by a guard band that must survive.
@Suite struct WinogradTests {
    struct Case: CustomStringConvertible, Sendable {
        var inputChannels: Int, outputChannels: Int, batch: Int, height: Int, width: Int, bias: Bool
        /// Forced samples per chunk, or nil for the geometry's own choice.
        var chunk: Int? = nil
        var description: String {
            "Cin\(inputChannels) Cout\(outputChannels) N\(batch) \(height)x\(width)\(bias ? " bias" : "")"
                + (chunk.map { " chunk \($0)" } ?? "")
        }
    }

    static let kernelCases: [Case] = [
        Case(inputChannels: 3, outputChannels: 4, batch: 1, height: 5, width: 7, bias: false),
        Case(inputChannels: 2, outputChannels: 5, batch: 3, height: 5, width: 7, bias: true),
        Case(inputChannels: 2, outputChannels: 5, batch: 3, height: 5, width: 7, bias: true, chunk: 2),
        Case(inputChannels: 4, outputChannels: 3, batch: 3, height: 8, width: 8, bias: true, chunk: 1),
        Case(inputChannels: 6, outputChannels: 6, batch: 2, height: 4, width: 4, bias: false),
        Case(inputChannels: 5, outputChannels: 7, batch: 5, height: 2, width: 2, bias: true, chunk: 3),
        Case(inputChannels: 3, outputChannels: 2, batch: 2, height: 1, width: 1, bias: false),
        Case(inputChannels: 2, outputChannels: 3, batch: 1, height: 1, width: 6, bias: true),
        Case(inputChannels: 4, outputChannels: 2, batch: 4, height: 7, width: 3, bias: false, chunk: 3),
        Case(inputChannels: 1, outputChannels: 1, batch: 3, height: 9, width: 10, bias: true),
        Case(inputChannels: 16, outputChannels: 8, batch: 2, height: 6, width: 5, bias: false),
    ]

    /// Shapes `Conv2d` sends down the Winograd path (≥ 4 input channels, ≥ 2×2).
    static let layerCases: [Case] = [
        Case(inputChannels: 4, outputChannels: 6, batch: 1, height: 5, width: 7, bias: true),
        Case(inputChannels: 8, outputChannels: 5, batch: 3, height: 5, width: 7, bias: false),
        Case(inputChannels: 16, outputChannels: 16, batch: 3, height: 8, width: 8, bias: true),
        Case(inputChannels: 12, outputChannels: 20, batch: 2, height: 2, width: 3, bias: false),
        // Enough tiles for several chunks, the last one short (per-sample V + M = 16·48·64 floats).
        Case(inputChannels: 24, outputChannels: 24, batch: 11, height: 16, width: 15, bias: true),
    ]

    static let guardBand = 64
    static let sentinel: Float = 12345.5

    /// Values from a named stream, ~ N(0, scale²).
    static func normal(_ count: Int, _ purpose: String, scale: Double = 1) -> [Float] {
        var stream = RandomStream(seed: 3, purpose: purpose)
        return (0..<count).map { _ in Float(stream.nextNormal() * scale) }
    }

    /// max |got − want| / max |want|, infinite when `got` holds a non-finite value.
    static func relativeError(_ got: [Float], _ want: [Float]) -> Double {
        precondition(got.count == want.count)
        var difference = 0.0, largest = 0.0
        for i in got.indices {
            difference = max(difference, abs(Double(got[i]) - Double(want[i])))
            largest = max(largest, abs(Double(want[i])))
        }
        return got.contains { !$0.isFinite } ? .infinity : difference / max(largest, 1e-30)
    }

    /// Random data for a case, and (y, dWeight, dInput) by im2col + `gemmReference`, dWeight accumulated
    /// onto `dWeightStart`.
    struct Problem {
        let x, weight, dy, dWeightStart: [Float]
        let bias: [Float]?
        var y: [Float] = [], dWeight: [Float] = [], dInput: [Float] = [], dBias: [Float] = []

        init(_ c: Case) {
            x = WinogradTests.normal(c.inputChannels * c.batch * c.height * c.width, "x \(c)")
            weight = WinogradTests.normal(c.outputChannels * c.inputChannels * 9, "w \(c)", scale: 1 / Double(c.inputChannels * 9).squareRoot())
            bias = c.bias ? WinogradTests.normal(c.outputChannels, "b \(c)", scale: 0.5) : nil
            dy = WinogradTests.normal(c.outputChannels * c.batch * c.height * c.width, "dy \(c)")
            dWeightStart = WinogradTests.normal(weight.count, "dw0 \(c)", scale: 0.1)

            let rows = c.inputChannels * 9, columns = c.batch * c.height * c.width
            var col = [Float](repeating: 0, count: rows * columns)
            x.withUnsafeBufferPointer { xp in
                col.withUnsafeMutableBufferPointer { cp in
                    var plane = [Float](repeating: 0, count: im2colPlaneCount(height: c.height, width: c.width, kernel: 3, stride: 1, padding: 1))
                    im2col(xp.baseAddress!, channels: c.inputChannels, batch: c.batch, height: c.height, width: c.width,
                           kernel: 3, stride: 1, padding: 1, plane: &plane, into: cp.baseAddress!)
                }
            }
            y = [Float](repeating: 0, count: c.outputChannels * columns)
            gemmReference(.noTranspose, .noTranspose, m: c.outputChannels, n: columns, k: rows, a: weight, lda: rows,
                          b: col, ldb: columns, beta: 0, c: &y, ldc: columns)
            if let bias {
                for co in 0..<c.outputChannels { for i in 0..<columns { y[co * columns + i] += bias[co] } }
            }
            dWeight = dWeightStart
            gemmReference(.noTranspose, .transpose, m: c.outputChannels, n: rows, k: columns, a: dy, lda: columns,
                          b: col, ldb: columns, beta: 1, c: &dWeight, ldc: rows)
            var dCol = [Float](repeating: 0, count: rows * columns)
            gemmReference(.transpose, .noTranspose, m: rows, n: columns, k: c.outputChannels, a: weight, lda: rows,
                          b: dy, ldb: columns, beta: 0, c: &dCol, ldc: columns)
            dInput = [Float](repeating: 0, count: x.count)
            var plane = [Float](repeating: 0, count: im2colPlaneCount(height: c.height, width: c.width, kernel: 3, stride: 1, padding: 1))
            dCol.withUnsafeBufferPointer { cp in
                dInput.withUnsafeMutableBufferPointer { dp in
                    col2imAdd(cp.baseAddress!, channels: c.inputChannels, batch: c.batch, height: c.height, width: c.width,
                              kernel: 3, stride: 1, padding: 1, plane: &plane, into: dp.baseAddress!)
                }
            }
            let dy = self.dy
            dBias = (0..<c.outputChannels).map { co in Float((0..<columns).reduce(0.0) { $0 + Double(dy[co * columns + $1]) }) }
        }
    }

    static func expectSmall(_ got: [Float], _ want: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = relativeError(got, want)
        #expect(error <= 1e-5, "\(what): max error \(error) of the largest value", sourceLocation: sourceLocation)
    }

    /// Winograd forward without bias, then backward from a zero weight gradient: (y, dWeight, dInput).
    static func winogradPass(x: [Float], weight: [Float], dy: [Float], _ g: WinogradGeometry) -> (y: [Float], dWeight: [Float], dInput: [Float]) {
        let scratch = Arena(count: g.scratchCount), filters = Arena(count: g.filterCount)
        var y = [Float](repeating: .nan, count: dy.count)
        var dWeight = [Float](repeating: 0, count: weight.count)
        var dInput = [Float](repeating: .nan, count: x.count)
        winogradFilterTransform(weight, g, into: filters.base)
        winogradConvolution(x, filters: filters.base, bias: nil, g, scratch: scratch.base, into: &y)
        winogradConvolutionBackward(x, filters: filters.base, dOutput: dy, g, scratch: scratch.base, dWeight: &dWeight,
                                    dInput: &dInput)
        return (y, dWeight, dInput)
    }

    /// A scratch arena of `count` floats followed by a sentinel guard band.
    static func guardedScratch(_ count: Int) -> Arena {
        let scratch = Arena(count: count + guardBand)
        scratch.fill(sentinel)
        return scratch
    }

    static func expectGuardIntact(_ scratch: Arena, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let band = scratch.values((scratch.count - guardBand)..<scratch.count)
        #expect(band.allSatisfy { $0 == sentinel }, "\(what): wrote past the scratch it asked for", sourceLocation: sourceLocation)
    }

    @Test(arguments: kernelCases)
    func kernelsMatchIm2col(_ c: Case) {
        let p = Problem(c)
        let g = WinogradGeometry(inputChannels: c.inputChannels, outputChannels: c.outputChannels, batch: c.batch,
                                 height: c.height, width: c.width, samplesPerChunk: c.chunk)
        if let chunk = c.chunk { #expect(g.samplesPerChunk == chunk) }
        let scratch = Self.guardedScratch(g.scratchCount), filters = Self.guardedScratch(g.filterCount)
        var y = [Float](repeating: .nan, count: p.y.count)
        var dWeight = p.dWeightStart
        var dInput = [Float](repeating: .nan, count: p.x.count)
        p.x.withUnsafeBufferPointer { x in
            p.weight.withUnsafeBufferPointer { w in
                winogradFilterTransform(w.baseAddress!, g, into: filters.base)
                p.dy.withUnsafeBufferPointer { dy in
                    y.withUnsafeMutableBufferPointer { y in
                        if let bias = p.bias {
                            bias.withUnsafeBufferPointer { b in
                                winogradConvolution(x.baseAddress!, filters: filters.base, bias: b.baseAddress!, g,
                                                    scratch: scratch.base, into: y.baseAddress!)
                            }
                        } else {
                            winogradConvolution(x.baseAddress!, filters: filters.base, bias: nil, g, scratch: scratch.base,
                                                into: y.baseAddress!)
                        }
                    }
                    dWeight.withUnsafeMutableBufferPointer { dw in
                        dInput.withUnsafeMutableBufferPointer { dx in
                            winogradConvolutionBackward(x.baseAddress!, filters: filters.base, dOutput: dy.baseAddress!, g,
                                                        scratch: scratch.base, dWeight: dw.baseAddress!, dInput: dx.baseAddress!)
                        }
                    }
                }
            }
        }
        Self.expectSmall(y, p.y, "\(c) forward")
        Self.expectSmall(dWeight, p.dWeight, "\(c) dWeight")
        Self.expectSmall(dInput, p.dInput, "\(c) dInput")
        Self.expectGuardIntact(scratch, "\(c)")
        Self.expectGuardIntact(filters, "\(c) filters")
    }

    @Test(arguments: layerCases)
    func conv2dMatchesIm2col(_ c: Case) {
        var planner = ParameterPlanner()
        let conv = Conv2d("conv", input: Shape(channels: c.inputChannels, height: c.height, width: c.width),
                          outputChannels: c.outputChannels, kernel: 3, stride: 1, padding: 1, bias: c.bias, planner: &planner)
        #expect(conv.isWinograd)
        let p = Problem(c)
        let parameters = Arena(count: planner.parameters.count), gradients = Arena(count: planner.parameters.count)
        parameters.set(p.weight, at: conv.weightOffset)
        gradients.set(p.dWeightStart, at: conv.weightOffset)
        if let bias = p.bias, let offset = conv.biasOffset { parameters.set(bias, at: offset) }
        let input = Arena(count: p.x.count), output = Arena(count: p.dy.count), dOutput = Arena(count: p.dy.count)
        let dInput = Arena(count: p.x.count), statistics = Arena(count: 1)
        let cache = Self.guardedScratch(conv.cacheCount(batchSize: c.batch))
        input.set(p.x, at: 0)
        dOutput.set(p.dy, at: 0)
        output.fill(.nan)
        dInput.fill(.nan)
        let scratch = Self.guardedScratch(conv.scratchCount(batchSize: c.batch))
        func io(dInput: UnsafeMutablePointer<Float>?) -> LayerIO {
            LayerIO(input: input.base, output: output.base, dOutput: dOutput.base, dInput: dInput, cache: cache.base,
                    scratch: scratch.base, params: parameters.base, grads: gradients.base, statistics: statistics.base,
                    batchSize: c.batch, training: true)
        }
        let weights = conv.weightOffset..<(conv.weightOffset + p.weight.count)

        conv.forward(io(dInput: dInput.base))
        Self.expectSmall(output.array, p.y, "\(c) forward")

        // dInput nil: only the parameter gradients, which accumulate onto dWeightStart.
        conv.backward(io(dInput: nil))
        Self.expectSmall(gradients.values(weights), p.dWeight, "\(c) dWeight")
        #expect(dInput.array.allSatisfy { $0.isNaN }, "\(c): dInput written although nil was passed")

        // With dInput: overwritten (NaN before), and the parameter gradients accumulate a second time.
        conv.backward(io(dInput: dInput.base))
        Self.expectSmall(dInput.array, p.dInput, "\(c) dInput")
        Self.expectSmall(gradients.values(weights), zip(p.dWeight, p.dWeightStart).map { 2 * $0 - $1 }, "\(c) dWeight twice")
        if let offset = conv.biasOffset {
            Self.expectSmall(gradients.values(offset..<(offset + c.outputChannels)), p.dBias.map { 2 * $0 }, "\(c) dBias twice")
        }
        Self.expectGuardIntact(scratch, "\(c)")
        Self.expectGuardIntact(cache, "\(c) cache")
    }

    /// The kernels on PyTorch's 3×3/1/1 golden case with 3 input channels (`Conv2d` itself takes
    /// im2col there), at the golden tolerance, one sample per chunk.
    @Test func kernelsMatchPyTorchGolden() throws {
        let golden = try GoldenCase(url: GoldenCase.repositoryDirectory.appendingPathComponent("conv_k3s1p1_im2col.json"))
        let xShape = try golden.shape("x"), wShape = try golden.shape("w")
        let n = xShape[0], cin = xShape[1], h = xShape[2], w = xShape[3], cout = wShape[0]
        let g = WinogradGeometry(inputChannels: cin, outputChannels: cout, batch: n, height: h, width: w, samplesPerChunk: 1)
        let x = nchwToChannelMajor(try golden.tensor("x"), n: n, c: cin, spatial: h * w)
        let dy = nchwToChannelMajor(try golden.tensor("dy"), n: n, c: cout, spatial: h * w)
        let weight = try golden.tensor("w")
        let (y, dWeight, dInput) = Self.winogradPass(x: x, weight: weight, dy: dy, g)
        expectClose(channelMajorToNCHW(y, n: n, c: cout, spatial: h * w), try golden.tensor("y"), rtol: golden.rtol,
                    atol: golden.atol, "golden y")
        expectClose(channelMajorToNCHW(dInput, n: n, c: cin, spatial: h * w), try golden.tensor("dx"), rtol: golden.rtol,
                    atol: golden.atol, "golden dx")
        expectClose(dWeight, try golden.tensor("dw"), rtol: golden.rtol, atol: golden.atol, "golden dw")
    }

    /// The last layer case really runs in several chunks with a short last one.
    @Test func layerCaseIsChunked() {
        let c = Self.layerCases.last!
        let g = WinogradGeometry(inputChannels: c.inputChannels, outputChannels: c.outputChannels, batch: c.batch,
                                 height: c.height, width: c.width)
        #expect(g.samplesPerChunk > 1 && g.samplesPerChunk < c.batch && c.batch % g.samplesPerChunk != 0,
                "chunk \(g.samplesPerChunk) of \(c.batch)")
    }

    /// Same inputs, same bits: the path has no threads of its own.
    @Test func deterministic() {
        var planner = ParameterPlanner()
        let conv = Conv2d("conv", input: Shape(channels: 8, height: 6, width: 5), outputChannels: 8, kernel: 3,
                          stride: 1, padding: 1, bias: true, planner: &planner)
        let harness = LayerHarness(conv, planner: planner, batchSize: 3)
        harness.input.set(Self.normal(harness.input.count, "det x"), at: 0)
        harness.parameters.set(Self.normal(harness.parameters.count, "det p", scale: 0.1), at: 0)
        harness.dOutput.set(Self.normal(harness.dOutput.count, "det dy"), at: 0)
        var runs: [[Float]] = []
        for _ in 0..<2 {
            harness.gradients.fill(0)
            harness.forward()
            harness.backward()
            runs.append(harness.output.array + harness.gradients.array + harness.dInput.array)
        }
        #expect(runs[0] == runs[1])
    }

    /// Only 3×3/1/1 with ≥ 4 input channels and ≥ 2×2 pixels takes the Winograd path.
    @Test func pathSelection() {
        func conv(_ shape: Shape, kernel: Int = 3, stride: Int = 1, padding: Int = 1) -> Conv2d {
            var planner = ParameterPlanner()
            return Conv2d("c", input: shape, outputChannels: 8, kernel: kernel, stride: stride, padding: padding, bias: false, planner: &planner)
        }
        #expect(conv(Shape(channels: 4, height: 6, width: 6)).isWinograd)
        #expect(conv(Shape(channels: 64, height: 2, width: 2)).isWinograd)
        #expect(!conv(Shape(channels: 4, height: 6, width: 6), stride: 2).isWinograd)
        #expect(!conv(Shape(channels: 4, height: 6, width: 6), padding: 0).isWinograd)
        #expect(!conv(Shape(channels: 4, height: 6, width: 6), kernel: 1, padding: 0).isWinograd)
        #expect(!conv(Shape(channels: 3, height: 32, width: 32)).isWinograd)
        #expect(!conv(Shape(channels: 512, height: 1, width: 1)).isWinograd)
        #expect(!conv(Shape(channels: 16, height: 1, width: 8)).isWinograd)
    }
}
