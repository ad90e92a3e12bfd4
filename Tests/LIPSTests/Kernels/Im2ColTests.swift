import Testing
@testable import LIPS

/// `im2col` against the direct definition, and `col2imAdd` as its adjoint.
@Suite struct Im2ColTests {
    struct Geometry: CustomStringConvertible, Sendable {
        var channels: Int, batch: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int
        var outputHeight: Int { convolutionOutputSize(height, kernel: kernel, stride: stride, padding: padding) }
        var outputWidth: Int { convolutionOutputSize(width, kernel: kernel, stride: stride, padding: padding) }
        var inputCount: Int { channels * batch * height * width }
        var colCount: Int { channels * kernel * kernel * batch * outputHeight * outputWidth }
        var description: String {
            "C\(channels) N\(batch) \(height)x\(width) k\(kernel) s\(stride) p\(padding)"
        }
    }

    static let geometries: [Geometry] = [
        // The ResNet stem: 7×7 stride 2 pad 3, non-square input.
        Geometry(channels: 3, batch: 2, height: 11, width: 8, kernel: 7, stride: 2, padding: 3),
        // 3×3 stride 1 pad 1 (the stride-1 fast path), H ≠ W.
        Geometry(channels: 2, batch: 3, height: 5, width: 7, kernel: 3, stride: 1, padding: 1),
        // 1×1 stride 2 (projection shortcut).
        Geometry(channels: 4, batch: 2, height: 6, width: 9, kernel: 1, stride: 2, padding: 0),
        // 3×3 stride 2 pad 1 (downsampling conv), odd sizes.
        Geometry(channels: 2, batch: 2, height: 9, width: 6, kernel: 3, stride: 2, padding: 1),
        // Pointwise and unpadded kernels.
        Geometry(channels: 3, batch: 1, height: 4, width: 5, kernel: 1, stride: 1, padding: 0),
        Geometry(channels: 2, batch: 2, height: 6, width: 5, kernel: 3, stride: 1, padding: 0),
        Geometry(channels: 1, batch: 2, height: 8, width: 6, kernel: 2, stride: 2, padding: 0),
        // Stride 1 with padding as wide as the kernel (whole windows in the margin).
        Geometry(channels: 2, batch: 2, height: 4, width: 3, kernel: 3, stride: 1, padding: 2),
        Geometry(channels: 1, batch: 2, height: 6, width: 7, kernel: 5, stride: 1, padding: 2),
        // Input smaller than the kernel, saved by the padding.
        Geometry(channels: 2, batch: 2, height: 3, width: 5, kernel: 7, stride: 2, padding: 3),
        // Stride 2 that does not divide W + 2p − K: the padded row is wider than the windows reach.
        Geometry(channels: 2, batch: 2, height: 9, width: 9, kernel: 2, stride: 2, padding: 0),
        Geometry(channels: 1, batch: 1, height: 4, width: 11, kernel: 1, stride: 3, padding: 0),
        // Stride 3 that does not divide the size.
        Geometry(channels: 2, batch: 1, height: 10, width: 8, kernel: 3, stride: 3, padding: 1),
        // Rows wide enough for the stride-2 copy's 16-float loads, odd and even, at the real stem's size.
        Geometry(channels: 2, batch: 2, height: 5, width: 37, kernel: 7, stride: 2, padding: 3),
        Geometry(channels: 3, batch: 2, height: 32, width: 32, kernel: 7, stride: 2, padding: 3),
        Geometry(channels: 2, batch: 2, height: 4, width: 34, kernel: 3, stride: 2, padding: 0),
        // ResNet-8's downsampling convs and shortcuts on 8×8 and 4×4 maps: outputs narrower than a
        // vector, which go through the window table.
        Geometry(channels: 3, batch: 3, height: 8, width: 8, kernel: 3, stride: 2, padding: 1),
        Geometry(channels: 2, batch: 2, height: 4, width: 4, kernel: 3, stride: 2, padding: 1),
        Geometry(channels: 3, batch: 2, height: 8, width: 8, kernel: 1, stride: 2, padding: 0),
        Geometry(channels: 2, batch: 2, height: 2, width: 2, kernel: 3, stride: 1, padding: 1),
    ]

    /// The direct definition: col[(c·K + ky)·K + kx][(n·Ho + oy)·Wo + ox] = x[c, n, oy·s − p + ky, ox·s − p + kx], 0 outside.
    static func naiveIm2col(_ x: [Float], _ g: Geometry) -> [Float] {
        let ho = g.outputHeight, wo = g.outputWidth, k = g.kernel
        let columns = g.batch * ho * wo
        var col = [Float](repeating: .nan, count: g.colCount)
        for c in 0..<g.channels {
            for ky in 0..<k {
                for kx in 0..<k {
                    for n in 0..<g.batch {
                        for oy in 0..<ho {
                            for ox in 0..<wo {
                                let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                                let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                                let value = inside ? x[((c * g.batch + n) * g.height + iy) * g.width + ix] : 0
                                col[((c * k + ky) * k + kx) * columns + (n * ho + oy) * wo + ox] = value
                            }
                        }
                    }
                }
            }
        }
        return col
    }

    /// Phase-plane scratch of exactly the size asked for, NaN-filled (im2col must not read what it did not
    /// write), followed by a guard band that must survive.
    static func withPlane(_ g: Geometry, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let count = im2colPlaneCount(height: g.height, width: g.width, kernel: g.kernel, stride: g.stride, padding: g.padding)
        var scratch = [Float](repeating: .nan, count: count + 32)
        for i in count..<scratch.count { scratch[i] = 7.5 }
        scratch.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        #expect(scratch[count...].allSatisfy { $0 == 7.5 }, "\(g): wrote past the phase planes")
    }

    static func runIm2col(_ x: [Float], _ g: Geometry) -> [Float] {
        // NaN-filled: every entry must be written, zeros included.
        var col = [Float](repeating: .nan, count: g.colCount)
        x.withUnsafeBufferPointer { x in
            col.withUnsafeMutableBufferPointer { col in
                withPlane(g) { plane in
                    im2col(x.baseAddress!, channels: g.channels, batch: g.batch, height: g.height, width: g.width,
                           kernel: g.kernel, stride: g.stride, padding: g.padding, plane: plane, into: col.baseAddress!)
                }
            }
        }
        return col
    }

    static func runCol2imAdd(_ col: [Float], _ g: Geometry, into start: [Float]) -> [Float] {
        var x = start
        col.withUnsafeBufferPointer { col in
            x.withUnsafeMutableBufferPointer { x in
                withPlane(g) { plane in
                    col2imAdd(col.baseAddress!, channels: g.channels, batch: g.batch, height: g.height, width: g.width,
                              kernel: g.kernel, stride: g.stride, padding: g.padding, plane: plane, into: x.baseAddress!)
                }
            }
        }
        return x
    }

    static func random(_ count: Int, _ purpose: String) -> [Float] {
        uniformValues(count, seed: 3, purpose: purpose)
    }

    @Test func outputSizeFormula() {
        #expect(convolutionOutputSize(32, kernel: 7, stride: 2, padding: 3) == 16)
        #expect(convolutionOutputSize(16, kernel: 3, stride: 2, padding: 1) == 8)
        #expect(convolutionOutputSize(15, kernel: 3, stride: 2, padding: 1) == 8)
        #expect(convolutionOutputSize(8, kernel: 1, stride: 2, padding: 0) == 4)
        #expect(convolutionOutputSize(9, kernel: 1, stride: 2, padding: 0) == 5)
        #expect(convolutionOutputSize(8, kernel: 2, stride: 2, padding: 0) == 4)
        #expect(convolutionOutputSize(5, kernel: 3, stride: 1, padding: 1) == 5)
    }

    @Test(arguments: Im2ColTests.geometries)
    func im2colMatchesDefinition(_ g: Geometry) {
        // Distinct values (the flat index + 1, never 0), so a wrong position or a missed zero shows.
        let x = (0..<g.inputCount).map { Float($0 + 1) }
        let got = Self.runIm2col(x, g)
        let want = Self.naiveIm2col(x, g)
        #expect(got.count == want.count)
        var firstBad: Int?
        for i in got.indices where !(got[i] == want[i]) {
            firstBad = i
            break
        }
        #expect(firstBad == nil, "\(g): first mismatch at col index \(firstBad ?? -1): got \(firstBad.map { got[$0] } ?? 0), want \(firstBad.map { want[$0] } ?? 0)")
    }

    /// A range of samples gives exactly those samples' columns of the whole-batch col matrix, and
    /// col2imAdd over consecutive ranges sums to the whole-batch col2imAdd.
    @Test(arguments: Im2ColTests.geometries.filter { $0.batch >= 2 })
    func sampleRangesMatchTheWholeBatch(_ g: Geometry) {
        let x = (0..<g.inputCount).map { Float($0 + 1) }
        let whole = Self.runIm2col(x, g)
        let perSample = g.outputHeight * g.outputWidth, columns = g.batch * perSample, rows = g.colCount / columns
        let ranges = [0..<1, 1..<g.batch]
        var summed = [Float](repeating: 0, count: g.inputCount)
        for samples in ranges {
            let width = samples.count * perSample
            var part = [Float](repeating: .nan, count: rows * width)
            x.withUnsafeBufferPointer { x in
                part.withUnsafeMutableBufferPointer { part in
                    Self.withPlane(g) { plane in
                        im2col(x.baseAddress!, channels: g.channels, batch: g.batch, height: g.height, width: g.width,
                               kernel: g.kernel, stride: g.stride, padding: g.padding, samples: samples,
                               plane: plane, into: part.baseAddress!)
                    }
                }
            }
            let want = (0..<rows).flatMap { r in whole[(r * columns + samples.lowerBound * perSample)..<(r * columns + samples.upperBound * perSample)] }
            #expect(part == want, "\(g) samples \(samples): im2col differs from the whole batch's columns")
            part.withUnsafeBufferPointer { part in
                summed.withUnsafeMutableBufferPointer { summed in
                    Self.withPlane(g) { plane in
                        col2imAdd(part.baseAddress!, channels: g.channels, batch: g.batch, height: g.height, width: g.width,
                                  kernel: g.kernel, stride: g.stride, padding: g.padding, samples: samples,
                                  plane: plane, into: summed.baseAddress!)
                    }
                }
            }
        }
        #expect(summed == Self.runCol2imAdd(whole, g, into: [Float](repeating: 0, count: g.inputCount)),
                "\(g): col2imAdd over sample ranges differs from the whole batch")
    }

    /// ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for random x, y, in Double.
    @Test(arguments: Im2ColTests.geometries)
    func col2imAddIsTheAdjoint(_ g: Geometry) {
        let x = Self.random(g.inputCount, "x \(g)")
        let y = Self.random(g.colCount, "y \(g)")
        let col = Self.runIm2col(x, g)
        let back = Self.runCol2imAdd(y, g, into: [Float](repeating: 0, count: g.inputCount))
        var left = 0.0, right = 0.0, magnitude = 0.0
        for i in col.indices {
            left += Double(col[i]) * Double(y[i])
            magnitude += abs(Double(col[i]) * Double(y[i]))
        }
        for i in x.indices { right += Double(x[i]) * Double(back[i]) }
        #expect(magnitude > 0, "\(g): empty inner product")
        #expect(abs(left - right) <= 1e-6 * magnitude, "\(g): ⟨im2col x, y⟩ = \(left), ⟨x, col2im y⟩ = \(right)")
    }

    /// col2im against its own direct definition (scatter-add of every in-bounds column entry).
    @Test(arguments: Im2ColTests.geometries)
    func col2imAddMatchesDefinition(_ g: Geometry) {
        let y = Self.random(g.colCount, "col \(g)")
        let ho = g.outputHeight, wo = g.outputWidth, k = g.kernel, columns = g.batch * ho * wo
        var want = [Double](repeating: 0, count: g.inputCount)
        for c in 0..<g.channels {
            for ky in 0..<k {
                for kx in 0..<k {
                    for n in 0..<g.batch {
                        for oy in 0..<ho {
                            for ox in 0..<wo {
                                let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                                guard iy >= 0 && iy < g.height && ix >= 0 && ix < g.width else { continue }
                                want[((c * g.batch + n) * g.height + iy) * g.width + ix] +=
                                    Double(y[((c * k + ky) * k + kx) * columns + (n * ho + oy) * wo + ox])
                            }
                        }
                    }
                }
            }
        }
        let got = Self.runCol2imAdd(y, g, into: [Float](repeating: 0, count: g.inputCount))
        expectClose(got, want.map { Float($0) }, rtol: 1e-5, atol: 1e-5, "col2imAdd \(g)")
    }

    /// col2imAdd accumulates: it adds onto what the buffer holds.
    @Test func col2imAddAccumulates() {
        let g = Self.geometries[3]
        let y = Self.random(g.colCount, "accumulate y")
        let start = Self.random(g.inputCount, "accumulate start")
        let fromZero = Self.runCol2imAdd(y, g, into: [Float](repeating: 0, count: g.inputCount))
        let fromStart = Self.runCol2imAdd(y, g, into: start)
        expectClose(fromStart, zip(start, fromZero).map { $0 + $1 }, rtol: 1e-6, atol: 1e-6, "col2imAdd onto a non-zero buffer")
    }

    /// Each input entry gets its terms in window-position order, (ky, kx) ascending, added one by
    /// one in Float onto what it held: bitwise, on both paths (runs and window table).
    @Test(arguments: Im2ColTests.geometries)
    func col2imAddAddsInWindowOrder(_ g: Geometry) {
        let y = Self.random(g.colCount, "order y \(g)")
        let start = Self.random(g.inputCount, "order start \(g)")
        let ho = g.outputHeight, wo = g.outputWidth, k = g.kernel, columns = g.batch * ho * wo
        var want = start
        for c in 0..<g.channels {
            for n in 0..<g.batch {
                for ky in 0..<k {
                    for kx in 0..<k {
                        for oy in 0..<ho {
                            for ox in 0..<wo {
                                let iy = oy * g.stride - g.padding + ky, ix = ox * g.stride - g.padding + kx
                                guard iy >= 0 && iy < g.height && ix >= 0 && ix < g.width else { continue }
                                want[((c * g.batch + n) * g.height + iy) * g.width + ix] +=
                                    y[((c * k + ky) * k + kx) * columns + (n * ho + oy) * wo + ox]
                            }
                        }
                    }
                }
            }
        }
        let got = Self.runCol2imAdd(y, g, into: start)
        #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(g): col2imAdd is not the in-order Float sum")
    }
}
