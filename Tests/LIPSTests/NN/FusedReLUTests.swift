import Testing
@testable import LIPS

/// The fused passes give bitwise what the separate ones give: BN then ReLU in one pass, and the
/// residual add then ReLU in one pass (BasicBlock uses both), zeros, negative zeros and NaN included;
/// BN's backward behind the ReLU's mask, and whole models with their BN → ReLU pairs fused.
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

    /// BatchNormReLU, forward then backward, against BatchNorm2d and ReLU as two layers: outputs,
    /// input gradients, parameter gradients and running statistics.
    @Test func batchNormReLULayerIsBatchNormThenReLU() {
        var planner = ParameterPlanner()
        let shape = Shape(channels: 3, height: 5, width: 3)   // 60 values per channel: vectors and a tail
        let bn = BatchNorm2d("bn", input: shape, planner: &planner)
        let relu = ReLU(name: "relu", inputShape: shape)
        let n = 4, count = shape.count * n
        let x = uniformValues(count, -2, 2, seed: 8, purpose: "x")
        let dy = Self.specials(uniformValues(count, seed: 9, purpose: "dy"))
        func harness(_ layer: any Layer) -> LayerHarness {
            let h = LayerHarness(layer, planner: planner, batchSize: n)
            h.input.set(x, at: 0)
            h.dOutput.set(dy, at: 0)
            h.parameters.set(uniformValues(3, 0.5, 1.5, seed: 4, purpose: "gamma") + uniformValues(3, seed: 5, purpose: "beta"), at: 0)
            h.statistics.set(uniformValues(3, seed: 6, purpose: "mean") + uniformValues(3, 0.5, 2, seed: 7, purpose: "var"), at: 0)
            return h
        }
        let fused = harness(BatchNormReLU(bn, relu))
        fused.forward()
        fused.backward()
        // Separately: BN into its output, ReLU from there into the fused harness's shape of buffers.
        let separateBN = harness(bn), separateReLU = harness(relu)
        separateBN.forward()
        separateReLU.input.set(separateBN.output.array, at: 0)
        separateReLU.forward()
        separateReLU.backward()
        separateBN.dOutput.set(separateReLU.dInput.array, at: 0)
        separateBN.backward()
        #expect(fused.output.array.map(\.bitPattern) == separateReLU.output.array.map(\.bitPattern))
        #expect(fused.dInput.array.map(\.bitPattern) == separateBN.dInput.array.map(\.bitPattern))
        #expect(fused.gradients.array.map(\.bitPattern) == separateBN.gradients.array.map(\.bitPattern))
        #expect(fused.statistics.array.map(\.bitPattern) == separateBN.statistics.array.map(\.bitPattern))
        #expect(fused.output.array.contains(0) && fused.output.array.contains { $0 > 0 }, "the mask is exercised")
    }

    /// `model` run with its BN → ReLU pairs as separate layers.
    static func unfused(_ model: Model) -> Model {
        var planner = ParameterPlanner()
        planner.parameters = model.parameterLayout
        planner.statistics = model.statisticsLayout
        let layers = model.layers.flatMap { layer -> [any Layer] in
            guard let pair = layer as? BatchNormReLU else { return [layer] }
            return [pair.batchNorm, pair.relu]
        }
        return Model(name: model.name, inputShape: model.inputShape, layers: layers, planner: planner,
                     linearInitialization: model.linearInitialization, fuseBatchNormReLU: false)
    }

    /// Whole models, fused and not: the same summary and layouts, and bitwise the same train-mode
    /// loss, logits, gradients and running statistics, then eval-mode logits.
    @Test(arguments: [("resnet8", 32), ("cnn", 12), ("vgg11bn", 32)])
    func modelsFuseBatchNormReLUBitwise(name: String, side: Int) throws {
        let fused = try Model.named(name, classes: 10, input: Shape(channels: 3, height: side, width: side))
        let separate = Self.unfused(fused)
        #expect(fused.layers.contains { $0 is BatchNormReLU } && !separate.layers.contains { $0 is BatchNormReLU })
        #expect(fused.layers.count < separate.layers.count)
        #expect(fused.summary.map { "\($0.name) \($0.type) \($0.outputShape) \($0.parameters) \($0.multiplyAdds)" }
                == separate.summary.map { "\($0.name) \($0.type) \($0.outputShape) \($0.parameters) \($0.multiplyAdds)" })
        #expect(fused.parameterLayout.entries.map(\.name) == separate.parameterLayout.entries.map(\.name))
        let batch = 3
        let input = uniformValues(fused.inputShape.count * batch, seed: 10, purpose: "model input")
        func run(_ model: Model) -> (loss: Double, logits: [Float], gradients: [Float], statistics: [Float], eval: [Float]) {
            let parameters = model.makeParameters(), statistics = model.makeStatistics(), gradients = model.makeParameters()
            model.initialize(parameters: parameters, statistics: statistics, seed: 11)
            let workspace = model.makeWorkspace(batchSize: batch)
            workspace.withInput { for i in input.indices { $0[i] = input[i] } }
            workspace.withLabels { for i in 0..<batch { $0[i] = Int32(i * 3 % 10) } }
            let (loss, _) = model.computeGradients(workspace, parameters: parameters, gradients: gradients,
                                                   statistics: statistics, batchSize: batch)
            let logits = workspace.withLogits { Array($0) }
            _ = model.evaluate(workspace, parameters: parameters, statistics: statistics, batchSize: batch)
            return (loss, logits, gradients.array, statistics.array, workspace.withLogits { Array($0) })
        }
        let a = run(fused), b = run(separate)
        #expect(a.loss.bitPattern == b.loss.bitPattern)
        #expect(Self.firstBitDifference(a.logits, b.logits) == nil, "train logits")
        #expect(Self.firstBitDifference(a.gradients, b.gradients) == nil, "gradients")
        #expect(Self.firstBitDifference(a.statistics, b.statistics) == nil, "running statistics")
        #expect(Self.firstBitDifference(a.eval, b.eval) == nil, "eval logits")
    }

    /// Where `a` and `b` first differ bit for bit, nil if nowhere (millions of gradients: an
    /// `==` of the arrays would have the failure message diff them).
    static func firstBitDifference(_ a: [Float], _ b: [Float]) -> Int? {
        guard a.count == b.count else { return min(a.count, b.count) }
        return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
    }
}
