// input (F, N), weight (K, F), bias (K), output (K, N).

/// Fully connected layer, as PyTorch's `nn.Linear` with bias; features are channel-major columns.
struct Linear: Layer {
    let name: String
    let inputShape: Shape
    let outputShape: Shape
    let weightOffset: Int
    let biasOffset: Int

    init(_ name: String, input: Shape, outputFeatures: Int, planner: inout ParameterPlanner) {
        precondition(input.spatial == 1, "Linear \(name): input \(input) must be a vector; flatten first")
        self.name = name
        self.inputShape = input
        outputShape = Shape(channels: outputFeatures, height: 1, width: 1)
        weightOffset = planner.claim("\(name).weight", shape: [outputFeatures, input.channels], kind: .linearWeight)
        biasOffset = planner.claim("\(name).bias", shape: [outputFeatures], kind: .linearBias)
    }

    func cacheCount(batchSize: Int) -> Int { 0 }
    func scratchCount(batchSize: Int) -> Int { 0 }

    func forward(_ io: LayerIO) {
        let n = io.batchSize, f = inputShape.channels, k = outputShape.channels
        // A plain loop, not `gemm`: this product is tiny (ResNet-8: 10 × 256 × 100, a negligible
        // share of a step's FLOPs) and OpenBLAS routes it to its small-matrix "nn" kernel, which
        // mallocs on every call; the training loop must not allocate. Rows start as the bias.
        let weights = io.params + weightOffset
        for row in 0..<k {
            let out = io.output + row * n
            fill(out, io.params[biasOffset + row], count: n)
            for feature in 0..<f {
                let w = weights[row * f + feature]
                let x = io.input + feature * n
                for sample in 0..<n { out[sample] += w * x[sample] }
            }
        }
    }

    func backward(_ io: LayerIO) {
        let n = io.batchSize, f = inputShape.channels, k = outputShape.channels
        gemm(.noTranspose, .transpose, m: k, n: f, k: n, a: io.dOutput, lda: n,
             b: io.input, ldb: n, beta: 1, c: io.grads + weightOffset, ldc: f)
        for row in 0..<k {
            io.grads[biasOffset + row] += Float(sum(io.dOutput + row * n, count: n))
        }
        guard let dInput = io.dInput else { return }
        gemm(.transpose, .noTranspose, m: f, n: n, k: k, a: io.params + weightOffset, lda: f,
             b: io.dOutput, ldb: n, beta: 0, c: dInput, ldc: n)
    }

    var summary: [LayerSummary] {
        [LayerSummary(name: name, type: "Linear", outputShape: outputShape,
                      parameters: outputShape.channels * (inputShape.channels + 1),
                      multiplyAdds: outputShape.channels * inputShape.channels)]
    }
}
