import Foundation
import Testing
@testable import LIPS

/// Winograd's rounding error at the sizes of real models, against the im2col path's: both measured
/// against im2col with a Double GEMM, on post-ReLU-like inputs (non-negative, as conv inputs are in
/// the models). F(2×2, 3×3) transforms add a few roundings per value, so its error may be a small
/// multiple of the direct product's, never more: a tiling, chunking or padding fault, or an
/// accumulation order with a larger error bound, shows up here as a large multiple.
@Suite struct WinogradAccuracyTests {
    struct Size: CustomStringConvertible, Sendable {
        var inputChannels: Int, outputChannels: Int, batch: Int, side: Int
        var description: String { "Cin\(inputChannels) Cout\(outputChannels) N\(batch) \(side)x\(side)" }
    }

    /// The geometries of ResNet-10's and VGG-11-bn's layers on 64×64 inputs at batch 2 (fewer channels
    /// where the Double reference would be slow): one chunk, one sample per chunk (32×32), ragged
    /// chunks (batch 20 at 8×8: 8 + 8 + 4), down to 2×2.
    static let sizes: [Size] = [
        Size(inputChannels: 64, outputChannels: 64, batch: 2, side: 16),
        Size(inputChannels: 16, outputChannels: 32, batch: 2, side: 32),
        Size(inputChannels: 128, outputChannels: 64, batch: 2, side: 16),
        Size(inputChannels: 128, outputChannels: 128, batch: 2, side: 8),
        Size(inputChannels: 256, outputChannels: 256, batch: 2, side: 4),
        Size(inputChannels: 256, outputChannels: 256, batch: 2, side: 2),
        Size(inputChannels: 64, outputChannels: 64, batch: 20, side: 8),
    ]

    /// ‖got − want‖ / ‖want‖.
    static func relativeError(_ got: [Float], _ want: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for i in want.indices {
            difference += (Double(got[i]) - Double(want[i])) * (Double(got[i]) - Double(want[i]))
            norm += Double(want[i]) * Double(want[i])
        }
        return (difference / max(norm, 1e-300)).squareRoot()
    }

    /// (y, dWeight, dInput) of the im2col path with `product` as its GEMM.
    static func im2colPath(_ s: Size, x: [Float], weight: [Float], dy: [Float],
                           product: (Transpose, Transpose, Int, Int, Int, UnsafePointer<Float>, Int,
                                     UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void) -> [[Float]] {
        let rows = s.inputChannels * 9, columns = s.batch * s.side * s.side
        var col = [Float](repeating: 0, count: rows * columns)
        var plane = [Float](repeating: 0, count: im2colPlaneCount(height: s.side, width: s.side, kernel: 3, stride: 1, padding: 1))
        im2col(x, channels: s.inputChannels, batch: s.batch, height: s.side, width: s.side, kernel: 3, stride: 1, padding: 1,
               plane: &plane, into: &col)
        var y = [Float](repeating: 0, count: s.outputChannels * columns)
        var dWeight = [Float](repeating: 0, count: weight.count)
        var dCol = [Float](repeating: 0, count: rows * columns)
        product(.noTranspose, .noTranspose, s.outputChannels, columns, rows, weight, rows, col, columns, &y, columns)
        product(.noTranspose, .transpose, s.outputChannels, rows, columns, dy, columns, col, columns, &dWeight, rows)
        product(.transpose, .noTranspose, rows, columns, s.outputChannels, weight, rows, dy, columns, &dCol, columns)
        var dInput = [Float](repeating: 0, count: x.count)
        col2imAdd(dCol, channels: s.inputChannels, batch: s.batch, height: s.side, width: s.side, kernel: 3, stride: 1,
                  padding: 1, plane: &plane, into: &dInput)
        return [y, dWeight, dInput]
    }

    @Test(arguments: sizes)
    func errorIsASmallMultipleOfIm2col(_ s: Size) {
        var stream = RandomStream(seed: 5, purpose: "winograd accuracy \(s)")
        let x = (0..<(s.inputChannels * s.batch * s.side * s.side)).map { _ in Float(max(0, stream.nextNormal())) }
        let scale = (2.0 / Double(9 * s.inputChannels)).squareRoot()
        let weight = (0..<(s.outputChannels * s.inputChannels * 9)).map { _ in Float(stream.nextNormal() * scale) }
        let dy = (0..<(s.outputChannels * s.batch * s.side * s.side)).map { _ in Float(stream.nextNormal() * 0.01) }

        let exact = Self.im2colPath(s, x: x, weight: weight, dy: dy) { ta, tb, m, n, k, a, lda, b, ldb, c, ldc in
            gemmReference(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
        }
        let direct = Self.im2colPath(s, x: x, weight: weight, dy: dy) { ta, tb, m, n, k, a, lda, b, ldb, c, ldc in
            gemm(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: c, ldc: ldc)
        }
        let g = WinogradGeometry(inputChannels: s.inputChannels, outputChannels: s.outputChannels, batch: s.batch,
                                 height: s.side, width: s.side)
        let (y, dWeight, dInput) = WinogradTests.winogradPass(x: x, weight: weight, dy: dy, g)

        for (index, name) in ["y", "dWeight", "dInput"].enumerated() {
            let winograd = Self.relativeError([y, dWeight, dInput][index], exact[index])
            let im2col = Self.relativeError(direct[index], exact[index])
            print("winograd accuracy \(s) \(name): \(String(format: "%.2e", winograd)) vs im2col \(String(format: "%.2e", im2col)) (\(String(format: "%.1f", winograd / max(im2col, 1e-12)))×)")
            // A floor of a few float32 roundings, for products BLAS happens to compute almost exactly.
            #expect(winograd <= 4 * max(im2col, 1e-7), "\(s) \(name): Winograd \(winograd) vs im2col \(im2col)")
        }
    }
}
