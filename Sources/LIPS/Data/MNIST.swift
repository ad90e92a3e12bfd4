import Foundation

/// MNIST-style folders (Fashion-MNIST, MNIST): `train-images-idx3-ubyte[.gz]`,
/// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
public enum MNISTReader {
    /// Debian's `dataset-fashion-mnist` folder, the engine's default dataset.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    public static let fileStems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    /// Both splits of the folder; `name` labels messages ("fashion-mnist").
    public static func load(directory: String, name: String, classes: Int = 10) throws -> DatasetPair {
        let train = try split(directory: directory, prefix: "train", name: "\(name) train", classes: classes)
        let test = try split(directory: directory, prefix: "t10k", name: "\(name) test", classes: classes)
        return DatasetPair(train: train, test: test)
    }

    /// The path of `stem` in `directory`: the plain file if present, else the `.gz`.
    static func locate(_ stem: String, in directory: String) throws -> String {
        let plain = (directory as NSString).appendingPathComponent(stem)
        if FileManager.default.fileExists(atPath: plain) { return plain }
        let gz = plain + ".gz"
        if FileManager.default.fileExists(atPath: gz) { return gz }
        throw UserError("\(gz): file not found (nor \(stem) uncompressed)")
    }

    static func split(directory: String, prefix: String, name: String, classes: Int) throws -> Dataset {
        let imagePath = try locate("\(prefix)-images-idx3-ubyte", in: directory)
        let labelPath = try locate("\(prefix)-labels-idx1-ubyte", in: directory)
        return try dataset(images: FileReading.bytes(imagePath), imagePath: imagePath,
                           labels: FileReading.bytes(labelPath), labelPath: labelPath, name: name, classes: classes)
    }

    /// One split from the bytes (plain or gzip) of its image and label files; the paths name them in errors.
    static func dataset(images imageFile: [UInt8], imagePath: String, labels labelFile: [UInt8], labelPath: String,
                        name: String, classes: Int) throws -> Dataset {
        let images = try IDX.parse(imageFile, path: imagePath, dimensions: 3)
        let labels = try IDX.parse(labelFile, path: labelPath, dimensions: 1)
        guard images.sizes[1] >= 1, images.sizes[2] >= 1 else {
            throw UserError("\(imagePath): images of \(images.sizes[1])x\(images.sizes[2]) pixels, expected at least 1x1")
        }
        guard images.sizes[0] == labels.sizes[0] else {
            throw UserError("\(labelPath): \(labels.sizes[0]) labels for \(images.sizes[0]) images in \(imagePath)")
        }
        let labelValues = try checkedLabels(labels.payload, classes: classes, path: labelPath)
        return Dataset(name: name, imageShape: Shape(channels: 1, height: images.sizes[1], width: images.sizes[2]),
                       classes: classes, pixels: Array(images.payload), labels: labelValues)
    }
}

/// Labels as Int32, refusing any outside 0..<classes with the record that holds it.
func checkedLabels<C: Collection>(_ raw: C, classes: Int, path: String) throws -> [Int32] where C.Element == UInt8 {
    var labels = [Int32]()
    labels.reserveCapacity(raw.count)
    for (index, value) in raw.enumerated() {
        guard Int(value) < classes else {
            throw UserError("\(path): label \(value) of record \(index) is outside 0..<\(classes)")
        }
        labels.append(Int32(value))
    }
    return labels
}
