extension Model {
    /// The authors' ResNet (docs/semantics.md §3): 7×7/2 stem conv (64, no bias) → BN → ReLU → 3×3/2
    /// max-pool (pad 1) → BasicBlock stages with planes 64, 128, 256, 512 (first stride 1, then 2)
    /// → global average pool → Linear. Depth 4/6/8/10 = 1/2/3/4 stages of one block; 18 = four
    /// stages of two blocks. Names follow the PyTorch module (`conv1`, `layers.S.B.conv1`, `classifier`).
    public static func resnet(depth: Int, classes: Int, input: Shape) -> Model {
        let blocksPerStage: [Int]
        switch depth {
        case 4: blocksPerStage = [1]
        case 6: blocksPerStage = [1, 1]
        case 8: blocksPerStage = [1, 1, 1]
        case 10: blocksPerStage = [1, 1, 1, 1]
        case 18: blocksPerStage = [2, 2, 2, 2]
        default: preconditionFailure("ResNet depth \(depth) is not one of 4, 6, 8, 10, 18")
        }
        var planner = ParameterPlanner()
        var layers: [any Layer] = []
        let stem = Conv2d("conv1", input: input, outputChannels: 64, kernel: 7, stride: 2, padding: 3, bias: false, planner: &planner)
        layers.append(stem)
        layers.append(BatchNorm2d("bn1", input: stem.outputShape, planner: &planner))
        layers.append(ReLU(name: "relu", inputShape: stem.outputShape))
        layers.append(MaxPool2d("maxpool", input: stem.outputShape, kernel: 3, stride: 2, padding: 1))
        var shape = layers[layers.count - 1].outputShape
        let planes = [64, 128, 256, 512]
        for (stage, blocks) in blocksPerStage.enumerated() {
            for block in 0..<blocks {
                let stride = stage > 0 && block == 0 ? 2 : 1
                let basic = BasicBlock("layers.\(stage).\(block)", input: shape, planes: planes[stage], stride: stride, planner: &planner)
                layers.append(basic)
                shape = basic.outputShape
            }
        }
        layers.append(GlobalAvgPool(name: "avgpool", inputShape: shape))
        layers.append(Linear("classifier", input: layers[layers.count - 1].outputShape, outputFeatures: classes, planner: &planner))
        return Model(name: "resnet\(depth)", inputShape: input, layers: layers, planner: planner,
                     linearInitialization: .pytorchDefault)
    }
}
