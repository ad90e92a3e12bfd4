import Foundation
import Testing
@testable import LIPS

@Suite struct IDXReaderTests {
    @Test(arguments: [false, true]) func readsBackExactly(gzip: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 12, test: 5, gzip: gzip)
        let pair = try MNISTReader.load(directory: folder.path, name: "tiny")
        #expect(pair.train.count == 12 && pair.test.count == 5)
        #expect(pair.train.imageShape == Shape(channels: 1, height: 28, width: 28))
        #expect(pair.train.labels == (0..<12).map { Int32($0 % 10) })
        #expect(pair.test.pixels[784 * 3 + 100] == UInt8(121))
        #expect(pair.train.pixels == mnistPixels(12))
    }

    @Test func missingFileIsNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        try FileManager.default.removeItem(atPath: folder.file("t10k-labels-idx1-ubyte"))
        expectUserError("t10k-labels-idx1-ubyte", "not found") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
    }

    @Test func badMagicIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        var bytes = try FileReading.bytes(folder.file("train-images-idx3-ubyte"))
        bytes[2] = 0x0d // float data, not unsigned bytes
        try folder.write("train-images-idx3-ubyte", bytes)
        expectUserError("train-images-idx3-ubyte", "bad IDX magic") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
    }

    @Test func wrongDimensionCountIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        try folder.write("train-labels-idx1-ubyte", idxBytes(sizes: [3, 1], payload: [0, 1, 2]))
        expectUserError("train-labels-idx1-ubyte", "2 dimensions, expected 1") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
    }

    @Test func truncatedDataIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        let bytes = try FileReading.bytes(folder.file("train-images-idx3-ubyte"))
        try folder.write("train-images-idx3-ubyte", Array(bytes.dropLast(100)))
        expectUserError("train-images-idx3-ubyte", "2352 data bytes, 2252 found") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
    }

    @Test func labelOutOfRangeIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: false)
        try folder.write("train-labels-idx1-ubyte", idxBytes(sizes: [3], payload: [0, 12, 2]))
        expectUserError("train-labels-idx1-ubyte", "label 12 of record 1") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
    }

    @Test func corruptGzipIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 3, test: 2, gzip: true)
        var bytes = try FileReading.bytes(folder.file("train-images-idx3-ubyte.gz"))
        for i in 20..<40 { bytes[i] ^= 0x5a }
        try folder.write("train-images-idx3-ubyte.gz", bytes)
        expectUserError("train-images-idx3-ubyte.gz", "corrupt gzip") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
        let whole = gzipBytes(idxBytes(sizes: [3, 28, 28], payload: [UInt8](repeating: 1, count: 3 * 784)))
        try folder.write("train-images-idx3-ubyte.gz", Array(whole.prefix(whole.count / 2)))
        expectUserError("train-images-idx3-ubyte.gz", "corrupt gzip") { _ = try MNISTReader.load(directory: folder.path, name: "x") }
    }

    @Test func fashionMNISTFromDebianWhenInstalled() throws {
        guard FileManager.default.fileExists(atPath: MNISTReader.fashionMNISTDirectory) else {
            print("fashion-mnist not installed at \(MNISTReader.fashionMNISTDirectory); `make setup` installs it")
            return
        }
        let pair = try DatasetCatalog.load("fashion-mnist")
        #expect(pair.train.count == 60_000 && pair.test.count == 10_000)
        #expect(pair.train.classCounts() == [Int](repeating: 6_000, count: 10))
        #expect(pair.test.classCounts() == [Int](repeating: 1_000, count: 10))
    }
}

@Suite struct CIFARReaderTests {
    private func writeCIFAR10(_ folder: TemporaryFolder, perFile: Int) throws {
        for (i, name) in (CIFARReader.cifar10TrainFiles + [CIFARReader.cifar10TestFile]).enumerated() {
            try folder.write(name, cifarRecords(count: perFile, labelBytes: 1, classes: 10, first: i * perFile))
        }
    }

    @Test func cifar10ReadsBackExactly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeCIFAR10(folder, perFile: 4)
        let pair = try CIFARReader.loadCIFAR10(directory: folder.path, recordsPerFile: 4)
        #expect(pair.train.count == 20 && pair.test.count == 4)
        #expect(pair.train.labels == (0..<20).map { Int32($0 % 10) })
        #expect(pair.test.labels == (20..<24).map { Int32($0 % 10) })
        let expected: [UInt8] = (0..<3072).map { UInt8(truncatingIfNeeded: 7 + $0) }
        #expect(Array(pair.train.pixels[(7 * 3072)..<(8 * 3072)]) == expected)
    }

    @Test func cifar100UsesFineLabels() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("train.bin", cifarRecords(count: 6, labelBytes: 2, classes: 100, first: 90))
        try folder.write("test.bin", cifarRecords(count: 2, labelBytes: 2, classes: 100))
        let pair = try CIFARReader.loadCIFAR100(directory: folder.path, recordCounts: (6, 2))
        #expect(pair.train.labels == [90, 91, 92, 93, 94, 95])
        #expect(pair.train.classes == 100)
        #expect(Array(pair.train.pixels.prefix(3)) == [90, 91, 92])
    }

    @Test func wrongTotalSizeIsNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeCIFAR10(folder, perFile: 2)
        try folder.write("data_batch_3.bin", Array(cifarRecords(count: 2, labelBytes: 1, classes: 10).dropLast(1234)))
        expectUserError("data_batch_3.bin", "6146 bytes expected", "4912 found") {
            _ = try CIFARReader.loadCIFAR10(directory: folder.path, recordsPerFile: 2)
        }
    }

    @Test func truncatedRecordIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("train.bin", Array(cifarRecords(count: 3, labelBytes: 1, classes: 200).dropLast(10)))
        expectUserError("train.bin", "truncated record") {
            _ = try CIFARReader.records([folder.file("train.bin")], labelBytes: 1, labelIndex: 0, recordsPerFile: nil,
                                        classes: 200, name: "t", shape: Shape(channels: 3, height: 32, width: 32))
        }
    }

    @Test func labelOutOfRangeIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeCIFAR10(folder, perFile: 2)
        var bytes = cifarRecords(count: 2, labelBytes: 1, classes: 10)
        bytes[3073] = 11
        try folder.write("test_batch.bin", bytes)
        expectUserError("test_batch.bin", "label 11 of record 1") { _ = try CIFARReader.loadCIFAR10(directory: folder.path, recordsPerFile: 2) }
    }

    @Test func missingFileIsNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeCIFAR10(folder, perFile: 2)
        try FileManager.default.removeItem(atPath: folder.file("data_batch_5.bin"))
        expectUserError("data_batch_5.bin", "not found") { _ = try CIFARReader.loadCIFAR10(directory: folder.path, recordsPerFile: 2) }
    }
}

@Suite struct SyntheticAndAssemblyTests {
    @Test func syntheticIsSeeded() {
        let shape = Shape(channels: 3, height: 8, width: 8)
        let a = SyntheticData.make(trainCount: 30, testCount: 10, classes: 3, shape: shape, seed: 1)
        let b = SyntheticData.make(trainCount: 30, testCount: 10, classes: 3, shape: shape, seed: 1)
        let c = SyntheticData.make(trainCount: 30, testCount: 10, classes: 3, shape: shape, seed: 2)
        #expect(a.train.pixels == b.train.pixels && a.test.labels == b.test.labels)
        #expect(a.train.pixels != c.train.pixels)
        #expect(a.train.classCounts() == [10, 10, 10])
    }

    @Test func greyImagesArePaddedAndCopiedToThreeChannels() throws {
        let pixels = (0..<(2 * 784)).map { UInt8($0 % 251) }
        let data = Dataset(name: "g", imageShape: Shape(channels: 1, height: 28, width: 28), classes: 10, pixels: pixels, labels: [3, 7])
        let assembler = try BatchAssembler(imageShape: data.imageShape)
        #expect(assembler.inputShape == Shape(channels: 3, height: 32, width: 32))
        var out = [Float](repeating: -1, count: 2 * 3 * 1024)
        var labels = [Int32](repeating: 0, count: 2)
        var random: RandomStream? = nil
        out.withUnsafeMutableBufferPointer { o in
            labels.withUnsafeMutableBufferPointer { l in assembler.assemble(data, indices: [1, 0], into: o, labels: l, random: &random) }
        }
        #expect(labels == [7, 3])
        // Channel-major (C, N, H, W): sample 0 of the batch is image 1.
        for c in 0..<3 {
            #expect(out[(c * 2 + 0) * 1024 + 0] == 0, "padding is zero")
            #expect(out[(c * 2 + 0) * 1024 + 2 * 32 + 2] == Float(pixels[784]) / 255)
            #expect(out[(c * 2 + 1) * 1024 + 29 * 32 + 29] == Float(pixels[27 * 28 + 27]) / 255)
        }
    }

    /// Every value of an assembled batch, padding included, is bitwise `(v / 255 − mean) / std` of its
    /// stored byte (0 outside the image), worked out here pixel by pixel: grey 28×28 padded to three
    /// 32×32 channels, and a colour image kept at its size.
    @Test func assembledValuesAreNormalisedBytesBitwise() throws {
        for (shape, channels, side) in [(Shape(channels: 1, height: 28, width: 28), 3, 32), (Shape(channels: 3, height: 5, width: 7), 3, 0)] {
            var generator = RandomStream(seed: 11, purpose: "pixels")
            let count = 3
            let pixels = (0..<(count * shape.count)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let data = Dataset(name: "v", imageShape: shape, classes: 2, pixels: pixels, labels: [0, 1, 0])
            let mean: [Float] = [0.2860, 0.1307, 0.5], std: [Float] = [0.3530, 0.3081, 0.25]
            let assembler = try BatchAssembler(imageShape: shape, normalization: (mean, std))
            let h = side == 0 ? shape.height : side, w = side == 0 ? shape.width : side
            let marginY = (h - shape.height) / 2, marginX = (w - shape.width) / 2
            let order = [2, 0, 1]
            var out = [Float](repeating: .nan, count: order.count * channels * h * w)
            var labels = [Int32](repeating: -1, count: order.count)
            var none: RandomStream? = nil
            out.withUnsafeMutableBufferPointer { o in labels.withUnsafeMutableBufferPointer { l in assembler.assemble(data, indices: order, into: o, labels: l, random: &none) } }
            var mismatches = 0
            for c in 0..<channels {
                for (sample, image) in order.enumerated() {
                    for y in 0..<h {
                        for x in 0..<w {
                            let sy = y - marginY, sx = x - marginX
                            let inside = sy >= 0 && sy < shape.height && sx >= 0 && sx < shape.width
                            let sourceChannel = shape.channels == 1 ? 0 : c
                            let byte = inside ? pixels[image * shape.count + (sourceChannel * shape.height + sy) * shape.width + sx] : 0
                            let expected = (Float(byte) / 255 - mean[c]) / std[c]
                            if out[((c * order.count + sample) * h + y) * w + x].bitPattern != expected.bitPattern { mismatches += 1 }
                        }
                    }
                }
            }
            #expect(mismatches == 0, "shape \(shape)")
            #expect(labels == [0, 0, 1])
        }
    }

    @Test func normalisationAndFlipAreApplied() throws {
        let shape = Shape(channels: 3, height: 4, width: 4)
        let pixels = (0..<48).map { UInt8($0 * 5) }
        let data = Dataset(name: "n", imageShape: shape, classes: 2, pixels: pixels, labels: [1])
        let plain = try BatchAssembler(imageShape: shape, normalization: ([0.5, 0.5, 0.5], [0.25, 0.5, 1]))
        var out = [Float](repeating: 0, count: 48)
        var labels = [Int32](repeating: 0, count: 1)
        var none: RandomStream? = nil
        out.withUnsafeMutableBufferPointer { o in labels.withUnsafeMutableBufferPointer { l in plain.assemble(data, indices: [0], into: o, labels: l, random: &none) } }
        #expect(abs(out[16 + 5] - (Float(pixels[21]) / 255 - 0.5) / 0.5) < 1e-6)
        // With flip always available, some seeds flip: a flipped row is the reverse of the plain one.
        let flipping = try BatchAssembler(imageShape: shape, augmentation: Augmentation(horizontalFlip: true))
        var sawFlip = false, sawPlain = false
        for seed in 0..<16 {
            var random: RandomStream? = RandomStream(seed: UInt64(seed), purpose: "t")
            var flipped = [Float](repeating: 0, count: 48)
            flipped.withUnsafeMutableBufferPointer { o in labels.withUnsafeMutableBufferPointer { l in flipping.assemble(data, indices: [0], into: o, labels: l, random: &random) } }
            let row = Array(flipped[0..<4])
            let original: [Float] = (0..<4).map { Float(pixels[$0]) / 255 }
            let reversed: [Float] = original.reversed()
            if row == reversed { sawFlip = true } else if row == original { sawPlain = true }
        }
        #expect(sawFlip && sawPlain)
    }
}

@Suite struct DatasetCheckTests {
    @Test func md5MatchesKnownVectors() {
        #expect(MD5.hex([]) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(MD5.hex([UInt8](repeating: 0x61, count: 1000)) == "cabe45dcc9ae5b66ba86600cca6b8ba8")
    }

    @Test func emptyAndUnknownFoldersAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        expectUserError(folder.path, "empty folder") { _ = try DatasetCheck.check(directory: folder.path) }
        try folder.write("notes.txt", Array("hello".utf8))
        expectUserError(folder.path, "no dataset recognised") { _ = try DatasetCheck.check(directory: folder.path) }
        expectUserError("folder not found") { _ = try DatasetCheck.check(directory: folder.file("missing")) }
    }

    @Test func checkReportsAnIDXFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try writeMNISTFolder(folder, train: 20, test: 10, gzip: true)
        let lines = try DatasetCheck.check(directory: folder.path)
        #expect(lines[0].contains("MNIST-style IDX"))
        #expect(lines.contains { $0.contains("train: 20 images of 1x28x28, 10 classes, 2–2 per class") })
        #expect(lines.filter { $0.contains("md5") }.count == 4)
    }
}
