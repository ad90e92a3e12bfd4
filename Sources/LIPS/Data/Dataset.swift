/// Images kept as published, UInt8, sample after sample in (C, H, W) order, with their labels.
/// Converting to Float happens per batch (`BatchAssembler`), so a dataset costs one byte a pixel.
public struct Dataset: Sendable {
    /// Where it came from, for messages ("fashion-mnist train").
    public let name: String
    /// Shape of one stored image (1x28x28 for Fashion-MNIST, 3x32x32 for CIFAR).
    public let imageShape: Shape
    public let classes: Int
    public let pixels: [UInt8]
    public let labels: [Int32]

    public init(name: String, imageShape: Shape, classes: Int, pixels: [UInt8], labels: [Int32]) {
        precondition(pixels.count == labels.count * imageShape.count,
                     "Dataset \(name): \(pixels.count) pixels for \(labels.count) images of \(imageShape)")
        self.name = name
        self.imageShape = imageShape
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
    }

    public var count: Int { labels.count }

    /// Indices of the samples of each class, in ascending order.
    public func indicesByClass() -> [[Int]] {
        var byClass = [[Int]](repeating: [], count: classes)
        for (index, label) in labels.enumerated() { byClass[Int(label)].append(index) }
        return byClass
    }

    /// Samples per class.
    public func classCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for label in labels { counts[Int(label)] += 1 }
        return counts
    }
}

/// A dataset's train and test splits.
public struct DatasetPair: Sendable {
    public let train: Dataset
    public let test: Dataset

    public init(train: Dataset, test: Dataset) {
        self.train = train
        self.test = test
    }
}
