import Testing
@testable import LIPS

/// The stride-2 max-pool runs eight outputs at a time on −∞-bordered phase planes, with a faster
/// update for planes without NaN; the one-output-at-a-time loop is its reference. Both must give
/// the same maxima and the same argmax indices, ties (first in window order wins, +0 and −0
/// included), −∞ windows and NaN (the last NaN wins, payload and all) included.
struct MaxPoolTests {
    /// Values with many ties, some −∞, −0 and, when asked, some NaN of several payloads.
    static func awkwardValues(_ count: Int, seed: UInt64, nan: Bool) -> [Float] {
        var stream = RandomStream(seed: seed, purpose: "maxpool values")
        return (0..<count).map { _ in
            let u = stream.nextUniform()
            if nan && u < 0.03 { return Float(bitPattern: 0x7FC0_0000 | UInt32(stream.nextUniform() * 1000) | (u < 0.015 ? 0x8000_0000 : 0)) }
            if u < 0.08 { return -.infinity }
            if u < 0.16 { return -0.0 }
            return Float(Int(stream.nextUniform() * 5)) - 2   // −2…2: ties everywhere
        }
    }

    /// (height, width, kernel, padding): the models' pools (3/1 on 16×16, 2/0 on 32…2), odd and
    /// tiny sizes, widths that are not a multiple of 8 or 16 (partial chunks, scalar tails) and
    /// other kernels.
    static let geometries: [(Int, Int, Int, Int)] = [
        (16, 16, 3, 1), (32, 32, 3, 1), (7, 9, 3, 1), (5, 5, 3, 1), (2, 40, 3, 1), (9, 17, 3, 1), (4, 6, 3, 1),
        (13, 48, 3, 1), (3, 3, 3, 0), (11, 33, 3, 0), (16, 16, 3, 0), (1, 1, 3, 1),
        (8, 8, 2, 0), (7, 9, 2, 0), (3, 35, 2, 0), (32, 32, 2, 0), (4, 4, 2, 0), (2, 2, 2, 0), (12, 20, 2, 0),
        (15, 31, 2, 0), (5, 24, 2, 1), (6, 19, 4, 2), (7, 9, 1, 0), (10, 21, 5, 2),
    ]

    /// A harness for `pool` with a batch of 2 and 3 channels, its input set to `values`.
    static func harness(_ pool: MaxPool2d, _ values: [Float]) -> LayerHarness {
        let h = LayerHarness(pool, planner: ParameterPlanner(), batchSize: 2)
        for i in values.indices { h.input.base[i] = values[i] }
        return h
    }

    static func runReference(_ pool: MaxPool2d, _ h: LayerHarness) {
        pool.forwardReference(LayerIO(
            input: h.input.base, output: h.output.base, dOutput: h.dOutput.base, dInput: h.dInput.base,
            cache: h.cache.base, scratch: h.scratch.base, params: h.parameters.base, grads: h.gradients.base,
            statistics: h.statistics.base, batchSize: 2, training: true))
    }

    @Test(arguments: geometries)
    func stride2MatchesTheReferenceBitForBit(height: Int, width: Int, kernel: Int, padding: Int) {
        for nan in [false, true] {
            let pool = MaxPool2d("pool", input: Shape(channels: 3, height: height, width: width),
                                 kernel: kernel, stride: 2, padding: padding)
            let values = Self.awkwardValues(pool.inputShape.count * 2, seed: UInt64(height * 100 + width), nan: nan)
            let fast = Self.harness(pool, values), reference = Self.harness(pool, values)
            let eval = Self.harness(pool, values)
            fast.forward()
            eval.forward(training: false)
            Self.runReference(pool, reference)
            for i in 0..<(pool.outputShape.count * 2) {
                #expect(fast.output.base[i].bitPattern == reference.output.base[i].bitPattern, "output \(i), nan \(nan)")
                #expect(fast.cache.base[i].bitPattern == reference.cache.base[i].bitPattern, "argmax \(i), nan \(nan)")
                #expect(eval.output.base[i].bitPattern == reference.output.base[i].bitPattern, "eval output \(i), nan \(nan)")
            }
        }
    }

    /// Backward adds each output's gradient at its argmax, in output order, onto zeros.
    @Test(arguments: [(16, 16, 3, 1), (7, 9, 3, 1), (8, 8, 2, 0), (3, 35, 2, 0)])
    func backwardScattersIntoTheArgmax(height: Int, width: Int, kernel: Int, padding: Int) {
        let pool = MaxPool2d("pool", input: Shape(channels: 3, height: height, width: width),
                             kernel: kernel, stride: 2, padding: padding)
        let h = Self.harness(pool, Self.awkwardValues(pool.inputShape.count * 2, seed: 7, nan: false))
        h.forward()
        let dy = uniformValues(pool.outputShape.count * 2, -1, 1, seed: 8, purpose: "dy")
        for i in dy.indices { h.dOutput.base[i] = i % 5 == 0 ? -0.0 : dy[i] }
        for i in 0..<(pool.inputShape.count * 2) { h.dInput.base[i] = .nan }
        h.backward()
        var expected = [Float](repeating: 0, count: pool.inputShape.count * 2)
        let planeIn = pool.inputShape.spatial, planeOut = pool.outputShape.spatial
        for o in 0..<(planeOut * pool.inputShape.channels * 2) {
            expected[o / planeOut * planeIn + Int(h.cache.base[o].bitPattern)] += h.dOutput.base[o]
        }
        for i in expected.indices {
            #expect(h.dInput.base[i].bitPattern == expected[i].bitPattern, "dInput \(i)")
        }
    }
}
