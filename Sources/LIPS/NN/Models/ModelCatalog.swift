import Foundation

extension Model {
    /// Architecture names users may give: `resnet4/6/8/10/18`, `vgg11bn/13bn/16bn` (also `vgg11_bn`,
    /// `vgg11-bn`), `cnn`.
    public static let architectureNames = ["resnet4", "resnet6", "resnet8", "resnet10", "resnet18",
                                           "vgg11bn", "vgg13bn", "vgg16bn", "cnn"]

    /// Builds the architecture `name` for `classes` classes and `input` samples, or throws a
    /// `UserError` naming what is wrong.
    /// The most classes a classifier may have (ImageNet-21k has 21,841).
    public static let maximumClasses = 1_000_000

    public static func named(_ name: String, classes: Int, input: Shape) throws -> Model {
        guard classes >= 2, classes <= maximumClasses else {
            throw UserError("classes must be between 2 and \(maximumClasses), got \(classes)")
        }
        guard input.channels >= 1, input.height >= 1, input.width >= 1 else {
            throw UserError("input shape \(input) must have positive sizes")
        }
        guard input.channels <= Shape.maximumChannels, input.height <= Shape.maximumSide, input.width <= Shape.maximumSide else {
            throw UserError("input shape \(input) is too large: at most \(Shape.maximumChannels) channels and \(Shape.maximumSide)x\(Shape.maximumSide) pixels")
        }
        let key = name.lowercased().replacingOccurrences(of: "_", with: "").replacingOccurrences(of: "-", with: "")
        switch key {
        case "resnet4", "resnet6", "resnet8", "resnet10", "resnet18":
            // 7×7/2 stem then 3×3/2 pool, then one stride-2 per later stage: the map must stay ≥ 1×1.
            guard input.height >= 8, input.width >= 8 else {
                throw UserError("\(name) needs inputs of at least 8x8, got \(input)")
            }
            return resnet(depth: Int(key.dropFirst(6))!, classes: classes, input: input)
        case "vgg11bn", "vgg13bn", "vgg16bn":
            guard input.height >= 32, input.width >= 32 else {
                throw UserError("\(name) has five 2x2 max-pools and needs inputs of at least 32x32, got \(input)")
            }
            return vgg(depth: Int(key.dropFirst(3).dropLast(2))!, classes: classes, input: input)
        case "cnn":
            guard input.height >= 4, input.width >= 4 else {
                throw UserError("cnn needs inputs of at least 4x4, got \(input)")
            }
            return cnn(classes: classes, input: input)
        default:
            throw UserError("unknown model '\(name)'; known: \(architectureNames.joined(separator: ", "))")
        }
    }
}
