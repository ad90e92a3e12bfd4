// input (C, M) with M = N·H·W, output (C, M); gamma, beta (C); running mean and variance (C).

/// BatchNorm over the channels, as PyTorch's `nn.BatchNorm2d` (affine, tracking running statistics).
///
/// Train mode normalises with the batch's mean and biased variance and updates the running
/// statistics with `new = (1 − momentum)·old + momentum·batch`, the variance unbiased (M / (M − 1)).
/// Eval mode normalises with the running statistics.
struct BatchNorm2d: Layer {
    let name: String
    let inputShape: Shape
    var outputShape: Shape { inputShape }
    let epsilon: Float
    let momentum: Float
    let weightOffset: Int
    let biasOffset: Int
    let meanOffset: Int
    let varianceOffset: Int

    init(_ name: String, input: Shape, epsilon: Float = 1e-5, momentum: Float = 0.1, planner: inout ParameterPlanner) {
        self.name = name
        self.inputShape = input
        self.epsilon = epsilon
        self.momentum = momentum
        let c = input.channels
        weightOffset = planner.claim("\(name).weight", shape: [c], kind: .batchNormWeight)
        biasOffset = planner.claim("\(name).bias", shape: [c], kind: .batchNormBias)
        meanOffset = planner.claimStatistic("\(name).running_mean", count: c, kind: .runningMean)
        varianceOffset = planner.claimStatistic("\(name).running_var", count: c, kind: .runningVariance)
    }

    /// Per channel: the batch mean, then 1/√(var + ε).
    func cacheCount(batchSize: Int) -> Int { 2 * inputShape.channels }
    func scratchCount(batchSize: Int) -> Int { 0 }

    func forward(_ io: LayerIO) { forward(io, relu: false) }

    /// With `relu`, the output is ReLU(BN(x)), written in the same pass (bitwise what a separate
    /// ReLU layer would give).
    func forward(_ io: LayerIO, relu: Bool) {
        let channels = inputShape.channels
        let m = io.batchSize * inputShape.spatial
        for c in 0..<channels {
            let x = io.input + c * m
            let y = io.output + c * m
            let mean: Float, inverseStd: Float
            if io.training {
                let stats = meanAndVariance(x, count: m)
                mean = Float(stats.mean)
                inverseStd = Float(1 / (stats.variance + Double(epsilon)).squareRoot())
                let unbiased = m > 1 ? stats.variance * Double(m) / Double(m - 1) : stats.variance
                let runningMean = io.statistics + meanOffset + c
                let runningVariance = io.statistics + varianceOffset + c
                runningMean.pointee = (1 - momentum) * runningMean.pointee + momentum * mean
                runningVariance.pointee = (1 - momentum) * runningVariance.pointee + momentum * Float(unbiased)
                io.cache[c] = mean
                io.cache[channels + c] = inverseStd
            } else {
                mean = io.statistics[meanOffset + c]
                inverseStd = 1 / (io.statistics[varianceOffset + c] + epsilon).squareRoot()
            }
            let scale = io.params[weightOffset + c] * inverseStd
            let shift = io.params[biasOffset + c] - mean * scale
            if relu {
                for i in 0..<m {
                    let v = x[i] * scale + shift
                    y[i] = v >= 0 ? v : 0
                }
            } else {
                for i in 0..<m { y[i] = x[i] * scale + shift }
            }
        }
    }

    func backward(_ io: LayerIO) { backward(io, reluOutput: nil) }

    /// With `reluOutput`, the output of `forward(_:relu: true)`, `io.dOutput` is the gradient at the
    /// ReLU's output, masked as it is read (0 where the output is not positive, as `reluBackward`):
    /// bitwise a separate ReLU backward then this one, without the pass in between.
    func backward(_ io: LayerIO, reluOutput: UnsafePointer<Float>?) {
        precondition(io.training, "BatchNorm2d \(name): backward needs a train-mode forward")
        let channels = inputShape.channels
        let m = io.batchSize * inputShape.spatial
        for c in 0..<channels {
            let x = io.input + c * m
            let dy = BatchNormGradient(dOutput: io.dOutput + c * m, reluOutput: reluOutput.map { $0 + c * m })
            let mean = io.cache[c]
            let inverseStd = io.cache[channels + c]
            // Σ dy and Σ dy·x̂ with x̂ = (x − mean)·inverseStd, in eight Double lanes (see Reductions).
            let means = FloatVector(repeating: mean), inverseStds = FloatVector(repeating: inverseStd)
            var dyLanes = DoubleVector(), dyXhatLanes = DoubleVector()
            let whole = vectorPrefix(m)
            for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
                let d = DoubleVector(dy.vector(i))
                dyLanes += d
                dyXhatLanes += d * DoubleVector((loadVector(x + i) - means) * inverseStds)
            }
            var sumDy = inOrder(dyLanes), sumDyXhat = inOrder(dyXhatLanes)
            for i in whole..<m {
                let d = Double(dy[i])
                sumDy += d
                sumDyXhat += d * Double((x[i] - mean) * inverseStd)
            }
            io.grads[weightOffset + c] += Float(sumDyXhat)
            io.grads[biasOffset + c] += Float(sumDy)
            guard let dInput = io.dInput else { continue }
            // dx = γ·σ⁻¹/M · (M·dy − Σdy − x̂·Σ(dy·x̂))
            let dx = dInput + c * m
            let gamma = io.params[weightOffset + c]
            let factor = gamma * inverseStd
            let meanDy = Float(sumDy / Double(m))
            let meanDyXhat = Float(sumDyXhat / Double(m))
            let factors = FloatVector(repeating: factor), meanDys = FloatVector(repeating: meanDy)
            let meanDyXhats = FloatVector(repeating: meanDyXhat)
            for i in stride(from: 0, to: whole, by: FloatVector.scalarCount) {
                let xhat = (loadVector(x + i) - means) * inverseStds
                storeVector(factors * (dy.vector(i) - meanDys - xhat * meanDyXhats), dx + i)
            }
            for i in whole..<m {
                let xhat = (x[i] - mean) * inverseStd
                dx[i] = factor * (dy[i] - meanDy - xhat * meanDyXhat)
            }
        }
    }

    var summary: [LayerSummary] {
        [LayerSummary(name: name, type: "BatchNorm2d", outputShape: outputShape, parameters: 2 * inputShape.channels, multiplyAdds: 0)]
    }
}

/// The gradient at a BatchNorm's output: `dOutput` itself, or, behind a fused ReLU, `dOutput`
/// where the ReLU's output is positive and +0 elsewhere (`reluBackward`'s selects, vector and scalar).
private struct BatchNormGradient {
    let dOutput: UnsafePointer<Float>
    let reluOutput: UnsafePointer<Float>?

    @inline(__always)
    func vector(_ i: Int) -> FloatVector {
        guard let reluOutput else { return loadVector(dOutput + i) }
        return FloatVector.zero.replacing(with: loadVector(dOutput + i), where: loadVector(reluOutput + i) .> 0)
    }

    @inline(__always)
    subscript(i: Int) -> Float {
        guard let reluOutput else { return dOutput[i] }
        return reluOutput[i] > 0 ? dOutput[i] : 0
    }
}
