import Foundation

/// `dataset: npy`: a folder of NumPy arrays, images as uint8 (N, H, W, C) or (N, H, W) and
/// integer labels (N,), which is also what `lips data prepare image-folder` writes.
///
/// Files: `train_images.npy`, `train_labels.npy`, `test_images.npy`, `test_labels.npy`, and
/// optionally `classes.txt` (one class name a line, in label order). The class count is the
/// number of names in `classes.txt`, or else the largest label of either split plus one.
/// Images are stored (H, W, C) per sample, as NumPy and PIL hold them; the engine keeps
/// (C, H, W), so each image is transposed while the file is read, a chunk at a time, and the
/// pixels are held once.
public enum NPYDataset {
    public static let trainImagesFile = "train_images.npy"
    public static let trainLabelsFile = "train_labels.npy"
    public static let testImagesFile = "test_images.npy"
    public static let testLabelsFile = "test_labels.npy"
    public static let classesFile = "classes.txt"
    /// More classes than this is refused: a label this large is a mistake sooner than a dataset.
    public static let maximumClasses = 65_536

    /// Both splits of `directory`. Train and test images must have the same shape; the train split
    /// must not be empty (the test split may be: a run with `test_num: 0`).
    public static func load(directory: String) throws -> DatasetPair {
        guard !directory.isEmpty else {
            throw UserError("dataset npy has no default folder: set data_dir (or --data-dir) to a folder holding \(trainImagesFile), \(trainLabelsFile), \(testImagesFile), \(testLabelsFile)")
        }
        try TinyImageNet.requireFolder(directory, what: "npy dataset folder")
        let path = { (name: String) in TinyImageNet.join(directory, name) }
        let trainImages = try NPY.File(path: path(trainImagesFile)), testImages = try NPY.File(path: path(testImagesFile))
        let shape = try imageShape(trainImages)
        let testShape = try imageShape(testImages)
        guard testShape == shape else {
            throw UserError("\(testImages.path): images are \(testShape) (CxHxW), the train images \(shape)")
        }
        let trainCount = trainImages.header.shape[0], testCount = testImages.header.shape[0]
        guard trainCount > 0 else { throw UserError("\(trainImages.path): no images (shape \(trainImages.header.shapeText))") }
        // The engine holds every pixel once, one byte each; stay within half the memory, as synthetic data does.
        let bytes = Double(trainCount + testCount) * Double(shape.count)
        guard bytes <= 0.5 * Double(MemoryLimit.bytes) else {
            throw UserError(String(format: "%@: %d + %d images of %@ need %.1f GB, more than half the %.1f GB this process may use",
                                   directory, trainCount, testCount, "\(shape)", bytes / 1e9, Double(MemoryLimit.bytes) / 1e9))
        }
        let trainLabels = try labels(path(trainLabelsFile), count: trainCount, imagesPath: trainImages.path)
        let testLabels = try labels(path(testLabelsFile), count: testCount, imagesPath: testImages.path)
        let classes: Int
        let names = path(classesFile)
        if FileManager.default.fileExists(atPath: names) {
            classes = try classNames(FileReading.bytes(names), path: names).count
            for (labels, file) in [(trainLabels, trainLabelsFile), (testLabels, testLabelsFile)] {
                if let (index, label) = labels.enumerated().first(where: { Int($0.element) >= classes }) {
                    throw UserError("\(path(file)): label \(label) of sample \(index) is outside 0..<\(classes) (the classes of \(names))")
                }
            }
        } else {
            classes = Int(max(trainLabels.max() ?? 0, testLabels.max() ?? 0)) + 1
        }
        return DatasetPair(train: Dataset(name: "npy train", imageShape: shape, classes: classes,
                                          pixels: try planarPixels(trainImages, shape: shape), labels: trainLabels),
                           test: Dataset(name: "npy test", imageShape: shape, classes: classes,
                                         pixels: try planarPixels(testImages, shape: shape), labels: testLabels))
    }

    /// The image shape and class count of `directory` without reading its pixels (`lips export`).
    public static func imageShapeAndClasses(directory: String) throws -> (shape: Shape, classes: Int) {
        let path = { (name: String) in TinyImageNet.join(directory, name) }
        let images = try NPY.File(path: path(trainImagesFile))
        let shape = try imageShape(images)
        let names = path(classesFile)
        if FileManager.default.fileExists(atPath: names) {
            return (shape, try classNames(FileReading.bytes(names), path: names).count)
        }
        let test = try NPY.File(path: path(testImagesFile))
        let train = try labels(path(trainLabelsFile), count: images.header.shape[0], imagesPath: images.path)
        let tested = try labels(path(testLabelsFile), count: test.header.shape[0], imagesPath: test.path)
        return (shape, Int(max(train.max() ?? 0, tested.max() ?? 0)) + 1)
    }

    /// (C, H, W) of an images file: uint8 (N, H, W, C) with C 1 or 3, or (N, H, W) for C = 1.
    static func imageShape(_ file: NPY.File) throws -> Shape {
        let header = file.header
        guard header.type.size == 1, !header.type.signed else {
            throw UserError("\(file.path): images must be uint8 (|u1), found \(header.type)")
        }
        guard header.shape.count == 3 || header.shape.count == 4 else {
            throw UserError("\(file.path): images must have shape (N, H, W, C) or (N, H, W), found \(header.shapeText)")
        }
        let h = header.shape[1], w = header.shape[2], c = header.shape.count == 4 ? header.shape[3] : 1
        guard c == 1 || c == 3 else {
            throw UserError("\(file.path): images must have 1 or 3 channels (last axis of (N, H, W, C)), found \(c) in \(header.shapeText)")
        }
        guard (1...Shape.maximumSide).contains(h), (1...Shape.maximumSide).contains(w) else {
            throw UserError("\(file.path): images of \(h)x\(w) pixels; each side must be between 1 and \(Shape.maximumSide)")
        }
        return Shape(channels: c, height: h, width: w)
    }

    /// The file's images moved from (H, W, C) to (C, H, W), read in chunks of about 4 MB.
    static func planarPixels(_ file: NPY.File, shape: Shape) throws -> [UInt8] {
        let count = file.header.shape[0], imageSize = shape.count, plane = shape.spatial, c = shape.channels
        var pixels = [UInt8](repeating: 0, count: count * imageSize)
        let perChunk = max(1, (4 << 20) / imageSize)
        var chunk = [UInt8](repeating: 0, count: min(count, perChunk) * imageSize)
        var done = 0
        while done < count {
            let n = min(perChunk, count - done)
            if chunk.count != n * imageSize { chunk = [UInt8](repeating: 0, count: n * imageSize) }
            try file.read(into: &chunk)
            chunk.withUnsafeBufferPointer { source in
                pixels.withUnsafeMutableBufferPointer { target in
                    for image in 0..<n {
                        let from = image * imageSize, to = (done + image) * imageSize
                        if c == 1 {
                            (target.baseAddress! + to).update(from: source.baseAddress! + from, count: imageSize)
                            continue
                        }
                        for p in 0..<plane {
                            for channel in 0..<c { target[to + channel * plane + p] = source[from + p * c + channel] }
                        }
                    }
                }
            }
            done += n
        }
        return pixels
    }

    /// The labels of `path`: integers of shape (`count`,), each in 0..<maximumClasses.
    static func labels(_ path: String, count: Int, imagesPath: String) throws -> [Int32] {
        let file = try NPY.File(path: path)
        guard file.header.shape.count == 1 else {
            throw UserError("\(path): labels must have shape (N,), found \(file.header.shapeText)")
        }
        guard file.header.shape[0] == count else {
            throw UserError("\(path): \(file.header.shape[0]) labels for the \(count) images of \(imagesPath)")
        }
        var bytes = [UInt8](repeating: 0, count: count * file.header.type.size)
        try file.read(into: &bytes)
        let type = file.header.type
        return try bytes.withUnsafeBufferPointer { buffer in
            try (0..<count).map { index in
                let value = type.value(in: buffer, at: index)
                guard let value, value >= 0, value < maximumClasses else {
                    let shown = value.map(String.init) ?? "above \(Int64.max)"
                    throw UserError("\(path): label \(shown) of sample \(index) is outside 0..<\(maximumClasses)")
                }
                return Int32(value)
            }
        }
    }

    /// The names of `classes.txt`, one a line (a final newline optional); an empty name, a
    /// carriage return or more than `maximumClasses` names is refused.
    static func classNames(_ bytes: [UInt8], path: String) throws -> [String] {
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw UserError("\(path): not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw UserError("\(path): no class names (expected one a line, in label order)") }
        guard lines.count <= maximumClasses else {
            throw UserError("\(path): \(lines.count) class names, more than the \(maximumClasses) accepted")
        }
        if let index = lines.firstIndex(where: { $0.isEmpty || $0.contains("\r") }) {
            throw UserError("\(path) line \(index + 1): \(lines[index].isEmpty ? "empty class name" : "carriage return in a class name (Windows line ends?)")")
        }
        return lines
    }
}
