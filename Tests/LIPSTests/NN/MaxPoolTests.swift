import Testing
@testable import LIPS

/// The stride-2 max-pool runs eight outputs at a time on a −∞-bordered copy; the one-output-at-a-
/// time loop is its reference. Both must give the same maxima and the same argmax indices, ties
/// (first in window order wins), −∞ windows and NaN (the last NaN wins) included.
struct MaxPoolTests {
    /// Values with many ties, some −∞ and, when asked, some NaN.
    static func awkwardValues(_ count: Int, seed: UInt64, nan: Bool) -> [Float] {
        var stream = RandomStream(seed: seed, purpose: "maxpool values")
        return (0..<count).map { _ in
            let u = stream.nextUniform()
            if nan && u < 0.03 { return .nan }
            if u < 0.08 { return -.infinity }
            return Float(Int(stream.nextUniform() * 5)) - 2   // −2…2: ties everywhere
        }
    }

    @Test(arguments: [
        (16, 16, 3, 1), (32, 32, 3, 1), (7, 9, 3, 1), (5, 5, 3, 1), (2, 40, 3, 1),
        (8, 8, 2, 0), (7, 9, 2, 0), (3, 35, 2, 0), (1, 1, 3, 1), (6, 19, 4, 2),
    ])
    func stride2MatchesTheReferenceBitForBit(height: Int, width: Int, kernel: Int, padding: Int) {
        for nan in [false, true] {
            let pool = MaxPool2d("pool", input: Shape(channels: 3, height: height, width: width),
                                 kernel: kernel, stride: 2, padding: padding)
            let fast = LayerHarness(pool, planner: ParameterPlanner(), batchSize: 2)
            let reference = LayerHarness(pool, planner: ParameterPlanner(), batchSize: 2)
            let values = Self.awkwardValues(fast.input.count, seed: UInt64(height * 100 + width), nan: nan)
            for i in values.indices {
                fast.input.base[i] = values[i]
                reference.input.base[i] = values[i]
            }
            fast.forward()
            pool.forwardReference(LayerIO(
                input: reference.input.base, output: reference.output.base, dOutput: reference.dOutput.base,
                dInput: reference.dInput.base, cache: reference.cache.base, scratch: reference.scratch.base,
                params: reference.parameters.base, grads: reference.gradients.base,
                statistics: reference.statistics.base, batchSize: 2, training: true))
            let outputs = pool.outputShape.count * 2
            for i in 0..<outputs {
                #expect(fast.output.base[i].bitPattern == reference.output.base[i].bitPattern, "output \(i), nan \(nan)")
                #expect(fast.cache.base[i].bitPattern == reference.cache.base[i].bitPattern, "argmax \(i), nan \(nan)")
            }
        }
    }
}
