extension Model {
    /// A small CNN for quick runs: two (conv 3×3 → BN → ReLU → 2×2 max-pool) stages with 32 and 64
    /// channels, global average pool, Linear(64, classes). About 20 k parameters.
    public static func cnn(classes: Int, input: Shape) -> Model {
        var planner = ParameterPlanner()
        var layers: [any Layer] = []
        var shape = input
        for (stage, channels) in [32, 64].enumerated() {
            let conv = Conv2d("features.\(stage).conv", input: shape, outputChannels: channels, kernel: 3, stride: 1, padding: 1,
                              bias: false, planner: &planner)
            layers.append(conv)
            layers.append(BatchNorm2d("features.\(stage).bn", input: conv.outputShape, planner: &planner))
            layers.append(ReLU(name: "features.\(stage).relu", inputShape: conv.outputShape))
            let pool = MaxPool2d("features.\(stage).pool", input: conv.outputShape, kernel: 2, stride: 2)
            layers.append(pool)
            shape = pool.outputShape
        }
        layers.append(GlobalAvgPool(name: "avgpool", inputShape: shape))
        layers.append(Linear("classifier", input: layers[layers.count - 1].outputShape, outputFeatures: classes, planner: &planner))
        return Model(name: "cnn", inputShape: input, layers: layers, planner: planner, linearInitialization: .pytorchDefault)
    }
}
