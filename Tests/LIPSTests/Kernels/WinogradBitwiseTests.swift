import Testing
@testable import LIPS

/// The Winograd transforms against the scalar ones they replaced (WinogradReference.swift), bit for
/// bit: the filter transforms (Cout·Cin not a multiple of 4 too) and every data transform on every chunk, on odd and even sizes from 1×1 up, with chunks forced short,
/// on data with +0 and −0 (scattered and whole planes) where an operation order or a negation would
/// show in the sign of a zero. Outputs start as the same NaN pattern, so a write outside what the
/// reference writes shows too, except the up to 3 floats a transform may write past a chunk's columns
/// into the margin of a matrix's stride.
@Suite struct WinogradBitwiseTests {
    struct Case: CustomStringConvertible, Sendable {
        var inputChannels: Int, outputChannels: Int, batch: Int, height: Int, width: Int
        var chunk: Int? = nil
        var description: String {
            "Cin\(inputChannels) Cout\(outputChannels) N\(batch) \(height)x\(width)" + (chunk.map { " chunk \($0)" } ?? "")
        }
    }

    static let cases: [Case] = [
        Case(inputChannels: 2, outputChannels: 3, batch: 3, height: 1, width: 1),
        Case(inputChannels: 3, outputChannels: 2, batch: 5, height: 1, width: 6, chunk: 2),
        Case(inputChannels: 2, outputChannels: 2, batch: 4, height: 7, width: 1),
        Case(inputChannels: 4, outputChannels: 3, batch: 7, height: 2, width: 2, chunk: 3),
        Case(inputChannels: 3, outputChannels: 4, batch: 5, height: 2, width: 9),
        Case(inputChannels: 3, outputChannels: 3, batch: 4, height: 3, width: 3),
        Case(inputChannels: 5, outputChannels: 4, batch: 6, height: 4, width: 4, chunk: 4),
        Case(inputChannels: 3, outputChannels: 5, batch: 3, height: 5, width: 7),
        Case(inputChannels: 4, outputChannels: 2, batch: 4, height: 7, width: 5, chunk: 3),
        Case(inputChannels: 2, outputChannels: 3, batch: 3, height: 6, width: 6),
        Case(inputChannels: 6, outputChannels: 5, batch: 5, height: 8, width: 8, chunk: 2),
        Case(inputChannels: 2, outputChannels: 2, batch: 2, height: 9, width: 10),
        Case(inputChannels: 3, outputChannels: 2, batch: 2, height: 10, width: 17),
        Case(inputChannels: 2, outputChannels: 3, batch: 3, height: 16, width: 15, chunk: 2),
        Case(inputChannels: 2, outputChannels: 2, batch: 2, height: 13, width: 33),
    ]

    /// ~N(0, 1) with every 7th value +0 and every 11th −0; channel 0 all +0 and channel 1 all −0 for
    /// the first sample.
    static func data(_ count: Int, channelSize: Int, _ purpose: String) -> [Float] {
        var stream = RandomStream(seed: 11, purpose: purpose)
        var values = (0..<count).map { i -> Float in
            let v = Float(stream.nextNormal())
            return i % 7 == 3 ? 0 : i % 11 == 5 ? -0.0 : v
        }
        for i in 0..<min(channelSize, count) { values[i] = 0 }
        if count >= 2 * channelSize {
            for i in channelSize..<(2 * channelSize) { values[i] = -0.0 }
        }
        return values
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    /// The 16 matrices of `rows` × `columns` one `stride` apart, bits; and the floats past each beyond
    /// the 3 the transforms may write there, up to the next matrix.
    static func matrices(_ values: [Float], rows: Int, columns: Int, stride: Int) -> (used: [UInt32], rest: [UInt32]) {
        var used: [UInt32] = [], rest: [UInt32] = []
        for xi in 0..<16 {
            let start = xi * stride, end = start + rows * columns
            used += bits(Array(values[start..<end]))
            rest += bits(Array(values[min(end + 3, start + stride)..<(start + stride)]))
        }
        return (used, rest)
    }

    /// A buffer of `count` NaNs with distinct payloads, the same every time.
    static func poisoned(_ count: Int) -> [Float] {
        (0..<count).map { Float(bitPattern: 0x7FC0_0000 | UInt32(truncatingIfNeeded: $0 & 0xFFFF)) }
    }

    @Test(arguments: cases)
    func transformsMatchTheScalarOnes(_ c: Case) {
        Self.compareTransforms(c) { count, channelSize, purpose in Self.data(count, channelSize: channelSize, purpose) }
    }

    /// Data of +0 and −0 only: every result is a signed zero, whose sign depends on each operation's
    /// order and on sums starting from +0 as the scalar ones did.
    @Test(arguments: [cases[0], cases[6], cases[7], cases[10]])
    func signedZerosMatchTheScalarOnes(_ c: Case) {
        Self.compareTransforms(c) { count, _, purpose in
            var stream = RandomStream(seed: 13, purpose: purpose)
            return (0..<count).map { _ in stream.nextInt(below: 2) == 0 ? 0 : -0.0 }
        }
    }

    static func compareTransforms(_ c: Case, data: (Int, Int, String) -> [Float]) {
        let g = WinogradGeometry(inputChannels: c.inputChannels, outputChannels: c.outputChannels, batch: c.batch,
                                 height: c.height, width: c.width, samplesPerChunk: c.chunk)
        let spatial = c.height * c.width
        let x = data(c.inputChannels * c.batch * spatial, spatial, "x \(c)")
        let dy = data(c.outputChannels * c.batch * spatial, spatial, "dy \(c)")
        let bias = data(c.outputChannels, 1, "b \(c)")
        let m = data(16 * g.productStride, g.chunkTiles, "m \(c)")
        let dv = data(16 * g.inputStride, g.chunkTiles, "dv \(c)")
        let weight = data(c.outputChannels * c.inputChannels * 9, 9, "w \(c)")
        let du = data(16 * g.filterStride, c.inputChannels, "du \(c)")
        let filters = c.outputChannels * c.inputChannels

        var u = Self.poisoned(16 * g.filterStride), uReference = u
        winogradFilterTransform(weight, g, into: &u)
        referenceWinogradFilterTransform(weight, g, into: &uReference)
        let um = Self.matrices(u, rows: 1, columns: filters, stride: g.filterStride)
        let umReference = Self.matrices(uReference, rows: 1, columns: filters, stride: g.filterStride)
        #expect(um.used == umReference.used, "\(c) filter transform")
        #expect(um.rest == umReference.rest, "\(c) filter transform wrote past the margin")

        var dWeight = data(weight.count, 9, "dw \(c)"), dWeightReference = dWeight
        winogradFilterGradientAdd(du, g, into: &dWeight)
        referenceWinogradFilterGradientAdd(du, g, into: &dWeightReference)
        #expect(Self.bits(dWeight) == Self.bits(dWeightReference), "\(c) filter gradient")
        let tiles = Arena(count: winogradTileScratchCount(g))
        var plane = [Float](repeating: 0, count: (2 * g.tilesHigh + 2) * (2 * g.tilesWide + 2))
        for first in g.chunks {
            let samples = g.samples(from: first)
            var v = Self.poisoned(16 * g.inputStride), vReference = v
            winogradInputTransform(x, g, samples: samples, tiles: tiles.base, into: &v)
            referenceWinogradInputTransform(x, g, samples: samples, plane: &plane, into: &vReference)
            let columns = samples.count * g.tilesPerSample
            let vm = Self.matrices(v, rows: c.inputChannels, columns: columns, stride: g.inputStride)
            let vmReference = Self.matrices(vReference, rows: c.inputChannels, columns: columns, stride: g.inputStride)
            #expect(vm.used == vmReference.used, "\(c) input transform, samples \(samples)")
            #expect(vm.rest == vmReference.rest, "\(c) input transform wrote past the margin, samples \(samples)")

            for withBias in [false, true] {
                var y = Self.poisoned(dy.count), yReference = y
                bias.withUnsafeBufferPointer { b in
                    let b = withBias ? b.baseAddress : nil
                    winogradOutputTransform(m, g, samples: samples, bias: b, tiles: tiles.base, into: &y)
                    referenceWinogradOutputTransform(m, g, samples: samples, bias: b, plane: &plane, into: &yReference)
                }
                #expect(Self.bits(y) == Self.bits(yReference), "\(c) output transform, bias \(withBias), samples \(samples)")
            }

            var mg = Self.poisoned(16 * g.productStride), mgReference = mg
            winogradOutputGradientTransform(dy, g, samples: samples, tiles: tiles.base, into: &mg)
            referenceWinogradOutputGradientTransform(dy, g, samples: samples, plane: &plane, into: &mgReference)
            let mgm = Self.matrices(mg, rows: c.outputChannels, columns: columns, stride: g.productStride)
            let mgmReference = Self.matrices(mgReference, rows: c.outputChannels, columns: columns, stride: g.productStride)
            #expect(mgm.used == mgmReference.used, "\(c) output-gradient transform, samples \(samples)")
            #expect(mgm.rest == mgmReference.rest, "\(c) output-gradient transform wrote past the margin, samples \(samples)")

            var dx = Self.poisoned(x.count), dxReference = dx
            winogradInputGradientTransform(dv, g, samples: samples, tiles: tiles.base, into: &dx)
            referenceWinogradInputGradientTransform(dv, g, samples: samples, plane: &plane, into: &dxReference)
            #expect(Self.bits(dx) == Self.bits(dxReference), "\(c) input-gradient transform, samples \(samples)")
        }
    }
}
