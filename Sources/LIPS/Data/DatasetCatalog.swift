import Foundation

/// The datasets the engine reads, by the names configs and the CLI use.
public enum DatasetCatalog {
    public static let names = ["fashion-mnist", "mnist", "cifar10", "cifar100", "tinyimagenet", "npy", "synthetic"]

    /// Where a dataset is looked for when no folder is given.
    public static func defaultDirectory(_ name: String) -> String? {
        switch name {
        case "fashion-mnist": return MNISTReader.fashionMNISTDirectory
        case "mnist": return "data/mnist"
        case "cifar10": return "data/cifar-10-batches-bin"
        case "cifar100": return "data/cifar-100-binary"
        case "tinyimagenet", "tiny-imagenet": return "data/tiny-imagenet-bin"
        default: return nil
        }
    }

    /// The image shape and class count `load` gives for `name` (as published, before
    /// `BatchAssembler`'s padding), without reading it: enough to build a run's model, e.g. for
    /// `lips export`. Nil for an unknown name. `npy` data has no fixed shape: its folder
    /// (`directory`) is read for the image shape and the class count, pixels left aside.
    public static func imageShapeAndClasses(_ name: String, directory: String? = nil, syntheticShape: Shape,
                                            syntheticClasses: Int) throws -> (shape: Shape, classes: Int)? {
        switch name {
        case "fashion-mnist", "mnist": return (Shape(channels: 1, height: 28, width: 28), 10)
        case "cifar10": return (CIFARReader.imageShape, 10)
        case "cifar100": return (CIFARReader.imageShape, 100)
        case "tinyimagenet", "tiny-imagenet": return (TinyImageNet.imageShape, 200)
        case "npy": return try NPYDataset.imageShapeAndClasses(directory: directory ?? "")
        case "synthetic": return (syntheticShape, syntheticClasses)
        default: return nil
        }
    }

    /// Loads `name` from `directory` (or its default folder). `synthetic` makes a seeded set of
    /// 3×32×32 images in 10 classes, 60 000 train and 10 000 test, unless told otherwise.
    public static func load(_ name: String, directory: String? = nil, seed: UInt64 = 0,
                            syntheticShape: Shape = Shape(channels: 3, height: 32, width: 32),
                            syntheticClasses: Int = 10, syntheticCounts: (train: Int, test: Int) = (60_000, 10_000)) throws -> DatasetPair {
        let folder = directory ?? defaultDirectory(name) ?? ""
        switch name {
        case "fashion-mnist":
            guard FileManager.default.fileExists(atPath: folder) else {
                throw UserError("\(folder): Fashion-MNIST folder not found (on Debian/Ubuntu: apt-get install dataset-fashion-mnist, or `make setup`)")
            }
            return try MNISTReader.load(directory: folder, name: "fashion-mnist")
        case "mnist": return try MNISTReader.load(directory: folder, name: "mnist")
        case "cifar10": return try CIFARReader.loadCIFAR10(directory: folder)
        case "cifar100": return try CIFARReader.loadCIFAR100(directory: folder)
        case "tinyimagenet", "tiny-imagenet": return try TinyImageNet.load(directory: folder)
        case "npy": return try NPYDataset.load(directory: folder)
        case "synthetic":
            guard syntheticClasses >= 2, syntheticCounts.train >= 1, syntheticCounts.test >= 0 else {
                throw UserError("synthetic data needs at least 2 classes and 1 train sample")
            }
            // One byte per pixel, plus a Float per pixel of every class mean.
            let bytes = Double(syntheticCounts.train + syntheticCounts.test) * Double(syntheticShape.count)
                + 4 * Double(syntheticClasses) * Double(syntheticShape.count)
            guard bytes <= 0.5 * Double(MemoryLimit.bytes) else {
                throw UserError(String(format: "synthetic data of %d + %d samples of %@ and %d classes needs %.1f GB, more than half the %.1f GB this process may use",
                                       syntheticCounts.train, syntheticCounts.test, "\(syntheticShape)", syntheticClasses,
                                       bytes / 1e9, Double(MemoryLimit.bytes) / 1e9))
            }
            return SyntheticData.make(trainCount: syntheticCounts.train, testCount: syntheticCounts.test,
                                      classes: syntheticClasses, shape: syntheticShape, seed: seed)
        default:
            throw UserError("unknown dataset '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }
}
