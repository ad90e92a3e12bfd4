import Foundation
import Testing
@testable import LIPS

// Finite-difference checks of every layer's backward, of the loss and of whole models.
//
// For a layer the objective is L = Σ output·R for a fixed random R, so backward runs with
// dOutput = R and central differences (L(x + ε) − L(x − ε)) / 2ε estimate every input and
// parameter gradient. A whole gradient vector passes when ‖fd − analytic‖ / ‖fd‖ is below the
// tolerance (a gradient written at a wrong index fails that by far), and a few single entries
// (the largest and some spread ones) are checked on their own as well.
//
// Kinks: ReLU and max-pool inputs are drawn well apart from their kinks where the test controls
// them (|x| ≥ 0.1, or distinct values 0.05 apart, with ε = 0.01), and there no step may be
// dropped. Inside BasicBlock and whole models they are not controlled, so every difference is
// taken at ε and ε/2 and the few indices where the two disagree (a kink inside the step) are left
// out, up to a bounded share. Models use the mean cross-entropy of `computeGradients` instead of
// Σ output·R.

// MARK: - Helpers

/// Plausible random parameters for `layout`: conv/linear weights ~ 1/√fan-in, biases small, BN
/// weight around 1 (never near 0) and BN bias small.
private func randomParameters(_ layout: ParameterLayout, purpose: String) -> [Float] {
    var values = [Float](repeating: 0, count: layout.count)
    for entry in layout.entries {
        var draw = Draw("\(purpose)/\(entry.name)")
        let fanIn = entry.shape.count > 1 ? entry.shape.dropFirst().reduce(1, *) : 1
        let slice: [Float]
        switch entry.kind {
        case .convWeight, .linearWeight: slice = draw.normal(entry.count, scale: 1 / Double(fanIn).squareRoot())
        case .convBias, .linearBias: slice = draw.uniform(entry.count, -0.5, 0.5)
        case .batchNormWeight: slice = draw.uniform(entry.count, 0.6, 1.4)
        case .batchNormBias, .runningMean, .runningVariance: slice = draw.uniform(entry.count, -0.3, 0.3)
        }
        values.replaceSubrange(entry.range, with: slice)
    }
    return values
}

private func norm(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 }.squareRoot() }

/// Compares an analytic gradient with its finite-difference estimate: the whole vector by relative
/// error, and single entries (the three largest and three spread ones) by `entryTolerance`.
private func compareGradients(_ analytic: [Float], _ numeric: [Double], tolerance: Double, entryTolerance: Double,
                              _ what: String, sourceLocation: SourceLocation) {
    precondition(analytic.count == numeric.count)
    guard !numeric.isEmpty else { return }
    let numericNorm = norm(numeric)
    #expect(numericNorm > 1e-6, "\(what): the finite-difference gradient is ~0; the check would be vacuous",
            sourceLocation: sourceLocation)
    #expect(!analytic.contains { !$0.isFinite }, "\(what): non-finite analytic gradient (a value left unwritten?)",
            sourceLocation: sourceLocation)
    let error = norm(zip(analytic, numeric).map { Double($0) - $1 })
    let relative = error / max(numericNorm, 1e-30)
    #expect(relative < tolerance, "\(what): ‖fd − analytic‖/‖fd‖ = \(relative) (tolerance \(tolerance)), ‖fd‖ = \(numericNorm)",
            sourceLocation: sourceLocation)
    // Single entries, scaled by the vector's largest so that near-zero entries do not dominate.
    let largest = numeric.map(abs).max()!
    let byMagnitude = numeric.indices.sorted { abs(numeric[$0]) > abs(numeric[$1]) }
    let spread = stride(from: 0, to: numeric.count, by: max(1, numeric.count / 3)).map { $0 }
    for i in Array(byMagnitude.prefix(3)) + spread {
        let difference = abs(Double(analytic[i]) - numeric[i])
        #expect(difference <= entryTolerance * (abs(numeric[i]) + 0.1 * largest),
                "\(what)[\(i)]: analytic \(analytic[i]), finite difference \(numeric[i])", sourceLocation: sourceLocation)
    }
}

/// One central difference of `objective` with respect to `arena[i]`; the step actually taken
/// (after rounding to Float) divides the difference.
private func centralDifference(_ arena: Arena, _ i: Int, epsilon: Float, _ objective: () -> Double) -> Double {
    let saved = arena[i]
    let plus = saved + epsilon, minus = saved - epsilon
    arena[i] = plus
    let high = objective()
    arena[i] = minus
    let low = objective()
    arena[i] = saved
    return (high - low) / (Double(plus) - Double(minus))
}

/// Finite-difference estimates of some arena indices; `dropped` counts the indices left out.
private struct FiniteDifferences {
    /// Positions in the requested index list that were kept.
    var kept: [Int] = []
    var values: [Double] = []
    var dropped = 0
}

/// Central differences with respect to `arena[i]` for each of `indices`, at ε and at ε/2. Where the
/// two disagree by more than smooth curvature and rounding allow, a kink (a ReLU input or a max-pool
/// tie inside ±ε) sits in the step and the index is dropped; this says nothing about the analytic
/// gradient, so a wrong backward cannot hide behind it. `noise` bounds the objective's own rounding.
private func finiteDifferences(_ arena: Arena, indices: [Int], epsilon: Float, noise: Double,
                               _ objective: () -> Double) -> FiniteDifferences {
    var result = FiniteDifferences()
    for (position, i) in indices.enumerated() {
        let coarse = centralDifference(arena, i, epsilon: epsilon, objective)
        let fine = centralDifference(arena, i, epsilon: epsilon / 2, objective)
        let allowed = 5e-3 * max(abs(coarse), abs(fine)) + 3 * noise / Double(epsilon)
        if abs(coarse - fine) <= allowed {
            result.kept.append(position)
            result.values.append(coarse)
        } else {
            result.dropped += 1
        }
    }
    return result
}

/// Checks `analytic` (one value per requested index) against the kept finite differences, and
/// that at most `maxDropped` of the indices had to be dropped for a kink.
private func compareGradients(_ analytic: [Float], _ numeric: FiniteDifferences, maxDropped: Double, tolerance: Double,
                              entryTolerance: Double, _ what: String, sourceLocation: SourceLocation) {
    let total = numeric.kept.count + numeric.dropped
    #expect(Double(numeric.dropped) <= maxDropped * Double(total),
            "\(what): \(numeric.dropped) of \(total) finite differences crossed a kink", sourceLocation: sourceLocation)
    #expect(!analytic.contains { !$0.isFinite }, "\(what): non-finite analytic gradient (a value left unwritten?)",
            sourceLocation: sourceLocation)
    compareGradients(numeric.kept.map { analytic[$0] }, numeric.values, tolerance: tolerance, entryTolerance: entryTolerance,
                     what, sourceLocation: sourceLocation)
}

/// Every index of `count` when small, else `limit` indices spread over it.
private func sampleIndices(_ count: Int, limit: Int, purpose: String) -> [Int] {
    if count <= limit { return Array(0..<count) }
    var stream = RandomStream(seed: 5, purpose: purpose)
    return Array(Array(0..<count).shuffled(using: &stream).prefix(limit)).sorted()
}

/// Gradient check of one layer in train mode, inputs and parameters.
private func checkLayer(
    _ layer: any Layer, planner: ParameterPlanner, batchSize: Int, input: [Float], parameters: [Float]? = nil,
    epsilon: Float = 1e-2, tolerance: Double = 1e-2, entryTolerance: Double = 2e-2, limit: Int = 400,
    maxDropped: Double = 0, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    let harness = LayerHarness(layer, planner: planner, batchSize: batchSize)
    precondition(input.count == harness.input.count, "\(what): input has \(input.count) values, layer takes \(harness.input.count)")
    harness.input.set(input, at: 0)
    if planner.parameters.count > 0 {
        harness.parameters.set(parameters ?? randomParameters(planner.parameters, purpose: what), at: 0)
    }
    harness.statistics.fill(1)
    var draw = Draw("R \(what)")
    let r = Arena(count: harness.output.count)
    r.set(draw.normal(r.count), at: 0)

    // Analytic: dOutput = R; NaN in dInput catches values backward leaves unwritten.
    harness.forward(training: true)
    harness.dOutput.copy(from: r)
    harness.gradients.fill(0)
    harness.dInput.fill(.nan)
    harness.backward()
    let analyticInput = harness.dInput.array
    let analyticParameters = harness.gradients.array

    let objective = { () -> Double in
        harness.forward(training: true)
        return dot(harness.output.base, r.base, count: r.count)
    }
    // Rounding of the objective: the outputs' Float rounding (relative 6e-8, random signs), with margin.
    var magnitude = 0.0
    for i in 0..<r.count { magnitude += abs(Double(harness.output[i]) * Double(r[i])) }
    let noise = 2e-8 * magnitude
    let inputIndices = sampleIndices(harness.input.count, limit: limit, purpose: "input \(what)")
    let numericInput = finiteDifferences(harness.input, indices: inputIndices, epsilon: epsilon, noise: noise, objective)
    compareGradients(inputIndices.map { analyticInput[$0] }, numericInput, maxDropped: maxDropped, tolerance: tolerance,
                     entryTolerance: entryTolerance, "\(what) dInput", sourceLocation: sourceLocation)

    // Each parameter tensor on its own, so a small one (a bias) is not hidden by a large one.
    for entry in planner.parameters.entries {
        let indices = sampleIndices(entry.count, limit: limit, purpose: "\(entry.name) \(what)").map { $0 + entry.offset }
        let numeric = finiteDifferences(harness.parameters, indices: indices, epsilon: epsilon, noise: noise, objective)
        compareGradients(indices.map { analyticParameters[$0] }, numeric, maxDropped: maxDropped, tolerance: tolerance,
                         entryTolerance: entryTolerance, "\(what) d\(entry.name)", sourceLocation: sourceLocation)
    }
}

// MARK: - Layers

@Suite struct GradientCheckTests {
    struct ConvCase: CustomStringConvertible, Sendable {
        var input: Shape, outputChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool, batch: Int
        var description: String {
            "conv \(input)→\(outputChannels) k\(kernel) s\(stride) p\(padding)\(bias ? " bias" : "") N\(batch)"
        }
    }

    static let convCases: [ConvCase] = [
        ConvCase(input: Shape(channels: 3, height: 7, width: 6), outputChannels: 4, kernel: 3, stride: 1, padding: 1, bias: false, batch: 2),
        ConvCase(input: Shape(channels: 3, height: 7, width: 6), outputChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true, batch: 2),
        ConvCase(input: Shape(channels: 2, height: 9, width: 8), outputChannels: 3, kernel: 3, stride: 2, padding: 1, bias: false, batch: 2),
        ConvCase(input: Shape(channels: 2, height: 11, width: 9), outputChannels: 3, kernel: 7, stride: 2, padding: 3, bias: false, batch: 2),
        // Pointwise: the input is the col matrix and dInput the dCol.
        ConvCase(input: Shape(channels: 4, height: 5, width: 6), outputChannels: 3, kernel: 1, stride: 1, padding: 0, bias: false, batch: 3),
        ConvCase(input: Shape(channels: 4, height: 5, width: 6), outputChannels: 3, kernel: 1, stride: 1, padding: 0, bias: true, batch: 2),
        // 1×1 stride 2: the projection shortcut, through im2col.
        ConvCase(input: Shape(channels: 4, height: 7, width: 6), outputChannels: 5, kernel: 1, stride: 2, padding: 0, bias: false, batch: 2),
        ConvCase(input: Shape(channels: 2, height: 6, width: 5), outputChannels: 3, kernel: 3, stride: 1, padding: 0, bias: true, batch: 2),
    ]

    @Test(arguments: GradientCheckTests.convCases)
    func conv2d(_ c: ConvCase) {
        var planner = ParameterPlanner()
        let conv = Conv2d("conv", input: c.input, outputChannels: c.outputChannels, kernel: c.kernel, stride: c.stride,
                          padding: c.padding, bias: c.bias, planner: &planner)
        var draw = Draw("input \(c)")
        checkLayer(conv, planner: planner, batchSize: c.batch, input: draw.normal(c.input.count * c.batch), c.description)
    }

    @Test(arguments: [(3, 4, 5, 3), (2, 2, 2, 2), (4, 1, 1, 6)])
    func batchNorm2dTrainMode(channels: Int, height: Int, width: Int, batch: Int) {
        var planner = ParameterPlanner()
        let shape = Shape(channels: channels, height: height, width: width)
        let bn = BatchNorm2d("bn", input: shape, planner: &planner)
        // Each channel with its own mean and spread, so the normalisation does real work.
        var draw = Draw("bn input \(shape) \(batch)")
        let m = batch * shape.spatial
        var input: [Float] = []
        for c in 0..<channels {
            let mean = Double(c) - 1, spread = 0.5 + Double(c)
            input += draw.normal(m).map { Float(mean + spread * Double($0)) }
        }
        checkLayer(bn, planner: planner, batchSize: batch, input: input, "batchnorm \(shape) N\(batch)")
    }

    @Test func relu() {
        let shape = Shape(channels: 3, height: 4, width: 5)
        var draw = Draw("relu")
        // |x| ≥ 0.1 and ε = 0.01: no value crosses the kink.
        checkLayer(ReLU(name: "relu", inputShape: shape), planner: ParameterPlanner(), batchSize: 2,
                   input: draw.awayFromZero(shape.count * 2, margin: 0.1), "relu")
    }

    @Test(arguments: [(3, 2, 1, 9, 8), (2, 2, 0, 8, 6), (3, 2, 1, 8, 8), (2, 2, 0, 7, 5)])
    func maxPool2d(kernel: Int, stride: Int, padding: Int, height: Int, width: Int) {
        let shape = Shape(channels: 3, height: height, width: width)
        let pool = MaxPool2d("pool", input: shape, kernel: kernel, stride: stride, padding: padding)
        var draw = Draw("maxpool \(kernel) \(stride) \(padding) \(height) \(width)")
        // Distinct values 0.05 apart (half negative) and ε = 0.01: no window changes its maximum.
        checkLayer(pool, planner: ParameterPlanner(), batchSize: 2, input: draw.distinct(shape.count * 2, spacing: 0.05),
                   "maxpool k\(kernel) s\(stride) p\(padding) \(height)x\(width)")
    }

    @Test func globalAvgPool() {
        let shape = Shape(channels: 4, height: 3, width: 5)
        var draw = Draw("gap")
        checkLayer(GlobalAvgPool(name: "avgpool", inputShape: shape), planner: ParameterPlanner(), batchSize: 3,
                   input: draw.normal(shape.count * 3), "globalavgpool")
    }

    @Test func flatten() {
        let shape = Shape(channels: 3, height: 2, width: 4)
        var draw = Draw("flatten")
        checkLayer(Flatten(name: "flatten", inputShape: shape), planner: ParameterPlanner(), batchSize: 3,
                   input: draw.normal(shape.count * 3), "flatten")
    }

    @Test func linear() {
        var planner = ParameterPlanner()
        let layer = Linear("fc", input: Shape(channels: 7, height: 1, width: 1), outputFeatures: 5, planner: &planner)
        var draw = Draw("linear")
        checkLayer(layer, planner: planner, batchSize: 3, input: draw.normal(7 * 3), "linear")
    }

    /// (input channels, planes, stride): identity, projection by stride, projection by channels.
    @Test(arguments: [(4, 4, 1), (3, 5, 2), (3, 4, 1)])
    func basicBlock(inputChannels: Int, planes: Int, stride: Int) {
        var planner = ParameterPlanner()
        let shape = Shape(channels: inputChannels, height: 6, width: 6)
        let block = BasicBlock("block", input: shape, planes: planes, stride: stride, planner: &planner)
        #expect((block.shortcut == nil) == (inputChannels == planes && stride == 1))
        var draw = Draw("block input \(inputChannels) \(planes) \(stride)")
        // The block's ReLUs see values it does not control, and one weight moves hundreds of them:
        // a small ε keeps most steps clear of a kink; the few that cross one are dropped.
        checkLayer(block, planner: planner, batchSize: 2, input: draw.normal(shape.count * 2), epsilon: 5e-4,
                   tolerance: 1e-2, entryTolerance: 2e-2, maxDropped: 0.2,
                   "basicblock \(inputChannels)→\(planes) s\(stride)")
    }

    // MARK: - Loss

    @Test(arguments: [(5, 4), (2, 3), (10, 1)])
    func softmaxCrossEntropyGradient(classes: Int, batch: Int) {
        var draw = Draw("ce \(classes) \(batch)")
        let logits = Arena(count: classes * batch)
        logits.set(draw.normal(logits.count, scale: 2), at: 0)
        let labels: [Int32] = (0..<batch).map { Int32(($0 * 3 + 1) % classes) }
        let dLogits = Arena(count: logits.count)
        dLogits.fill(.nan)
        let result = labels.withUnsafeBufferPointer { labels in
            softmaxCrossEntropy(logits: logits.base, labels: labels.baseAddress!, classes: classes, batchSize: batch,
                                dLogits: dLogits.base)
        }
        // The loss itself, from its definition: mean of logsumexp − logit[label].
        var expected = 0.0, correct = 0
        for n in 0..<batch {
            let column = (0..<classes).map { Double(logits[$0 * batch + n]) }
            expected += log(column.map { exp($0) }.reduce(0, +)) - column[Int(labels[n])]
            if column.firstIndex(of: column.max()!)! == Int(labels[n]) { correct += 1 }
        }
        expected /= Double(batch)
        #expect(abs(result.loss - expected) <= 1e-6 * max(1, expected), "loss \(result.loss), expected \(expected)")
        #expect(result.correct == correct)

        let loss = { () -> Double in
            labels.withUnsafeBufferPointer { labels in
                softmaxCrossEntropy(logits: logits.base, labels: labels.baseAddress!, classes: classes, batchSize: batch,
                                    dLogits: nil).loss
            }
        }
        let numeric = finiteDifferences(logits, indices: Array(0..<logits.count), epsilon: 1e-2, noise: 1e-6, loss)
        compareGradients(dLogits.array, numeric, maxDropped: 0, tolerance: 1e-3, entryTolerance: 1e-3,
                         "dLogits K\(classes) N\(batch)",
                         sourceLocation: #_sourceLocation)
        // Each sample's gradient column sums to 0 (softmax minus one-hot, over N).
        for n in 0..<batch {
            let columnSum = (0..<classes).reduce(0.0) { $0 + Double(dLogits[$1 * batch + n]) }
            #expect(abs(columnSum) < 1e-6)
        }
    }

    // MARK: - The gradient contract

    /// Backward twice after one forward: parameter gradients accumulate (exactly double), the
    /// input gradient is overwritten (the same, whatever the buffer held).
    private static func checkContract(_ layer: any Layer, planner: ParameterPlanner, batchSize: Int, _ what: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        let harness = LayerHarness(layer, planner: planner, batchSize: batchSize)
        var draw = Draw("contract \(what)")
        harness.input.set(draw.normal(harness.input.count), at: 0)
        if planner.parameters.count > 0 {
            harness.parameters.set(randomParameters(planner.parameters, purpose: "contract \(what)"), at: 0)
        }
        harness.forward(training: true)
        harness.dOutput.set(draw.normal(harness.dOutput.count), at: 0)
        harness.gradients.fill(0)
        harness.dInput.fill(.nan)
        harness.backward()
        let firstGradients = harness.gradients.array, firstInput = harness.dInput.array
        harness.dInput.fill(123)
        harness.backward()
        expectClose(harness.gradients.array, firstGradients.map { 2 * $0 }, rtol: 1e-5, atol: 1e-6,
                    "\(what): parameter gradients after two backwards", sourceLocation: sourceLocation)
        expectClose(harness.dInput.array, firstInput, rtol: 1e-6, atol: 0, "\(what): dInput after a second backward",
                    sourceLocation: sourceLocation)
        #expect(!firstInput.contains { !$0.isFinite }, "\(what): dInput not fully written", sourceLocation: sourceLocation)
        if planner.parameters.count > 0 {
            #expect(firstGradients.contains { $0 != 0 }, "\(what): no parameter gradient at all", sourceLocation: sourceLocation)
        }
    }

    @Test func gradientContract() {
        let shape = Shape(channels: 3, height: 6, width: 5)
        do {
            var planner = ParameterPlanner()
            let conv = Conv2d("conv", input: shape, outputChannels: 4, kernel: 3, stride: 2, padding: 1, bias: true, planner: &planner)
            Self.checkContract(conv, planner: planner, batchSize: 2, "conv 3x3/2 bias")
        }
        do {
            var planner = ParameterPlanner()
            let conv = Conv2d("conv", input: shape, outputChannels: 4, kernel: 1, bias: true, planner: &planner)
            Self.checkContract(conv, planner: planner, batchSize: 2, "conv 1x1 pointwise bias")
        }
        do {
            var planner = ParameterPlanner()
            Self.checkContract(BatchNorm2d("bn", input: shape, planner: &planner), planner: planner, batchSize: 2, "batchnorm")
        }
        do {
            var planner = ParameterPlanner()
            let fc = Linear("fc", input: Shape(channels: 6, height: 1, width: 1), outputFeatures: 4, planner: &planner)
            Self.checkContract(fc, planner: planner, batchSize: 3, "linear")
        }
        do {
            var planner = ParameterPlanner()
            let block = BasicBlock("block", input: shape, planes: 4, stride: 2, planner: &planner)
            Self.checkContract(block, planner: planner, batchSize: 2, "basicblock projection")
        }
        do {
            var planner = ParameterPlanner()
            let block = BasicBlock("block", input: shape, planes: 3, stride: 1, planner: &planner)
            Self.checkContract(block, planner: planner, batchSize: 2, "basicblock identity")
        }
        Self.checkContract(ReLU(name: "relu", inputShape: shape), planner: ParameterPlanner(), batchSize: 2, "relu")
        Self.checkContract(MaxPool2d("pool", input: shape, kernel: 3, stride: 2, padding: 1), planner: ParameterPlanner(),
                           batchSize: 2, "maxpool")
        Self.checkContract(GlobalAvgPool(name: "gap", inputShape: shape), planner: ParameterPlanner(), batchSize: 2, "avgpool")
        Self.checkContract(Flatten(name: "flatten", inputShape: shape), planner: ParameterPlanner(), batchSize: 2, "flatten")
    }

    // MARK: - Whole models

    /// `computeGradients` against central differences of the mean cross-entropy of a train-mode
    /// forward, for a sample of every parameter tensor's entries.
    private static func checkModel(_ model: Model, batchSize: Int, perEntry: Int, epsilon: Float, tolerance: Double,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        let parameters = model.makeParameters(), statistics = model.makeStatistics(), gradients = model.makeParameters()
        model.initialize(parameters: parameters, statistics: statistics, seed: 42)
        let workspace = model.makeWorkspace(batchSize: batchSize)
        var draw = Draw("model input \(model.name)")
        let input = draw.normal(model.inputShape.count * batchSize)
        workspace.withInput { buffer in
            for i in 0..<input.count { buffer[i] = input[i] }
        }
        workspace.withLabels { labels in
            for n in 0..<batchSize { labels[n] = Int32((n * 2 + 1) % model.classes) }
        }
        let result = model.computeGradients(workspace, parameters: parameters, gradients: gradients, statistics: statistics,
                                            batchSize: batchSize)
        let analytic = gradients.array
        let loss = { () -> Double in
            model.forward(workspace, parameters: parameters, statistics: statistics, batchSize: batchSize, training: true)
            return model.loss(workspace, batchSize: batchSize, gradient: false).loss
        }
        #expect(result.loss.isFinite && abs(result.loss - loss()) < 1e-9, "\(model.name): computeGradients' loss differs",
                sourceLocation: sourceLocation)

        // Indices: per tensor, the entries with the largest analytic gradients plus random ones.
        var indices: [Int] = []
        for entry in model.parameterLayout.entries {
            let byMagnitude = entry.range.sorted { abs(analytic[$0]) > abs(analytic[$1]) }
            indices += byMagnitude.prefix(perEntry / 2)
            indices += sampleIndices(entry.count, limit: perEntry - perEntry / 2, purpose: entry.name).map { $0 + entry.offset }
        }
        indices = Array(Set(indices)).sorted()
        // The loss's rounding, as measured: about 1e-7 of it (Float logits through a deep net).
        let noise = 1e-7 * max(1, result.loss)
        let numeric = finiteDifferences(parameters, indices: indices, epsilon: epsilon, noise: noise, loss)
        compareGradients(indices.map { analytic[$0] }, numeric, maxDropped: 0.25, tolerance: tolerance, entryTolerance: 5e-2,
                         "\(model.name) parameters", sourceLocation: sourceLocation)
        // Per tensor as well, so that a small tensor's error is not hidden by a large one's gradient.
        for entry in model.parameterLayout.entries {
            let mine = numeric.kept.indices.filter { entry.range.contains(indices[numeric.kept[$0]]) }
            let fd = mine.map { numeric.values[$0] }, an = mine.map { analytic[indices[numeric.kept[$0]]] }
            #expect(mine.count >= 2, "\(model.name) d\(entry.name): only \(mine.count) indices without a kink",
                    sourceLocation: sourceLocation)
            // A gradient that is 0 in exact arithmetic (a conv bias right before a BN) is only noise.
            let noiseLevel = 10 * noise / Double(epsilon) * Double(max(1, fd.count)).squareRoot()
            if norm(fd) < noiseLevel {
                #expect(norm(an.map(Double.init)) < noiseLevel, "\(model.name) d\(entry.name): ‖analytic‖ \(norm(an.map(Double.init))), ‖fd‖ \(norm(fd))",
                        sourceLocation: sourceLocation)
                continue
            }
            let relative = norm(zip(an, fd).map { Double($0) - $1 }) / norm(fd)
            // Looser than the whole vector: a handful of entries, each with the kinks the filter lets through.
            #expect(relative < 5 * tolerance, "\(model.name) d\(entry.name): relative error \(relative), ‖fd‖ \(norm(fd))",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func resnet4Gradients() {
        let model = Model.resnet(depth: 4, classes: 5, input: Shape(channels: 3, height: 16, width: 16))
        Self.checkModel(model, batchSize: 4, perEntry: 8, epsilon: 2e-3, tolerance: 1e-2)
    }

    @Test func resnet6Gradients() {
        let model = Model.resnet(depth: 6, classes: 5, input: Shape(channels: 3, height: 16, width: 16))
        Self.checkModel(model, batchSize: 4, perEntry: 6, epsilon: 2e-3, tolerance: 1e-2)
    }

    @Test func cnnGradients() {
        let model = Model.cnn(classes: 5, input: Shape(channels: 3, height: 8, width: 8))
        Self.checkModel(model, batchSize: 4, perEntry: 8, epsilon: 2e-3, tolerance: 1e-2)
    }

    /// A small VGG-like model whose last feature map is 2×2, so a Flatten feeds the classifier:
    /// conv 3×3 (bias) → BN → ReLU → 2×2 max-pool → Flatten → Linear.
    @Test func flattenModelGradients() {
        var planner = ParameterPlanner()
        let input = Shape(channels: 3, height: 8, width: 8)
        let conv = Conv2d("features.0", input: input, outputChannels: 6, kernel: 3, stride: 1, padding: 1, bias: true,
                          planner: &planner)
        let bn = BatchNorm2d("features.1", input: conv.outputShape, planner: &planner)
        let relu = ReLU(name: "features.2", inputShape: conv.outputShape)
        let pool1 = MaxPool2d("features.3", input: conv.outputShape, kernel: 2, stride: 2)
        let pool2 = MaxPool2d("features.4", input: pool1.outputShape, kernel: 2, stride: 2)
        let flatten = Flatten(name: "flatten", inputShape: pool2.outputShape)
        let classifier = Linear("classifier.0", input: flatten.outputShape, outputFeatures: 4, planner: &planner)
        let model = Model(name: "flat", inputShape: input, layers: [conv, bn, relu, pool1, pool2, flatten, classifier],
                          planner: planner, linearInitialization: .normal(standardDeviation: 0.3))
        #expect(flatten.inputShape == Shape(channels: 6, height: 2, width: 2))
        Self.checkModel(model, batchSize: 3, perEntry: 24, epsilon: 2e-3, tolerance: 1e-2)
    }

    /// The step zeroes the gradient arena: two calls give the same gradients, not double.
    @Test func computeGradientsZeroesTheArena() {
        let model = Model.cnn(classes: 3, input: Shape(channels: 2, height: 8, width: 8))
        let parameters = model.makeParameters(), statistics = model.makeStatistics(), gradients = model.makeParameters()
        model.initialize(parameters: parameters, statistics: statistics, seed: 7)
        let workspace = model.makeWorkspace(batchSize: 3)
        var draw = Draw("zeroes")
        let input = draw.normal(model.inputShape.count * 3)
        workspace.withInput { for i in 0..<input.count { $0[i] = input[i] } }
        workspace.withLabels { for n in 0..<3 { $0[n] = Int32(n) } }
        gradients.fill(1000)
        model.computeGradients(workspace, parameters: parameters, gradients: gradients, statistics: statistics, batchSize: 3)
        let first = gradients.array
        model.computeGradients(workspace, parameters: parameters, gradients: gradients, statistics: statistics, batchSize: 3)
        expectClose(gradients.array, first, rtol: 1e-5, atol: 1e-7, "second computeGradients")
        #expect(first.allSatisfy { abs($0) < 100 }, "stale gradient values survived the step")
    }
}
