import Foundation
import Testing
@testable import LIPS

/// Model descriptions: sizes, PyTorch names, maskability, the catalogue, initialisation.
@Suite struct ModelTests {
    static let cifar = Shape(channels: 3, height: 32, width: 32)

    // MARK: - Sizes

    @Test func resnet8ParameterCount() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        #expect(model.parameterLayout.count == 1_235_274)
        #expect(model.summary.reduce(0) { $0 + $1.parameters } == 1_235_274)
        #expect(model.classes == 10)
        #expect(model.name == "resnet8")
    }

    @Test func vgg11bnParameterCount() throws {
        let model = try Model.named("vgg11bn", classes: 10, input: Self.cifar)
        #expect(model.parameterLayout.count == 3_918_858)
        #expect(model.summary.reduce(0) { $0 + $1.parameters } == 3_918_858)
        // 32×32 ends at 1×1: no Flatten needed.
        #expect(!model.layers.contains { $0 is Flatten })
    }

    @Test func resnet8MultiplyAdds() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        #expect(model.multiplyAddsPerSample == 14_469_632)
    }

    /// BN running statistics live in their own layout: two vectors per BN.
    @Test func resnet8StatisticsLayout() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        let bns = ["bn1": 64, "layers.0.0.bn1": 64, "layers.0.0.bn2": 64,
                   "layers.1.0.bn1": 128, "layers.1.0.bn2": 128, "layers.1.0.shortcut.1": 128,
                   "layers.2.0.bn1": 256, "layers.2.0.bn2": 256, "layers.2.0.shortcut.1": 256]
        #expect(model.statisticsLayout.count == 2 * bns.values.reduce(0, +))
        for (name, channels) in bns {
            #expect(model.statisticsLayout.entry(named: "\(name).running_mean")?.shape == [channels])
            #expect(model.statisticsLayout.entry(named: "\(name).running_mean")?.kind == .runningMean)
            #expect(model.statisticsLayout.entry(named: "\(name).running_var")?.shape == [channels])
            #expect(model.statisticsLayout.entry(named: "\(name).running_var")?.kind == .runningVariance)
        }
    }

    // MARK: - Names

    /// resnet8's layout is PyTorch's `named_parameters()`: same names, shapes and order.
    @Test func resnet8LayoutMatchesPyTorch() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        func block(_ prefix: String, _ inPlanes: Int, _ planes: Int, shortcut: Bool) -> [(String, [Int])] {
            var rows: [(String, [Int])] = [
                ("\(prefix).conv1.weight", [planes, inPlanes, 3, 3]),
                ("\(prefix).bn1.weight", [planes]), ("\(prefix).bn1.bias", [planes]),
                ("\(prefix).conv2.weight", [planes, planes, 3, 3]),
                ("\(prefix).bn2.weight", [planes]), ("\(prefix).bn2.bias", [planes]),
            ]
            if shortcut {
                rows += [("\(prefix).shortcut.0.weight", [planes, inPlanes, 1, 1]),
                         ("\(prefix).shortcut.1.weight", [planes]), ("\(prefix).shortcut.1.bias", [planes])]
            }
            return rows
        }
        let expected: [(String, [Int])] = [("conv1.weight", [64, 3, 7, 7]), ("bn1.weight", [64]), ("bn1.bias", [64])]
            + block("layers.0.0", 64, 64, shortcut: false)
            + block("layers.1.0", 64, 128, shortcut: true)
            + block("layers.2.0", 128, 256, shortcut: true)
            + [("classifier.weight", [10, 256]), ("classifier.bias", [10])]
        let entries = model.parameterLayout.entries
        #expect(entries.map(\.name) == expected.map(\.0))
        #expect(entries.map(\.shape) == expected.map(\.1))
        // Contiguous, in order, each count the product of its shape.
        var offset = 0
        for entry in entries {
            #expect(entry.offset == offset, "\(entry.name) at \(entry.offset), expected \(offset)")
            #expect(entry.count == entry.shape.reduce(1, *))
            offset += entry.count
        }
        #expect(offset == model.parameterLayout.count)
        #expect(model.parameterLayout.entry(named: "layers.1.0.shortcut.0.weight")?.kind == .convWeight)
        #expect(model.parameterLayout.entry(named: "classifier.bias")?.kind == .linearBias)
        #expect(model.parameterLayout.entry(named: "layers.2.0.bn2.weight")?.kind == .batchNormWeight)
    }

    /// VGG names follow the `features` sequence indices of PyTorch's vgg11_bn.
    @Test func vgg11bnNames() throws {
        let model = try Model.named("vgg11_bn", classes: 10, input: Self.cifar)
        let names = model.parameterLayout.entries.map(\.name)
        #expect(names.prefix(6) == ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
                                    "features.4.weight", "features.4.bias"])
        #expect(names.suffix(2) == ["classifier.0.weight", "classifier.0.bias"])
        #expect(model.parameterLayout.entry(named: "features.0.bias")?.kind == .convBias)
        #expect(model.parameterLayout.entry(named: "classifier.0.weight")?.shape == [10, 512])
    }

    /// LIPS masks every conv weight but the stem's, and nothing else.
    @Test(arguments: ["resnet8", "resnet18", "vgg11bn", "cnn"])
    func onlyNonStemConvWeightsAreMaskable(_ name: String) throws {
        let model = try Model.named(name, classes: 10, input: Self.cifar)
        let stem = model.parameterLayout.entries.first { $0.kind == .convWeight }!
        #expect(stem.name == (name.hasPrefix("resnet") ? "conv1.weight" : name == "cnn" ? "features.0.conv.weight" : "features.0.weight"))
        for entry in model.parameterLayout.entries {
            let shouldMask = entry.kind == .convWeight && entry.name != stem.name
            #expect(entry.maskable == shouldMask, "\(name) \(entry.name): maskable \(entry.maskable)")
        }
        #expect(!model.parameterLayout.maskableEntries.isEmpty)
        #expect(model.statisticsLayout.entries.allSatisfy { !$0.maskable })
    }

    @Test func resnet8MaskableNames() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        #expect(model.parameterLayout.entry(named: "conv1.weight")?.maskable == false)
        #expect(model.parameterLayout.maskableEntries.map(\.name) == [
            "layers.0.0.conv1.weight", "layers.0.0.conv2.weight",
            "layers.1.0.conv1.weight", "layers.1.0.conv2.weight", "layers.1.0.shortcut.0.weight",
            "layers.2.0.conv1.weight", "layers.2.0.conv2.weight", "layers.2.0.shortcut.0.weight",
        ])
    }

    // MARK: - Catalogue

    @Test func unknownNameThrows() {
        #expect(throws: UserError.self) { try Model.named("resnet7", classes: 10, input: Self.cifar) }
        #expect(throws: UserError.self) { try Model.named("alexnet", classes: 10, input: Self.cifar) }
        #expect(throws: UserError.self) { try Model.named("", classes: 10, input: Self.cifar) }
    }

    @Test func tooFewClassesThrows() {
        #expect(throws: UserError.self) { try Model.named("resnet8", classes: 1, input: Self.cifar) }
        #expect(throws: UserError.self) { try Model.named("cnn", classes: 0, input: Self.cifar) }
        #expect(throws: UserError.self) { try Model.named("vgg11bn", classes: -3, input: Self.cifar) }
    }

    @Test func tooSmallInputsThrow() {
        #expect(throws: UserError.self) { try Model.named("vgg11bn", classes: 10, input: Shape(channels: 3, height: 16, width: 16)) }
        #expect(throws: UserError.self) { try Model.named("resnet8", classes: 10, input: Shape(channels: 3, height: 4, width: 32)) }
        #expect(throws: UserError.self) { try Model.named("cnn", classes: 10, input: Shape(channels: 0, height: 8, width: 8)) }
    }

    /// Every advertised name builds (aliases included) and reports its canonical name.
    @Test func everyArchitectureNameBuilds() throws {
        for name in Model.architectureNames {
            let model = try Model.named(name, classes: 10, input: Self.cifar)
            #expect(model.name == name)
            #expect(model.classes == 10)
        }
        #expect(try Model.named("VGG11-BN", classes: 10, input: Self.cifar).name == "vgg11bn")
        #expect(try Model.named("ResNet8", classes: 10, input: Self.cifar).name == "resnet8")
    }

    // MARK: - Forward on larger inputs

    /// Builds, initialises and runs a train- and an eval-mode forward on a random batch.
    private static func forwardLogits(_ model: Model, batchSize: Int, training: Bool) -> [Float] {
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: parameters, statistics: statistics, seed: 3)
        let workspace = model.makeWorkspace(batchSize: batchSize)
        var random = RandomStream(seed: 9, purpose: "forward input")
        workspace.withInput { input in
            for i in 0..<(model.inputShape.count * batchSize) { input[i] = Float(random.nextNormal()) }
        }
        model.forward(workspace, parameters: parameters, statistics: statistics, batchSize: batchSize, training: training)
        return workspace.withLogits { Array($0.prefix(model.classes * batchSize)) }
    }

    @Test func resnet10On64x64With200Classes() throws {
        let model = try Model.named("resnet10", classes: 200, input: Shape(channels: 3, height: 64, width: 64))
        #expect(model.classes == 200)
        #expect(model.parameterLayout.entry(named: "classifier.weight")?.shape == [200, 512])
        for training in [true, false] {
            let logits = Self.forwardLogits(model, batchSize: 2, training: training)
            #expect(logits.count == 400)
            #expect(logits.allSatisfy { $0.isFinite }, "training \(training): non-finite logits")
            #expect(Set(logits).count > 100, "training \(training): logits do not depend on the class")
        }
    }

    @Test func vgg11bnOn64x64UsesFlatten() throws {
        let model = try Model.named("vgg11bn", classes: 10, input: Shape(channels: 3, height: 64, width: 64))
        // Five 2×2 pools: 64 → 2, so the classifier takes 512·2·2 features through a Flatten.
        #expect(model.layers.contains { $0 is Flatten })
        #expect(model.parameterLayout.entry(named: "classifier.0.weight")?.shape == [10, 2048])
        #expect(model.parameterLayout.count == 3_918_858 + 10 * 2048 - 10 * 512)
        let logits = Self.forwardLogits(model, batchSize: 2, training: true)
        #expect(logits.count == 20)
        #expect(logits.allSatisfy { $0.isFinite })
        #expect(Set(logits).count > 10)
    }

    /// A batch smaller than the workspace's capacity gives the logits a workspace of its exact size gives.
    @Test func partialBatchMatchesExactWorkspace() throws {
        let model = try Model.named("resnet6", classes: 5, input: Shape(channels: 3, height: 16, width: 16))
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: parameters, statistics: statistics, seed: 4)
        var random = RandomStream(seed: 2, purpose: "partial")
        let input = (0..<(model.inputShape.count * 2)).map { _ in Float(random.nextNormal()) }
        var results: [[Float]] = []
        for capacity in [2, 5] {
            let workspace = model.makeWorkspace(batchSize: capacity)
            workspace.withInput { for i in input.indices { $0[i] = input[i] } }
            model.forward(workspace, parameters: parameters, statistics: Arena(copying: statistics), batchSize: 2, training: true)
            results.append(workspace.withLogits { Array($0.prefix(model.classes * 2)) })
        }
        #expect(results[0] == results[1])
    }

    // MARK: - Initialisation

    private static func initialized(_ model: Model, seed: UInt64) -> (Arena, Arena) {
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        parameters.fill(.nan)
        statistics.fill(.nan)
        model.initialize(parameters: parameters, statistics: statistics, seed: seed)
        return (parameters, statistics)
    }

    @Test func initialisationIsDeterministic() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        let (a, aStats) = Self.initialized(model, seed: 1)
        let (b, bStats) = Self.initialized(model, seed: 1)
        let (c, _) = Self.initialized(model, seed: 2)
        #expect(a.array == b.array)
        #expect(aStats.array == bStats.array)
        #expect(a.array.allSatisfy { $0.isFinite }, "initialize left values unwritten")
        #expect(aStats.array.allSatisfy { $0.isFinite }, "initialize left statistics unwritten")
        // Another seed changes every randomly drawn tensor.
        for entry in model.parameterLayout.entries where entry.kind == .convWeight || entry.kind == .linearWeight {
            #expect(a.values(entry.range) != c.values(entry.range), "\(entry.name) does not depend on the seed")
        }
        // A fresh model description of the same architecture initialises identically.
        let again = try Model.named("resnet8", classes: 10, input: Self.cifar)
        #expect(Self.initialized(again, seed: 1).0.array == a.array)
    }

    @Test func resnetInitialValues() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        let (parameters, statistics) = Self.initialized(model, seed: 5)
        for entry in model.parameterLayout.entries {
            let values = parameters.values(entry.range)
            switch entry.kind {
            case .batchNormWeight: #expect(values.allSatisfy { $0 == 1 }, "\(entry.name)")
            case .batchNormBias, .convBias: #expect(values.allSatisfy { $0 == 0 }, "\(entry.name)")
            case .linearWeight, .linearBias:
                // PyTorch's default: uniform ±1/√fan_in, fan_in 256 for the weight and the bias.
                let bound: Float = 1 / 16
                #expect(values.allSatisfy { abs($0) <= bound }, "\(entry.name) outside ±1/16")
                #expect(values.contains { abs($0) > bound / 2 }, "\(entry.name) not spread over ±1/16")
            case .convWeight, .runningMean, .runningVariance: break
            }
        }
        for entry in model.statisticsLayout.entries {
            let want: Float = entry.kind == .runningVariance ? 1 : 0
            #expect(statistics.values(entry.range).allSatisfy { $0 == want }, "\(entry.name)")
        }
    }

    /// Kaiming-normal, fan_out, ReLU gain: std √(2 / (out·k·k)), mean 0, on a 589,824-weight conv.
    @Test func convKaimingStandardDeviation() throws {
        let model = try Model.named("resnet8", classes: 10, input: Self.cifar)
        let (parameters, _) = Self.initialized(model, seed: 8)
        for (name, fanOut) in [("layers.2.0.conv2.weight", 256 * 9), ("layers.1.0.conv2.weight", 128 * 9),
                               ("conv1.weight", 64 * 49)] {
            let entry = try #require(model.parameterLayout.entry(named: name))
            let values = parameters.values(entry.range).map(Double.init)
            let mean = values.reduce(0, +) / Double(values.count)
            let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
            let want = (2 / Double(fanOut)).squareRoot()
            // Sampling error of the std is about 1/√(2n): 0.1 % to 0.5 % here.
            #expect(abs(std / want - 1) < 0.03, "\(name): std \(std), want \(want)")
            #expect(abs(mean) < 5 * want / Double(values.count).squareRoot(), "\(name): mean \(mean)")
        }
    }

    @Test func vggInitialValues() throws {
        let model = try Model.named("vgg11bn", classes: 10, input: Self.cifar)
        let (parameters, _) = Self.initialized(model, seed: 6)
        let weight = parameters.values(model.parameterLayout.entry(named: "classifier.0.weight")!.range).map(Double.init)
        let std = (weight.reduce(0) { $0 + $1 * $1 } / Double(weight.count)).squareRoot()
        #expect(abs(std / 0.01 - 1) < 0.1, "classifier std \(std), want 0.01")
        #expect(parameters.values(model.parameterLayout.entry(named: "classifier.0.bias")!.range).allSatisfy { $0 == 0 })
        #expect(parameters.values(model.parameterLayout.entry(named: "features.0.bias")!.range).allSatisfy { $0 == 0 })
    }
}
