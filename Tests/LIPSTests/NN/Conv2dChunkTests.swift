import Testing
@testable import LIPS

/// The im2col path goes through the batch in chunks of samples (`Conv2d.samplesPerChunk`): a batch
/// that splits into ragged chunks must give what each sample gives on its own (one chunk), for the
/// output, the input gradient and the summed weight and bias gradients.
@Suite struct Conv2dChunkTests {
    struct Geometry: CustomStringConvertible, Sendable {
        var channels: Int, size: Int, outputChannels: Int, kernel: Int, stride: Int, padding: Int, batch: Int
        var description: String { "C\(channels) \(size)x\(size) → \(outputChannels) k\(kernel) s\(stride) p\(padding) N\(batch)" }
    }

    static let geometries: [Geometry] = [
        // The ResNet stem on 32×32: at most three samples per chunk, so 7 goes as 3, 3, 1.
        Geometry(channels: 3, size: 32, outputChannels: 4, kernel: 7, stride: 2, padding: 3, batch: 7),
        // A downsampling 3×3 with many input channels: two samples per chunk, 2, 2, 1.
        Geometry(channels: 64, size: 32, outputChannels: 3, kernel: 3, stride: 2, padding: 1, batch: 5),
    ]

    static func conv(_ g: Geometry) -> (Conv2d, ParameterPlanner) {
        var planner = ParameterPlanner()
        let conv = Conv2d("conv", input: Shape(channels: g.channels, height: g.size, width: g.size), outputChannels: g.outputChannels,
                          kernel: g.kernel, stride: g.stride, padding: g.padding, bias: true, planner: &planner)
        return (conv, planner)
    }

    static func normal(_ count: Int, _ purpose: String, scale: Double = 1) -> [Float] {
        normalValues(count, scale: scale, seed: 5, purpose: purpose)
    }

    @Test(arguments: geometries)
    func chunkedBatchEqualsSamplesAlone(_ g: Geometry) {
        let (conv, planner) = Self.conv(g)
        let chunk = conv.samplesPerChunk(batchSize: g.batch)
        #expect(chunk > 1 && chunk < g.batch, "\(g): \(chunk) samples per chunk, wanted several ragged chunks")
        let batch = LayerHarness(conv, planner: planner, batchSize: g.batch)
        let parameters = Self.normal(batch.parameters.count, "p \(g)", scale: 0.1)
        let x = Self.normal(batch.input.count, "x \(g)"), dy = Self.normal(batch.dOutput.count, "dy \(g)")
        batch.parameters.set(parameters, at: 0)
        batch.input.set(x, at: 0)
        batch.dOutput.set(dy, at: 0)
        batch.forward()
        batch.backward()

        // Each sample alone, its slice of every channel-major (C, N, …) tensor.
        let inSpatial = g.size * g.size, outSpatial = conv.outputShape.spatial
        func slice(_ values: [Float], channels: Int, spatial: Int, sample: Int, batch n: Int) -> [Float] {
            var out: [Float] = []
            for c in 0..<channels {
                let start: Int = (c * n + sample) * spatial
                out += values[start..<(start + spatial)]
            }
            return out
        }
        var gradientSum = [Double](repeating: 0, count: batch.gradients.count)
        let output = batch.output.array, dInput = batch.dInput.array
        for sample in 0..<g.batch {
            let alone = LayerHarness(conv, planner: planner, batchSize: 1)
            alone.parameters.set(parameters, at: 0)
            alone.input.set(slice(x, channels: g.channels, spatial: inSpatial, sample: sample, batch: g.batch), at: 0)
            alone.dOutput.set(slice(dy, channels: g.outputChannels, spatial: outSpatial, sample: sample, batch: g.batch), at: 0)
            alone.forward()
            alone.backward()
            expectClose(slice(output, channels: g.outputChannels, spatial: outSpatial, sample: sample, batch: g.batch),
                        alone.output.array, rtol: 1e-5, atol: 1e-5, "\(g) output of sample \(sample)")
            expectClose(slice(dInput, channels: g.channels, spatial: inSpatial, sample: sample, batch: g.batch),
                        alone.dInput.array, rtol: 1e-5, atol: 1e-5, "\(g) dInput of sample \(sample)")
            for (i, value) in alone.gradients.array.enumerated() { gradientSum[i] += Double(value) }
        }
        expectClose(batch.gradients.array, gradientSum.map { Float($0) }, rtol: 1e-4, atol: 1e-4, "\(g) dWeight and dBias")
    }
}
