import Foundation

/// `lips data prepare image-folder SRC OUT`: your own images, one folder per class as
/// torchvision's `ImageFolder` reads them, converted once into the `.npy` folder that
/// `dataset: npy` reads (`NPYDataset`).
///
/// Source: either `SRC/<class>/…` (one tree, split into train and test here, per class, by a
/// seeded draw), or `SRC/train/<class>/…` and `SRC/test/<class>/…` (split by you; the classes are
/// train's, and a test tree may lack some of them). As `ImageFolder`: the classes are the
/// subfolders, sorted by name (code point order), class c being the c-th; a class's images are
/// the files anywhere below its folder (symbolic links followed) whose name ends, in any case,
/// in .jpg, .jpeg, .png, .ppm, .bmp, .pgm, .tif, .tiff or .webp, taken folder by folder in sorted
/// path order, by sorted name within a folder; other files are ignored. JPEG and PNG are
/// decoded (by content, whatever the extension); the other kinds are refused by name. Each image
/// then goes through `ImageResize` (channels, resize, centre crop).
///
/// Output: `train_images.npy` and `test_images.npy` (uint8, (N, H, W, C)), `train_labels.npy` and
/// `test_labels.npy` (int64, (N,)), `classes.txt` (class names in label order). Samples are in
/// class order, then in the source order above. Each file appears atomically and only after every
/// image was converted. One image is decoded at a time and written in chunks.
public enum ImageFolder {
    public struct Options: Sendable {
        /// Output size (height, width).
        public var height: Int
        public var width: Int
        /// 1 (grey) or 3 (RGB).
        public var channels: Int
        /// The share of each class's images put in the test split of a one-tree source; nil means
        /// `defaultTestFraction`. Must be nil for a train/test source.
        public var testFraction: Double?
        /// Seeds the draw of the test images of a one-tree source.
        public var seed: UInt64

        public init(height: Int, width: Int, channels: Int = 3, testFraction: Double? = nil, seed: UInt64 = 0) {
            self.height = height
            self.width = width
            self.channels = channels
            self.testFraction = testFraction
            self.seed = seed
        }
    }

    public static let defaultTestFraction = 0.2
    /// torchvision's `IMG_EXTENSIONS`: what counts as an image file.
    public static let imageExtensions = ["jpg", "jpeg", "png", "ppm", "bmp", "pgm", "tif", "tiff", "webp"]
    /// Larger source images are refused before decoding (64 megapixels: 192 MB of RGB).
    public static let maximumSourcePixels = 1 << 26
    /// Folder depth below a class folder: deeper is a symbolic link loop sooner than a dataset.
    static let maximumDepth = 64

    /// Prepares `source` into `output` (created if needed) and returns what it wrote.
    @discardableResult
    public static func prepare(source: String, output: String, options: Options) throws -> (train: Int, test: Int, classes: Int) {
        guard options.channels == 1 || options.channels == 3 else {
            throw UserError("--channels must be 1 (grey) or 3 (RGB), got \(options.channels)")
        }
        guard (1...Shape.maximumSide).contains(options.height), (1...Shape.maximumSide).contains(options.width) else {
            throw UserError("--size \(options.height)x\(options.width): each side must be between 1 and \(Shape.maximumSide)")
        }
        try TinyImageNet.requireFolder(source, what: "image folder")
        try refuseOutputInside(source: source, output: output)
        let (classes, train, test) = try listImages(source: source, options: options)

        let shape = Shape(channels: options.channels, height: options.height, width: options.width)
        let bytes = Double(train.count + test.count) * Double(shape.count)
        guard bytes <= 0.5 * Double(MemoryLimit.bytes), train.count + test.count <= Int(Int32.max) else {
            throw UserError(String(format: "%@: %d images of %@ would need %.1f GB to train on, more than half the %.1f GB this process may use (use a smaller --size)",
                                   source, train.count + test.count, "\(shape)", bytes / 1e9, Double(MemoryLimit.bytes) / 1e9))
        }

        try TinyImageNet.createFolder(output)
        var files: [TinyImageNet.PendingFile] = []
        defer { for file in files { file.discard() } }
        func pending(_ name: String) throws -> TinyImageNet.PendingFile {
            let file = try TinyImageNet.PendingFile(folder: output, name: name)
            files.append(file)
            return file
        }
        for (images, imagesName, labelsName) in [(train, NPYDataset.trainImagesFile, NPYDataset.trainLabelsFile),
                                                 (test, NPYDataset.testImagesFile, NPYDataset.testLabelsFile)] {
            try convert(images, options: options, into: pending(imagesName))
            let labels = try pending(labelsName)
            try labels.write(NPY.header(type: .int64, shape: [images.count]))
            try labels.write(images.flatMap { image in (0..<8).map { UInt8(truncatingIfNeeded: Int64(image.label) >> (8 * $0)) } })
        }
        try pending(NPYDataset.classesFile).write(Array(classes.map { $0 + "\n" }.joined().utf8))
        for file in files { try file.commit() }
        return (train.count, test.count, classes.count)
    }

    // MARK: - Listing

    typealias Image = (path: String, label: Int)

    /// The classes and the images of each split, in output order; every fault of the source's
    /// layout is found here, before any image is decoded.
    static func listImages(source: String, options: Options) throws -> (classes: [String], train: [Image], test: [Image]) {
        let top = try subfolders(source)
        guard top.contains("train") else {
            let fraction = options.testFraction ?? defaultTestFraction
            guard fraction >= 0, fraction < 1 else { throw UserError("--test-fraction must be in [0, 1), got \(fraction)") }
            let classes = try classFolders(source, names: top)
            var train: [Image] = [], test: [Image] = []
            for (label, name) in classes.enumerated() {
                let images = try imageFiles(TinyImageNet.join(source, name), className: name)
                let chosen = testPositions(count: images.count, fraction: fraction, seed: options.seed, className: name)
                for (index, path) in images.enumerated() {
                    if chosen.contains(index) { test.append((path, label)) } else { train.append((path, label)) }
                }
            }
            return (classes, train, test)
        }
        let others = top.filter { $0 != "train" && $0 != "test" }
        guard others.isEmpty else {
            throw UserError("\(source): holds train/ and also \(others.joined(separator: ", ")); expected either SRC/train/<class>/ with SRC/test/<class>/, or SRC/<class>/ (one tree, split with --test-fraction)")
        }
        guard options.testFraction == nil else {
            throw UserError("\(source): is split already (train/ and test/); --test-fraction applies to a one-tree source SRC/<class>/")
        }
        let trainRoot = TinyImageNet.join(source, "train"), testRoot = TinyImageNet.join(source, "test")
        try TinyImageNet.requireFolder(testRoot, what: "test tree: \(source) holds train/, so it must hold test/<class>/ too")
        let classes = try classFolders(trainRoot, names: try subfolders(trainRoot))
        let labelOf = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var train: [Image] = [], test: [Image] = []
        for (label, name) in classes.enumerated() {
            train += try imageFiles(TinyImageNet.join(trainRoot, name), className: name).map { ($0, label) }
        }
        let testClasses = try subfolders(testRoot)
        guard !testClasses.isEmpty else {
            throw UserError("\(testRoot): no class folders, expected \(testRoot)/<class>/<image> with the class names of \(trainRoot)")
        }
        if let unknown = testClasses.first(where: { labelOf[$0] == nil }) {
            throw UserError("\(TinyImageNet.join(testRoot, unknown)): class '\(unknown)' has no folder in \(trainRoot)")
        }
        for name in testClasses.sorted(by: codePointOrder) {
            test += try imageFiles(TinyImageNet.join(testRoot, name), className: name).map { ($0, labelOf[name]!) }
        }
        return (classes, train, test)
    }

    /// `names` (subfolders of `root`) as classes: sorted, at least one, at most `NPYDataset.maximumClasses`,
    /// each fit for a line of `classes.txt`.
    static func classFolders(_ root: String, names: [String]) throws -> [String] {
        guard !names.isEmpty else {
            let empty = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).isEmpty
            throw UserError("\(root): \(empty ? "empty folder" : "no class folders"), expected one folder of images per class (\(root)/<class>/<image>)")
        }
        guard names.count <= NPYDataset.maximumClasses else {
            throw UserError("\(root): \(names.count) class folders, more than the \(NPYDataset.maximumClasses) accepted")
        }
        if let bad = names.first(where: { $0.contains(where: { $0.isNewline }) }) {
            throw UserError("\(TinyImageNet.join(root, bad)): a class name holding a line break cannot be written to \(NPYDataset.classesFile); rename the folder")
        }
        return names.sorted(by: codePointOrder)
    }

    /// The image files below `folder`, recursively, in `ImageFolder`'s order; none is an error.
    static func imageFiles(_ folder: String, className: String) throws -> [String] {
        var groups: [(root: String, names: [String])] = []
        func walk(_ root: String, depth: Int) throws {
            guard depth <= maximumDepth else {
                throw UserError("\(root): more than \(maximumDepth) folders deep (a symbolic link loop?)")
            }
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: root)
            } catch {
                throw UserError("\(root): cannot list the folder (\(error.localizedDescription))")
            }
            var files: [String] = []
            for name in entries {
                let path = TinyImageNet.join(root, name)
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { continue }
                if isFolder.boolValue {
                    try walk(path, depth: depth + 1)
                } else if isImageName(name) {
                    files.append(name)
                }
            }
            if !files.isEmpty { groups.append((root, files.sorted(by: codePointOrder))) }
        }
        try walk(folder, depth: 0)
        guard !groups.isEmpty else {
            throw UserError("\(folder): no images for class '\(className)' (image files end in \(imageExtensions.map { "." + $0 }.joined(separator: ", ")))")
        }
        return groups.sorted { codePointOrder($0.root, $1.root) }.flatMap { group in group.names.map { TinyImageNet.join(group.root, $0) } }
    }

    /// torchvision's `has_file_allowed_extension`: the lowercased name ends in ".EXT" (so a file
    /// named ".png" counts, as it does there).
    static func isImageName(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return imageExtensions.contains { lowered.hasSuffix("." + $0) }
    }

    /// Names of the folders in `root` (symbolic links to folders included), unsorted.
    static func subfolders(_ root: String) throws -> [String] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: root)
        } catch {
            throw UserError("\(root): cannot list the folder (\(error.localizedDescription))")
        }
        return entries.filter { name in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: TinyImageNet.join(root, name), isDirectory: &isFolder) && isFolder.boolValue
        }
    }

    /// Python's string order: by Unicode code points (Swift's `<` is by canonical equivalence).
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// The positions (in the class's sorted list) of the images a class gives to the test split:
    /// round(fraction × count) of them (halves away from zero, at most count − 1, so every class
    /// keeps a train image), the first positions of a partial Fisher–Yates shuffle drawn from
    /// stream "image-folder/split/CLASS" under `seed`, so a class's split depends on nothing else.
    static func testPositions(count: Int, fraction: Double, seed: UInt64, className: String) -> Set<Int> {
        let wanted = min(Int((fraction * Double(count)).rounded(.toNearestOrAwayFromZero)), count - 1)
        guard wanted > 0 else { return [] }
        var random = RandomStream(seed: seed, purpose: "image-folder/split/\(className)")
        var positions = Array(0..<count)
        for i in 0..<wanted { positions.swapAt(i, i + random.nextInt(below: count - i)) }
        return Set(positions.prefix(wanted))
    }

    /// Refuses an output folder inside the source, where it would be listed as a class.
    static func refuseOutputInside(source: String, output: String) throws {
        let resolve = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path }
        let sourcePath = resolve(source), outputPath = resolve(output)
        if outputPath == sourcePath || outputPath.hasPrefix(sourcePath.hasSuffix("/") ? sourcePath : sourcePath + "/") {
            throw UserError("\(output): is inside the source folder \(source), where it would be read as a class; write elsewhere")
        }
    }

    // MARK: - Converting

    /// Writes the images array of `images`: the header, then each image decoded, resized and
    /// cropped, in chunks of about 4 MB.
    static func convert(_ images: [Image], options: Options, into file: TinyImageNet.PendingFile) throws {
        try file.write(NPY.header(type: .uint8, shape: [images.count, options.height, options.width, options.channels]))
        var chunk: [UInt8] = []
        for image in images {
            let decoded = try decode(FileReading.bytes(image.path), path: image.path)
            chunk += ImageResize.prepare(decoded, channels: options.channels, height: options.height, width: options.width)
            if chunk.count >= 4 << 20 {
                try file.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try file.write(chunk) }
    }

    /// A JPEG or PNG, told apart by their first bytes, whatever the file's extension.
    static func decode(_ bytes: [UInt8], path: String) throws -> DecodedImage {
        if PNG.isPNG(bytes) { return try PNG.decode(bytes, path: path, maximumPixels: maximumSourcePixels) }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            // A first try with room for 256×256 (a buffer that size is zeroed for every image); a
            // larger image reports its size, read from its header, and is decoded again.
            var image = try JPEG.decodeRGB(bytes, path: path, capacity: 3 * 256 * 256)
            if image.rgb.isEmpty {
                guard image.width >= 1, image.height >= 1, image.width <= maximumSourcePixels / image.height else {
                    throw UserError("\(path): image is \(image.width)x\(image.height), more than the \(maximumSourcePixels) pixels accepted (shrink it first)")
                }
                image = try JPEG.decodeRGB(bytes, path: path, capacity: 3 * image.width * image.height)
            }
            return DecodedImage(width: image.width, height: image.height, channels: 3, pixels: image.rgb)
        }
        let ext = (path as NSString).pathExtension.lowercased()
        if ["jpg", "jpeg", "png"].contains(ext) {
            throw UserError("\(path): not a readable \(ext == "png" ? "PNG" : "JPEG") (\(bytes.isEmpty ? "empty file" : "its first bytes are not a JPEG or PNG signature"))")
        }
        throw UserError("\(path): .\(ext) images are not supported, only JPEG and PNG; convert it or remove it")
    }
}
