import Testing
@testable import LIPS

/// The fused passes give bitwise what the separate ones give: BN then ReLU in one pass, and the
/// residual add then ReLU in one pass (BasicBlock uses both), zeros, negative zeros and NaN included.
@Suite struct FusedReLUTests {
    static func specials(_ values: [Float]) -> [Float] {
        var values = values
        for (i, special) in [Float(0), -0.0, .nan, -.nan, .infinity, -.infinity].enumerated() { values[i * 7] = special }
        return values
    }

    @Test func addReLUIsAddThenReLU() {
        for count in [1, 7, 8, 9, 33, 100] {
            let x = Self.specials(uniformValues(max(count, 42), seed: 1, purpose: "x \(count)")).prefix(count).map { $0 }
            let z = uniformValues(count, seed: 2, purpose: "z \(count)")
            var fused = [Float](repeating: 1, count: count), separate = fused
            fused.withUnsafeMutableBufferPointer { addReLU(x, z, into: $0.baseAddress!, count: count) }
            separate.withUnsafeMutableBufferPointer { out in
                add(x, z, into: out.baseAddress!, count: count)
                reluForward(out.baseAddress!, out.baseAddress!, count: count)
            }
            #expect(fused.map(\.bitPattern) == separate.map(\.bitPattern), "count \(count)")
        }
    }

    @Test(arguments: [true, false]) func batchNormWithReLUIsBatchNormThenReLU(training: Bool) {
        var planner = ParameterPlanner()
        let shape = Shape(channels: 3, height: 5, width: 3)
        let bn = BatchNorm2d("bn", input: shape, planner: &planner)
        let n = 4, count = shape.count * n
        let x = Self.specials(uniformValues(count, -2, 2, seed: 3, purpose: "x"))
        func run(fused: Bool) -> (output: [Float], statistics: [Float]) {
            let h = LayerHarness(bn, planner: planner, batchSize: n)
            h.input.set(x, at: 0)
            h.parameters.set(uniformValues(3, 0.5, 1.5, seed: 4, purpose: "gamma") + uniformValues(3, seed: 5, purpose: "beta"), at: 0)
            h.statistics.set(uniformValues(3, seed: 6, purpose: "mean") + uniformValues(3, 0.5, 2, seed: 7, purpose: "var"), at: 0)
            let io = LayerIO(input: h.input.base, output: h.output.base, dOutput: h.dOutput.base, dInput: h.dInput.base,
                             cache: h.cache.base, scratch: h.scratch.base, params: h.parameters.base, grads: h.gradients.base,
                             statistics: h.statistics.base, batchSize: n, training: training)
            if fused {
                bn.forward(io, relu: true)
            } else {
                bn.forward(io)
                reluForward(h.output.base, h.output.base, count: count)
            }
            return (h.output.array, h.statistics.array)
        }
        let fused = run(fused: true), separate = run(fused: false)
        #expect(fused.output.map(\.bitPattern) == separate.output.map(\.bitPattern))
        #expect(fused.statistics.map(\.bitPattern) == separate.statistics.map(\.bitPattern))
    }
}
