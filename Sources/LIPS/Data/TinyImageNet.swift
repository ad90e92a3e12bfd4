import CJPEG
import Foundation

/// Tiny-ImageNet (200 classes of 64×64 colour images), converted once from its JPEG folders into
/// CIFAR-style binary files (docs/semantics.md §1), then read like CIFAR.
///
/// Source layout (the official `tiny-imagenet-200` zip): `wnids.txt` (one wnid a line; the class
/// index is the line order), `train/<wnid>/images/*.JPEG`, and `val/images/*.JPEG` labelled by
/// `val/val_annotations.txt` (tab-separated: file, wnid, bounding box), used as the test split.
/// The official `test/` folder has no labels and is not read.
///
/// Prepared layout: `train.bin` and `test.bin`, records of 1 label byte + 3×64×64 pixel bytes in
/// R, G, B planes (like CIFAR), and a copy of `wnids.txt`.
public enum TinyImageNet {
    public static let imageShape = Shape(channels: 3, height: 64, width: 64)
    /// Classes of the official set, assumed when a prepared folder has no `wnids.txt`.
    public static let officialClasses = 200
    public static let trainFile = "train.bin"
    public static let testFile = "test.bin"
    public static let wnidsFile = "wnids.txt"

    /// Converts the official folder `source` into `output` (created if needed) and returns the
    /// records written per split. Train images are taken per class in `wnids.txt` order, by file
    /// name within a class; test images in `val_annotations.txt` order. Each output file appears
    /// atomically (written to a temporary file in `output`, then renamed), and only once every
    /// image has been converted, so a failure leaves earlier prepared files untouched.
    @discardableResult
    public static func prepare(source: String, output: String) throws -> (train: Int, test: Int) {
        try requireFolder(source, what: "Tiny-ImageNet source folder")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
        guard !entries.isEmpty else {
            throw UserError("\(source): empty folder, expected the tiny-imagenet-200 layout (wnids.txt, train/, val/)")
        }
        let wnidsPath = join(source, wnidsFile)
        guard FileManager.default.fileExists(atPath: wnidsPath) else {
            throw UserError("\(wnidsPath): file not found (expected the tiny-imagenet-200 layout: wnids.txt, train/, val/)")
        }
        let wnidsBytes = try FileReading.bytes(wnidsPath)
        let wnids = try parseWnids(wnidsBytes, path: wnidsPath)
        let classOf = Dictionary(uniqueKeysWithValues: wnids.enumerated().map { ($1, $0) })

        // Every input is located and checked before any image is decoded.
        let trainFolder = join(source, "train")
        try requireFolder(trainFolder, what: "train folder")
        let trainImages: [(path: String, label: Int)] = try wnids.enumerated().flatMap { label, wnid in
            let folder = join(join(trainFolder, wnid), "images")
            try requireFolder(folder, what: "image folder of \(wnid)")
            let names = try jpegNames(in: folder)
            guard !names.isEmpty else {
                throw UserError("\(folder): empty folder, no .JPEG images for class \(wnid)")
            }
            return names.map { (join(folder, $0), label) }
        }
        let testImages = try validationImages(source: source, classOf: classOf)

        try createFolder(output)
        var files: [PendingFile] = []
        defer { for file in files { file.discard() } }
        let test = try PendingFile(folder: output, name: testFile)
        files.append(test)
        try convert(testImages, into: test)
        let train = try PendingFile(folder: output, name: trainFile)
        files.append(train)
        try convert(trainImages, into: train)
        let wnidsCopy = try PendingFile(folder: output, name: wnidsFile)
        files.append(wnidsCopy)
        try wnidsCopy.write(wnidsBytes)
        for file in files { try file.commit() }
        return (trainImages.count, testImages.count)
    }

    /// The prepared folder `directory`, read as CIFAR-style records ("tinyimagenet train",
    /// "tinyimagenet test"). The class count is the number of wnids in its `wnids.txt`, or 200.
    public static func load(directory: String) throws -> DatasetPair {
        let wnidsPath = join(directory, wnidsFile)
        let wnids = FileManager.default.fileExists(atPath: wnidsPath) ? try FileReading.bytes(wnidsPath) : nil
        func file(_ name: String) throws -> (path: String, bytes: [UInt8]) {
            let path = join(directory, name)
            guard FileManager.default.fileExists(atPath: path) else {
                throw UserError("\(path): file not found (make it with `lips data prepare tiny-imagenet SRC \(directory)`)")
            }
            return (path, try FileReading.bytes(path))
        }
        return try prepared(wnids: wnids.map { (wnidsPath, $0) }, train: file(trainFile), test: file(testFile))
    }

    /// The splits of a prepared folder from its files' bytes: `wnids` (nil: none, 200 classes), `train`, `test`.
    static func prepared(wnids: (path: String, bytes: [UInt8])?, train: (path: String, bytes: [UInt8]),
                         test: (path: String, bytes: [UInt8])) throws -> DatasetPair {
        let classes = try wnids.map { try parseWnids($0.bytes, path: $0.path).count } ?? officialClasses
        func split(_ file: (path: String, bytes: [UInt8]), _ name: String) throws -> Dataset {
            var records = CIFARReader.Records(labelBytes: 1, labelIndex: 0, classes: classes, shape: imageShape)
            try records.append(file.bytes, path: file.path, recordsPerFile: nil)
            return records.dataset(name: name)
        }
        return DatasetPair(train: try split(train, "tinyimagenet train"), test: try split(test, "tinyimagenet test"))
    }

    // MARK: - Reading the source

    /// The wnids of `wnids.txt`, one a line (blank lines and surrounding spaces ignored).
    static func parseWnids(_ bytes: [UInt8], path: String) throws -> [String] {
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw UserError("\(path): not UTF-8 text") }
        var wnids: [String] = []
        var lineOf: [String: Int] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let wnid = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if wnid.isEmpty { continue }
            guard !wnid.contains(where: { $0.isWhitespace || $0 == "/" }) else {
                throw UserError("\(path) line \(index + 1): '\(wnid)' is not a wnid (one wnid a line, like n01443537)")
            }
            if let first = lineOf[wnid] {
                throw UserError("\(path) line \(index + 1): wnid \(wnid) repeats line \(first)")
            }
            lineOf[wnid] = index + 1
            wnids.append(wnid)
        }
        guard !wnids.isEmpty else { throw UserError("\(path): no wnids (expected one a line)") }
        guard wnids.count <= 256 else {
            throw UserError("\(path): \(wnids.count) wnids, but a record's 1-byte label holds at most 256 classes")
        }
        return wnids
    }

    /// The test split: `val/images/<file>` labelled by `val/val_annotations.txt`, in its line order.
    static func validationImages(source: String, classOf: [String: Int]) throws -> [(path: String, label: Int)] {
        let annotationsPath = join(join(source, "val"), "val_annotations.txt")
        let imagesFolder = join(join(source, "val"), "images")
        guard FileManager.default.fileExists(atPath: annotationsPath) else {
            throw UserError("\(annotationsPath): file not found (labels of the validation images, used as the test split)")
        }
        try requireFolder(imagesFolder, what: "validation image folder")
        guard let text = String(bytes: try FileReading.bytes(annotationsPath), encoding: .utf8) else {
            throw UserError("\(annotationsPath): not UTF-8 text")
        }
        let present = Set(try jpegNames(in: imagesFolder))
        var images: [(path: String, label: Int)] = []
        var lineOf: [String: Int] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let at = "\(annotationsPath) line \(index + 1)"
            guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw UserError("\(at): expected tab-separated file, wnid, bounding box; found '\(line)'")
            }
            let name = fields[0], wnid = fields[1]
            guard let label = classOf[wnid] else {
                throw UserError("\(at): wnid \(wnid) of \(name) is not in wnids.txt")
            }
            guard !name.contains("/"), present.contains(name) else {
                throw UserError("\(at): image \(join(imagesFolder, name)) not found")
            }
            if let first = lineOf[name] {
                throw UserError("\(at): image \(name) is already labelled on line \(first)")
            }
            lineOf[name] = index + 1
            images.append((join(imagesFolder, name), label))
        }
        guard !images.isEmpty else { throw UserError("\(annotationsPath): no annotations (expected file<TAB>wnid<TAB>box lines)") }
        if let unlabelled = present.subtracting(lineOf.keys).min() {
            throw UserError("\(join(imagesFolder, unlabelled)): no line in \(annotationsPath)")
        }
        return images
    }

    /// The `.JPEG` (any case, or `.jpg`) file names in `folder`, sorted.
    static func jpegNames(in folder: String) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw UserError("\(folder): cannot list the folder (\(error.localizedDescription))")
        }
        return names.filter { name in
            let ext = (name as NSString).pathExtension.lowercased()
            return (ext == "jpeg" || ext == "jpg") && !name.hasPrefix(".")
        }.sorted()
    }

    /// Decodes every image, checks it is 64×64, and appends its record (label, R, G, B planes).
    static func convert(_ images: [(path: String, label: Int)], into file: PendingFile) throws {
        let side = imageShape.height, plane = side * side
        var record = [UInt8](repeating: 0, count: 1 + imageShape.count)
        var chunk: [UInt8] = []
        let chunkRecords = 256
        chunk.reserveCapacity(chunkRecords * record.count)
        for (path, label) in images {
            let image = try JPEG.decodeRGB(FileReading.bytes(path), path: path, capacity: imageShape.count)
            guard image.width == side, image.height == side else {
                throw UserError("\(path): image is \(image.width)×\(image.height), expected \(side)×\(side)")
            }
            record[0] = UInt8(label)
            for p in 0..<plane {
                record[1 + p] = image.rgb[3 * p]
                record[1 + plane + p] = image.rgb[3 * p + 1]
                record[1 + 2 * plane + p] = image.rgb[3 * p + 2]
            }
            chunk += record
            if chunk.count >= chunkRecords * record.count {
                try file.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try file.write(chunk) }
    }

    // MARK: - Files

    static func join(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }

    static func requireFolder(_ path: String, what: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw UserError("\(path): folder not found (\(what))")
        }
        guard isDirectory.boolValue else { throw UserError("\(path): is a file, expected a folder (\(what))") }
    }

    static func createFolder(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw UserError("\(path): is a file, expected an output folder") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw UserError("\(path): cannot create the output folder (\(error.localizedDescription))")
        }
    }

    /// An output file under construction: a hidden temporary file next to its final name,
    /// renamed into place by `commit()` or removed by `discard()`.
    final class PendingFile {
        let path: String
        let temporary: String
        private var handle: FileHandle?

        init(folder: String, name: String) throws {
            path = TinyImageNet.join(folder, name)
            temporary = TinyImageNet.join(folder, ".\(name).partial-\(UUID().uuidString.prefix(8))")
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                  let handle = FileHandle(forWritingAtPath: temporary) else {
                throw UserError("\(temporary): cannot create a file in the output folder (permissions?)")
            }
            self.handle = handle
        }

        func write(_ bytes: [UInt8]) throws {
            guard let handle else { preconditionFailure("PendingFile: write after commit") }
            do {
                try handle.write(contentsOf: bytes)
            } catch {
                throw UserError("\(temporary): cannot write (\(error.localizedDescription))")
            }
        }

        /// Flushes, closes and renames the temporary file to `path`.
        func commit() throws {
            guard let handle else { return }
            do {
                try handle.synchronize()
                try handle.close()
            } catch {
                throw UserError("\(temporary): cannot write (\(error.localizedDescription))")
            }
            self.handle = nil
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw UserError("\(path): cannot rename \(temporary) into place (\(reason))")
            }
        }

        /// Removes the temporary file unless it was committed.
        func discard() {
            guard let handle else { return }
            try? handle.close()
            self.handle = nil
            try? FileManager.default.removeItem(atPath: temporary)
        }
    }
}

/// libjpeg-turbo through the CJPEG shim, whose error handler returns instead of exiting.
enum JPEG {
    /// Decodes `data` to interleaved 8-bit RGB (greyscale files come out as R = G = B).
    /// An image whose RGB bytes exceed `capacity` is not decoded: its size comes back with empty
    /// `rgb`. libjpeg's warnings about recoverable damage are tolerated; a truncated file is an
    /// error. `path` names the file in messages.
    static func decodeRGB(_ data: [UInt8], path: String, capacity: Int) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        var rgb = [UInt8](repeating: 0, count: capacity)
        var width: Int32 = 0, height: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBufferPointer { input in
            rgb.withUnsafeMutableBufferPointer { output in
                message.withUnsafeMutableBufferPointer { text in
                    lips_jpeg_decode_rgb(input.baseAddress, input.count, output.baseAddress, output.count,
                                         &width, &height, text.baseAddress, text.count)
                }
            }
        }
        switch status {
        case LIPS_JPEG_OK, LIPS_JPEG_WARNING:
            let used = Int(width) * Int(height) * 3
            return (Int(width), Int(height), used == rgb.count ? rgb : Array(rgb.prefix(used)))
        case LIPS_JPEG_TOO_LARGE:
            return (Int(width), Int(height), [])
        default:
            throw UserError("\(path): not a readable JPEG (libjpeg: \(text(message)))")
        }
    }

    /// Encodes interleaved pixels of `components` channels (1 grey, 3 RGB) at `quality` 1...100;
    /// quality 100 also keeps full-resolution colour (no chroma subsampling).
    static func encode(_ pixels: [UInt8], width: Int, height: Int, components: Int, quality: Int = 95) throws -> [UInt8] {
        precondition(pixels.count == width * height * components, "JPEG.encode: \(pixels.count) bytes for \(width)×\(height)×\(components)")
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { input in
            message.withUnsafeMutableBufferPointer { text in
                lips_jpeg_encode(input.baseAddress, Int32(width), Int32(height), Int32(components), Int32(quality),
                                 &output, &size, text.baseAddress, text.count)
            }
        }
        guard status == LIPS_JPEG_OK, let output else {
            throw UserError("JPEG encoding of \(width)×\(height)×\(components) pixels failed (libjpeg: \(text(message)))")
        }
        defer { lips_jpeg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }

    private static func text(_ message: [CChar]) -> String {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let line = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
        return line.isEmpty ? "unknown error" : line
    }
}
