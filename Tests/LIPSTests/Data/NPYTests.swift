import Foundation
import Testing
@testable import LIPS

/// A `.npy` file spelled out byte by byte (not by `NPY.header`): magic, `version`, the header
/// length in 2 bytes (1.0) or 4 (2.0, 3.0), `dict` padded with spaces to a multiple of 16, `payload`.
func npyBytes(_ dict: String, payload: [UInt8], version: UInt8 = 1) -> [UInt8] {
    let lengthBytes = version == 1 ? 2 : 4
    var text = Array(dict.utf8)
    while (10 + (lengthBytes - 2) + text.count + 1) % 16 != 0 { text.append(0x20) }
    text.append(0x0A)
    var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
    for k in 0..<lengthBytes { bytes.append(UInt8(truncatingIfNeeded: text.count >> (8 * k))) }
    return bytes + text + payload
}

/// `dataset: npy`: hand-written files read back, layouts, byte orders, versions, and every fault.
@Suite struct NPYTests {
    /// Pixel (i, y, x, c) of a test array: distinct for every position in these small sets.
    static func pixel(_ i: Int, _ y: Int, _ x: Int, _ c: Int) -> UInt8 { UInt8((i * 50 + y * 12 + x * 3 + c) % 256) }

    /// Images (n, h, w, c) in NHWC order, as NumPy stores them.
    static func nhwc(_ n: Int, _ h: Int, _ w: Int, _ c: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for i in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c { bytes.append(pixel(i, y, x, k)) } } } }
        return bytes
    }

    static func int64LE(_ values: [Int]) -> [UInt8] { values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } } }
    static func int32BE(_ values: [Int]) -> [UInt8] { values.flatMap { v in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } } }

    /// A folder with 4 train and 2 test 3x2 RGB images (h = 3, w = 2).
    static func writeFolder(_ folder: TemporaryFolder, trainLabels: [UInt8] = int64LE([0, 2, 1, 2]),
                            trainLabelDescr: String = "<i8", version: UInt8 = 1) throws {
        try folder.write("train_images.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 3, 2, 3), }",
                                                      payload: nhwc(4, 3, 2, 3), version: version))
        try folder.write("train_labels.npy", npyBytes("{'descr': '\(trainLabelDescr)', 'fortran_order': False, 'shape': (4,), }",
                                                      payload: trainLabels, version: version))
        try folder.write("test_images.npy", npyBytes("{\"shape\": (2, 3, 2, 3), \"fortran_order\": False, \"descr\": \"|u1\"}",
                                                     payload: nhwc(2, 3, 2, 3)))
        try folder.write("test_labels.npy", npyBytes("{'descr': '>i4', 'fortran_order': False, 'shape': (2L,), }",
                                                     payload: int32BE([1, 0])))
    }

    @Test(arguments: [UInt8(1), 2, 3]) func readsImagesAsCHWWithTheirLabels(version: UInt8) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Self.writeFolder(folder, version: version)
        let pair = try DatasetCatalog.load("npy", directory: folder.path)
        #expect(pair.train.imageShape == Shape(channels: 3, height: 3, width: 2))
        #expect(pair.train.labels == [0, 2, 1, 2] && pair.test.labels == [1, 0])
        #expect(pair.train.classes == 3 && pair.test.classes == 3, "largest label + 1")
        #expect(pair.train.name == "npy train" && pair.test.name == "npy test")
        for (dataset, count) in [(pair.train, 4), (pair.test, 2)] {
            var expected: [UInt8] = []
            for i in 0..<count { for c in 0..<3 { for y in 0..<3 { for x in 0..<2 { expected.append(Self.pixel(i, y, x, c)) } } } }
            #expect(dataset.pixels == expected, "\(dataset.name): (C, H, W) order")
        }
        let described = try #require(try DatasetCatalog.imageShapeAndClasses("npy", directory: folder.path, syntheticShape: Shape(channels: 1, height: 1, width: 1), syntheticClasses: 2))
        #expect(described.shape == Shape(channels: 3, height: 3, width: 2) && described.classes == 3)
    }

    @Test func greyImagesWithoutAChannelAxisAndOtherLabelTypes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("train_images.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), }", payload: Array(0..<12)))
        try folder.write("train_labels.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", payload: [1, 0, 1]))
        try folder.write("test_images.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 2, 2, 1), }", payload: []))
        try folder.write("test_labels.npy", npyBytes("{'descr': '<u2', 'fortran_order': False, 'shape': (0,), }", payload: []))
        try folder.write("classes.txt", Array("cat\ndog\nemu\n".utf8))
        let pair = try NPYDataset.load(directory: folder.path)
        #expect(pair.train.imageShape == Shape(channels: 1, height: 2, width: 2))
        #expect(pair.train.pixels == Array(0..<12) && pair.train.labels == [1, 0, 1])
        #expect(pair.test.count == 0)
        #expect(pair.train.classes == 3, "classes.txt's three names, though label 2 never occurs")
    }

    @Test func headerParsing() throws {
        let header = try NPY.parseHeader(npyBytes("{'descr':'<i8','fortran_order':False,'shape':(2,3)}", payload: []), path: "h.npy")
        #expect(header.type == NPY.ElementType(signed: true, size: 8, bigEndian: false))
        #expect(header.shape == [2, 3] && header.dataLength == 48)
        // The writer's header parses back to itself and puts the data at a multiple of 64.
        let written = NPY.header(type: .uint8, shape: [7, 5, 4, 3])
        #expect(written.count % 64 == 0)
        let parsed = try NPY.parseHeader(written, path: "w.npy")
        #expect(parsed.type == .uint8 && parsed.shape == [7, 5, 4, 3] && parsed.dataOffset == written.count)
        #expect(try NPY.parseHeader(NPY.header(type: .int64, shape: [9]), path: "w.npy").shape == [9])
        // Signed values of every width, both byte orders.
        let bytes: [UInt8] = [0xFF, 0xFE]
        bytes.withUnsafeBufferPointer { buffer in
            #expect(NPY.ElementType(signed: true, size: 2, bigEndian: true).value(in: buffer, at: 0) == -2)
            #expect(NPY.ElementType(signed: true, size: 2, bigEndian: false).value(in: buffer, at: 0) == -257)
            #expect(NPY.ElementType(signed: false, size: 2, bigEndian: false).value(in: buffer, at: 0) == 0xFEFF)
            #expect(NPY.ElementType(signed: true, size: 1, bigEndian: false).value(in: buffer, at: 1) == -2)
        }
    }

    @Test func malformedFilesAreRefusedInOneLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("train_images.npy")
        let cases: [(bytes: [UInt8], parts: [String])] = [
            ([1, 2, 3], ["not a NumPy .npy file"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (1, 2, 2), }", payload: [0, 0, 0, 0]), ["Fortran"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }", payload: [0, 0, 0]), ["needs 8 bytes", "holds 3", "truncated"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }", payload: [0, 0, 0, 0, 9]), ["needs 4 bytes", "holds 5"]),
            (npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", payload: []), ["'<f4' is not supported"]),
            (npyBytes("{'descr': [('a', '<u1')], 'fortran_order': False, 'shape': (1,), }", payload: [0]), ["malformed .npy header", "list"]),
            (npyBytes("{'descr': '|u1', 'shape': (1, 2, 2), }", payload: [0, 0, 0, 0]), ["missing fortran_order"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), 'x': 1}", payload: [0, 0, 0, 0]), ["malformed"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, -2, 2), }", payload: []), ["non-negative integer"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", payload: []), ["too large to address"]),
            (npyBytes("{'descr': '<u4', 'fortran_order': False, 'shape': (1, 2, 2), }", payload: [UInt8](repeating: 0, count: 16)), ["images must be uint8"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2, 4), }", payload: [UInt8](repeating: 0, count: 16)), ["1 or 3 channels"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", payload: [0, 0, 0, 0]), ["(N, H, W, C)"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (0, 3, 2, 3), }", payload: []), ["no images"]),
            (npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }", payload: [0, 0, 0, 0], version: 4), ["version 4.0"]),
            (Array(npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2, 2), }", payload: []).prefix(30)), ["truncated .npy header"]),
        ]
        for (bytes, parts) in cases {
            try Self.writeFolder(folder)
            try folder.write("train_images.npy", bytes)
            let message = userErrorMessage { _ = try NPYDataset.load(directory: folder.path) }
            #expect(message?.contains(path) == true, "names the file: \(message ?? "")")
            for part in parts { #expect(message?.contains(part) == true, "'\(message ?? "")' lacks '\(part)'") }
        }
    }

    @Test func badLabelsAndMismatchedSplitsAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Self.writeFolder(folder, trainLabels: Self.int64LE([0, -1, 1, 2]))
        expectUserError("train_labels.npy", "label -1 of sample 1") { _ = try NPYDataset.load(directory: folder.path) }
        try Self.writeFolder(folder, trainLabels: Self.int64LE([0, 1, 1, 70_000]))
        expectUserError("train_labels.npy", "label 70000 of sample 3", "0..<65536") { _ = try NPYDataset.load(directory: folder.path) }
        try Self.writeFolder(folder, trainLabels: Self.int64LE([0, 1, 1]))
        expectUserError("train_labels.npy", "needs 32 bytes") { _ = try NPYDataset.load(directory: folder.path) }
        try Self.writeFolder(folder, trainLabels: [0, 0, 0, 0, 0, 0, 0, 0xC0], trainLabelDescr: ">u8")
        try folder.write("train_labels.npy", npyBytes("{'descr': '>u8', 'fortran_order': False, 'shape': (1,), }", payload: [0xC0, 0, 0, 0, 0, 0, 0, 0]))
        expectUserError("train_labels.npy", "1 labels for the 4 images") { _ = try NPYDataset.load(directory: folder.path) }
        try Self.writeFolder(folder)
        try folder.write("train_labels.npy", npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (4, 1), }", payload: Self.int64LE([0, 1, 1, 1])))
        expectUserError("train_labels.npy", "shape (N,)") { _ = try NPYDataset.load(directory: folder.path) }
        try Self.writeFolder(folder)
        try folder.write("classes.txt", Array("a\nb\n".utf8))
        expectUserError("train_labels.npy", "label 2 of sample 1", "classes.txt") { _ = try NPYDataset.load(directory: folder.path) }
        try folder.write("classes.txt", Array((0...65536).map { "c\($0)\n" }.joined().utf8))
        expectUserError("classes.txt", "65537 class names", "65536") { _ = try NPYDataset.load(directory: folder.path) }
        try folder.write("classes.txt", Array("a\n\nc\n".utf8))
        expectUserError("classes.txt line 2", "empty class name") { _ = try NPYDataset.load(directory: folder.path) }
        try FileManager.default.removeItem(atPath: folder.file("classes.txt"))
        try folder.write("test_images.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 2), }", payload: Self.nhwc(2, 3, 2, 1)))
        expectUserError("test_images.npy", "1x3x2", "3x3x2") { _ = try NPYDataset.load(directory: folder.path) }
        try FileManager.default.removeItem(atPath: folder.file("test_images.npy"))
        expectUserError("test_images.npy", "file not found") { _ = try NPYDataset.load(directory: folder.path) }
        expectUserError("npy has no default folder", "data_dir") { _ = try DatasetCatalog.load("npy") }
    }

    @Test func checkAndARunReadTheFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        // 60 train and 24 test grey 6x6 images of 3 classes: class k is bright in row band k.
        func split(_ count: Int) -> (images: [UInt8], labels: [UInt8]) {
            var images: [UInt8] = [], labels: [UInt8] = []
            for i in 0..<count {
                let label = i % 3
                labels.append(UInt8(label))
                for y in 0..<6 { for x in 0..<6 { images.append(y / 2 == label ? UInt8(200 + (i + x) % 40) : UInt8((i * x) % 30)) } }
            }
            return (images, labels)
        }
        for (name, count) in [("train", 60), ("test", 24)] {
            let (images, labels) = split(count)
            try folder.write("\(name)_images.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (\(count), 6, 6), }", payload: images))
            try folder.write("\(name)_labels.npy", npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (\(count),), }", payload: labels))
        }
        let lines = try DatasetCheck.check(directory: folder.path)
        #expect(lines[0].contains("NumPy arrays (dataset npy)"))
        #expect(lines[1].contains("npy train: 60 images of 1x6x6, 3 classes, 20–20 per class"))

        var config = ExperimentConfig()
        config.dataset = "npy"
        config.dataDirectory = folder.path
        config.model = "cnn"
        config.clients = 3
        config.trainPerClient = 10
        config.testPerClient = 6
        config.rounds = 2
        config.batchSize = 5
        try config.validate()
        let run = folder.file("run")
        #expect(try Experiment(directory: run, config: config).run(workers: 1) == .finished(rounds: 2, resumedFrom: 0))
        let rows = try MetricsFiles.readJSONLines(String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8))
        #expect(rows.map(\.round) == [0, 1])
    }
}
