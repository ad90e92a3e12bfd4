extension Model {
    /// The authors' VGG-bn configs: 'A' (VGG-11, five convs), 'B' (VGG-13) and 'D' (VGG-16).
    static let vggConfigurations: [Int: [Int?]] = [
        11: [64, nil, 128, nil, 256, nil, 512, nil, 512, nil],
        13: [64, 64, nil, 128, 128, nil, 256, 256, nil, 512, 512, nil, 512, 512, nil],
        16: [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil],
    ]

    /// VGG with BatchNorm (docs/semantics.md §3): each conv 3×3 pad 1 *with* bias → BN → ReLU, `nil` a 2×2
    /// max-pool, then Linear(512·h·w, classes) — 512 for 32×32 inputs. Module indices follow
    /// PyTorch's `features` sequence (`features.0` conv, `.1` BN, `.2` ReLU, `.3` max-pool…).
    public static func vgg(depth: Int, classes: Int, input: Shape) -> Model {
        guard let configuration = vggConfigurations[depth] else {
            preconditionFailure("VGG depth \(depth) is not one of 11, 13, 16")
        }
        var planner = ParameterPlanner()
        var layers: [any Layer] = []
        var shape = input
        var index = 0
        for entry in configuration {
            if let channels = entry {
                let conv = Conv2d("features.\(index)", input: shape, outputChannels: channels, kernel: 3, stride: 1, padding: 1,
                                  bias: true, planner: &planner)
                layers.append(conv)
                layers.append(BatchNorm2d("features.\(index + 1)", input: conv.outputShape, planner: &planner))
                layers.append(ReLU(name: "features.\(index + 2)", inputShape: conv.outputShape))
                shape = conv.outputShape
                index += 3
            } else {
                let pool = MaxPool2d("features.\(index)", input: shape, kernel: 2, stride: 2)
                layers.append(pool)
                shape = pool.outputShape
                index += 1
            }
        }
        if shape.spatial > 1 {
            layers.append(Flatten(name: "flatten", inputShape: shape))
            shape = layers[layers.count - 1].outputShape
        }
        layers.append(Linear("classifier.0", input: shape, outputFeatures: classes, planner: &planner))
        return Model(name: "vgg\(depth)bn", inputShape: input, layers: layers, planner: planner,
                     linearInitialization: .normal(standardDeviation: 0.01))
    }
}
