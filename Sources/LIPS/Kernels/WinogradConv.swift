// A 3×3, stride-1, padding-1 convolution by Winograd F(2×2, 3×3): transforms (Winograd.swift) and 16 GEMMs
// per chunk of samples, one per transform position ξ, with 2.25× fewer multiplies than im2col + GEMM.
// input (Cin, N, H, W), weight (Cout, Cin, 3, 3), output (Cout, N, H, W); scratch layout, in order:
// V (16 × Cin × P), M (16 × Cout × P), U (16 × Cout × Cin), dU (16 × Cout × Cin), the tile scratch,
// ξ matrices one stride apart and P the tiles of one chunk.

extension WinogradGeometry {
    /// Floats of scratch that forward and backward need: V, M, U, dU and the transforms' tile scratch.
    var scratchCount: Int {
        16 * (inputStride + productStride + 2 * filterStride) + winogradTileScratchCount(self)
    }

    /// The chunks of samples, in order.
    var chunks: StrideTo<Int> { Swift.stride(from: 0, to: batch, by: samplesPerChunk) }

    func samples(from first: Int) -> Range<Int> { first..<min(batch, first + samplesPerChunk) }
}

/// The three products over ξ, by the one `gemm`, for a chunk of P = `tiles` columns. Pointers are the
/// first of 16 matrices, one stride apart.
private enum WinogradProducts {
    /// M[ξ] = U[ξ] · V[ξ]  (Cout × P).
    static func forward(u: UnsafePointer<Float>, v: UnsafePointer<Float>, _ g: WinogradGeometry, tiles p: Int,
                        into m: UnsafeMutablePointer<Float>) {
        let cin = g.inputChannels, cout = g.outputChannels
        for xi in 0..<16 {
            gemm(.noTranspose, .noTranspose, m: cout, n: p, k: cin, a: u + xi * g.filterStride, lda: cin,
                 b: v + xi * g.inputStride, ldb: p, beta: 0, c: m + xi * g.productStride, ldc: p)
        }
    }

    /// dU[ξ] = Mg[ξ] · V[ξ]ᵀ + β · dU[ξ]  (Cout × Cin): β = 0 for the first chunk, 1 after.
    static func filterGradient(mg: UnsafePointer<Float>, v: UnsafePointer<Float>, _ g: WinogradGeometry, tiles p: Int,
                               beta: Float, into du: UnsafeMutablePointer<Float>) {
        let cin = g.inputChannels, cout = g.outputChannels
        for xi in 0..<16 {
            gemm(.noTranspose, .transpose, m: cout, n: cin, k: p, a: mg + xi * g.productStride, lda: p,
                 b: v + xi * g.inputStride, ldb: p, beta: beta, c: du + xi * g.filterStride, ldc: cin)
        }
    }

    /// dV[ξ] = U[ξ]ᵀ · Mg[ξ]  (Cin × P).
    static func inputGradient(u: UnsafePointer<Float>, mg: UnsafePointer<Float>, _ g: WinogradGeometry, tiles p: Int,
                              into dv: UnsafeMutablePointer<Float>) {
        let cin = g.inputChannels, cout = g.outputChannels
        for xi in 0..<16 {
            gemm(.transpose, .noTranspose, m: cin, n: p, k: cout, a: u + xi * g.filterStride, lda: cin,
                 b: mg + xi * g.productStride, ldb: p, beta: 0, c: dv + xi * g.inputStride, ldc: p)
        }
    }
}

/// Scratch regions, carved in the order of the file comment.
private struct WinogradScratch {
    let v, m, u, du, tiles: UnsafeMutablePointer<Float>
    init(_ scratch: UnsafeMutablePointer<Float>, _ g: WinogradGeometry) {
        v = scratch
        m = v + 16 * g.inputStride
        u = m + 16 * g.productStride
        du = u + 16 * g.filterStride
        tiles = du + 16 * g.filterStride
    }
}

/// output = conv3×3(input, weight) + bias, stride 1, padding 1 (overwrites `output`).
/// `scratch` holds `g.scratchCount` floats.
func winogradConvolution(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         _ g: WinogradGeometry, scratch: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
    let s = WinogradScratch(scratch, g)
    winogradFilterTransform(weight, g, into: s.u)
    for first in g.chunks {
        let samples = g.samples(from: first)
        winogradInputTransform(input, g, samples: samples, tiles: s.tiles, into: s.v)
        WinogradProducts.forward(u: s.u, v: s.v, g, tiles: samples.count * g.tilesPerSample, into: s.m)
        winogradOutputTransform(s.m, g, samples: samples, bias: bias, tiles: s.tiles, into: output)
    }
}

/// The backward of `winogradConvolution` without its bias: dWeight **+=** ∂L/∂weight, and when `dInput`
/// is given it is **overwritten** with ∂L/∂input. U and V are recomputed from `weight` and `input`.
/// Per chunk: V, Mg, dU += Mg·Vᵀ, then dV = Uᵀ·Mg in V's place → dInput; after the last chunk dU → dWeight.
func winogradConvolutionBackward(_ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                 _ g: WinogradGeometry, scratch: UnsafeMutablePointer<Float>,
                                 dWeight: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>?) {
    let s = WinogradScratch(scratch, g)
    if dInput != nil { winogradFilterTransform(weight, g, into: s.u) }
    for first in g.chunks {
        let samples = g.samples(from: first), tiles = samples.count * g.tilesPerSample
        winogradInputTransform(input, g, samples: samples, tiles: s.tiles, into: s.v)
        winogradOutputGradientTransform(dOutput, g, samples: samples, tiles: s.tiles, into: s.m)
        WinogradProducts.filterGradient(mg: s.m, v: s.v, g, tiles: tiles, beta: first == 0 ? 0 : 1, into: s.du)
        guard let dInput else { continue }
        WinogradProducts.inputGradient(u: s.u, mg: s.m, g, tiles: tiles, into: s.v)
        winogradInputGradientTransform(s.v, g, samples: samples, tiles: s.tiles, into: dInput)
    }
    winogradFilterGradientAdd(s.du, g, into: dWeight)
}
