// A 3×3, stride-1, padding-1 convolution by Winograd F(2×2, 3×3): transforms (Winograd.swift) and 16 GEMMs
// per chunk of samples, one per transform position ξ, with 2.25× fewer multiplies than im2col + GEMM.
// input (Cin, N, H, W), weight (Cout, Cin, 3, 3), output (Cout, N, H, W). The caller keeps U (16 × Cout ×
// Cin, `filterCount` floats, from `winogradFilterTransform`): forward reads it and backward reads it
// again, the weights being the same. Scratch layout, in order: V (16 × Cin × P), M (16 × Cout × P),
// dU (16 × Cout × Cin), the transforms' tile scratch; ξ matrices one stride apart and P the tiles of one
// chunk.

extension WinogradGeometry {
    /// Floats of U (or dU): 16 matrices Cout × Cin, one stride apart.
    var filterCount: Int { 16 * filterStride }

    /// Floats of scratch that forward and backward need: V, M, dU and the transforms' tile scratch.
    var scratchCount: Int {
        16 * (inputStride + productStride) + filterCount + winogradTileScratchCount(self)
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
    let v, m, du, tiles: UnsafeMutablePointer<Float>
    init(_ scratch: UnsafeMutablePointer<Float>, _ g: WinogradGeometry) {
        v = scratch
        m = v + 16 * g.inputStride
        du = m + 16 * g.productStride
        tiles = du + g.filterCount
    }
}

/// output = conv3×3(input, weight) + bias, stride 1, padding 1 (overwrites `output`), with U the
/// transformed `weight`. `scratch` holds `g.scratchCount` floats.
func winogradConvolution(_ input: UnsafePointer<Float>, filters u: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         _ g: WinogradGeometry, scratch: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
    let s = WinogradScratch(scratch, g)
    for first in g.chunks {
        let samples = g.samples(from: first)
        winogradInputTransform(input, g, samples: samples, tiles: s.tiles, into: s.v)
        WinogradProducts.forward(u: u, v: s.v, g, tiles: samples.count * g.tilesPerSample, into: s.m)
        winogradOutputTransform(s.m, g, samples: samples, bias: bias, tiles: s.tiles, into: output)
    }
}

/// The backward of `winogradConvolution` without its bias: dWeight **+=** ∂L/∂weight, and when `dInput`
/// is given it is **overwritten** with ∂L/∂input, U being the transformed weight of the forward. V is
/// recomputed from `input`: kept from the forward it would take 16 floats per tile and layer out of
/// cache, where recomputing it is a pass that stays in the chunk's cache.
/// Per chunk: V, Mg, dU += Mg·Vᵀ, then dV = Uᵀ·Mg in V's place → dInput; after the last chunk dU → dWeight.
func winogradConvolutionBackward(_ input: UnsafePointer<Float>, filters u: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
                                 _ g: WinogradGeometry, scratch: UnsafeMutablePointer<Float>,
                                 dWeight: UnsafeMutablePointer<Float>, dInput: UnsafeMutablePointer<Float>?) {
    let s = WinogradScratch(scratch, g)
    for first in g.chunks {
        let samples = g.samples(from: first), tiles = samples.count * g.tilesPerSample
        winogradInputTransform(input, g, samples: samples, tiles: s.tiles, into: s.v)
        winogradOutputGradientTransform(dOutput, g, samples: samples, tiles: s.tiles, into: s.m)
        WinogradProducts.filterGradient(mg: s.m, v: s.v, g, tiles: tiles, beta: first == 0 ? 0 : 1, into: s.du)
        guard let dInput else { continue }
        WinogradProducts.inputGradient(u: u, mg: s.m, g, tiles: tiles, into: s.v)
        winogradInputGradientTransform(s.v, g, samples: samples, tiles: s.tiles, into: dInput)
    }
    winogradFilterGradientAdd(s.du, g, into: dWeight)
}
