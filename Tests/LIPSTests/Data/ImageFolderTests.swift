import CZlib
import Foundation
import Testing
@testable import LIPS

/// `lips data prepare image-folder`: class order, file order, channel conversion, resize and crop,
/// the split, the files written, every refusal, and a run on the result.
@Suite struct ImageFolderTests {
    /// Writes `bytes` at `relative` below `root`, creating folders.
    static func put(_ root: String, _ relative: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: root).appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    /// A PNG of one colour (`colour` holds 1 to 4 samples).
    static func solidPNG(width: Int, height: Int, _ colour: [UInt8]) -> [UInt8] {
        pngBytes(width: width, height: height, channels: colour.count, pixels: Array([[UInt8]](repeating: colour, count: width * height).joined()))
    }

    static func solidJPEG(width: Int, height: Int, _ colour: [UInt8]) throws -> [UInt8] {
        try JPEG.encode(Array([[UInt8]](repeating: colour, count: width * height).joined()), width: width, height: height,
                        components: colour.count, quality: 100)
    }

    /// PIL's convert("L").
    static func luma(_ rgb: [UInt8]) -> UInt8 {
        let r: Int = Int(rgb[0]) * 19595, g: Int = Int(rgb[1]) * 38470, b: Int = Int(rgb[2]) * 7471
        return UInt8((r + g + b + 0x8000) >> 16)
    }

    /// Classes written in an order unlike their sorted one ("C_bird" < "a_dog" < "b_cat" by code
    /// point), images of mixed sizes and kinds, one in a subfolder, and files that are not images.
    /// Returns the colour each train image must come out as, in output order.
    static func writeMixedSource(_ root: String) throws -> [[UInt8]] {
        try put(root, "b_cat/m.png", solidPNG(width: 9, height: 5, [40, 50, 60]))
        try put(root, "b_cat/k.jpeg", solidJPEG(width: 8, height: 8, [150]))
        try put(root, "a_dog/2.png", solidPNG(width: 4, height: 4, [5, 6, 7, 0]))  // RGBA, fully transparent
        try put(root, "a_dog/1.JPG", solidJPEG(width: 10, height: 7, [20, 120, 220]))
        try put(root, "C_bird/sub/y.PNG", solidPNG(width: 5, height: 5, [77]))  // grey
        try put(root, "C_bird/x.png", solidPNG(width: 6, height: 9, [200, 10, 30]))
        try put(root, "C_bird/notes.txt", Array("not an image".utf8))
        try put(root, "a_dog/.DS_Store", [0, 1, 2])
        // Class order, then folder by folder (C_bird before C_bird/sub), then by name.
        return [[200, 10, 30], [77, 77, 77], [20, 120, 220], [5, 6, 7], [150, 150, 150], [40, 50, 60]]
    }

    @Test func preparesClassFoldersInImageFolderOrder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = folder.file("src"), output = folder.file("out")
        let colours = try Self.writeMixedSource(source)
        let written = try ImageFolder.prepare(source: source, output: output, options: .init(height: 4, width: 4, testFraction: 0))
        #expect(written == (6, 0, 3))
        #expect(try FileManager.default.contentsOfDirectory(atPath: output).sorted()
            == ["classes.txt", "test_images.npy", "test_labels.npy", "train_images.npy", "train_labels.npy"], "no temporary files left")
        #expect(FileManager.default.contents(atPath: output + "/classes.txt") == Data("C_bird\na_dog\nb_cat\n".utf8))
        let header = try NPY.parseHeader(FileReading.bytes(output + "/train_images.npy"), path: "train_images.npy")
        #expect(header.shape == [6, 4, 4, 3] && header.type == .uint8)

        let pair = try DatasetCatalog.load("npy", directory: output)
        #expect(pair.train.labels == [0, 0, 1, 1, 2, 2] && pair.train.classes == 3 && pair.test.count == 0)
        #expect(pair.train.imageShape == Shape(channels: 3, height: 4, width: 4))
        for (index, colour) in colours.enumerated() {
            let image = pair.train.pixels[(index * 48)..<((index + 1) * 48)]
            let worst = (0..<48).map { abs(Int(image[image.startIndex + $0]) - Int(colour[$0 / 16])) }.max()!
            // PNG is lossless; a one-colour JPEG at quality 100 comes back within a level or two.
            #expect(worst <= 2, "image \(index): off by \(worst)")
        }

        // One channel: PIL's luma of each colour.
        let grey = folder.file("grey")
        try ImageFolder.prepare(source: source, output: grey, options: .init(height: 3, width: 5, channels: 1, testFraction: 0))
        let greyPair = try NPYDataset.load(directory: grey)
        #expect(greyPair.train.imageShape == Shape(channels: 1, height: 3, width: 5))
        for (index, colour) in colours.enumerated() {
            let image = greyPair.train.pixels[(index * 15)..<((index + 1) * 15)]
            #expect(image.allSatisfy { abs(Int($0) - Int(Self.luma(colour))) <= 2 }, "grey image \(index)")
        }
    }

    @Test func resizeAndCropFollowTorchvisionAndPillow() throws {
        // Shrinking 4 → 2 columns (and 2 → 1 rows) with Pillow's bilinear filter, worked by hand:
        // output 0 reads inputs 0, 1, 2 with weights 3/7, 3/7, 1/7; output 1 inputs 1, 2, 3 with 1/7, 3/7, 3/7.
        let edge = DecodedImage(width: 4, height: 2, channels: 1, pixels: [0, 0, 255, 255, 0, 0, 255, 255])
        #expect(ImageResize.prepare(edge, channels: 1, height: 1, width: 2) == [36, 219])
        // Growing 2 → 4 columns: weights 1; 3/4, 1/4; 1/4, 3/4; 1.
        let ramp = DecodedImage(width: 2, height: 1, channels: 1, pixels: [0, 255])
        #expect(ImageResize.prepare(ramp, channels: 1, height: 1, width: 4) == [0, 64, 191, 255])
        // Shorter side already 4: no resampling, the centre 4 columns of 8 (offset 2).
        let halves = DecodedImage(width: 8, height: 4, channels: 3,
                                  pixels: (0..<32).flatMap { $0 % 8 < 4 ? [255, 0, 0] : [0, 0, 255] as [UInt8] })
        let cropped = ImageResize.prepare(halves, channels: 3, height: 4, width: 4)
        #expect(cropped == (0..<16).flatMap { $0 % 4 < 2 ? [255, 0, 0] : [0, 0, 255] as [UInt8] })
        // CenterCrop's offsets: Python's round((size - crop) / 2), halves to even.
        #expect([0, 1, 2, 3, 4, 5, 7].map(ImageResize.centreOffset) == [0, 0, 1, 2, 2, 2, 4])
        // Resize(S) on a 10x7 (w x h) image: height 7 → 4, width ⌊4·10/7⌋ = 5; then the centre 4.
        let wide = DecodedImage(width: 10, height: 7, channels: 1, pixels: [UInt8](repeating: 9, count: 70))
        #expect(ImageResize.prepare(wide, channels: 1, height: 4, width: 4) == [UInt8](repeating: 9, count: 16))
    }

    @Test func imagesAreRecognisedByContentAndLargeJPEGsDecodedWhole() throws {
        // Larger than the first JPEG buffer (256×256): measured, then decoded at its size.
        let jpeg = try Self.solidJPEG(width: 300, height: 280, [10, 200, 90])
        let large = try ImageFolder.decode(jpeg, path: "large.jpg")
        #expect(large.width == 300 && large.height == 280 && large.pixels.count == 300 * 280 * 3)
        #expect(abs(Int(large.pixels[3 * (140 * 300 + 150) + 1]) - 200) <= 2)
        // A PNG named .jpg is still a PNG; a name ending in .png alone counts, as in torchvision.
        #expect(try ImageFolder.decode(Self.solidPNG(width: 2, height: 1, [4]), path: "odd.jpg").pixels == [4, 4])
        #expect(ImageFolder.isImageName(".png") && ImageFolder.isImageName("A.TIFF") && !ImageFolder.isImageName("png"))
    }

    @Test func oneTreeIsSplitPerClassBySeed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = folder.file("src")
        for index in 0..<10 { try Self.put(source, "many/\(index).png", Self.solidPNG(width: 2, height: 2, [UInt8(index)])) }
        for index in 0..<3 { try Self.put(source, "few/\(index).png", Self.solidPNG(width: 2, height: 2, [UInt8(100 + index)])) }
        func prepared(seed: UInt64, into name: String) throws -> DatasetPair {
            try ImageFolder.prepare(source: source, output: folder.file(name),
                                    options: .init(height: 1, width: 1, channels: 1, testFraction: 0.2, seed: seed))
            return try NPYDataset.load(directory: folder.file(name))
        }
        let a = try prepared(seed: 7, into: "a"), again = try prepared(seed: 7, into: "again")
        // "few" is class 0: round(0.6) = 1 of its 3 images; "many": 2 of 10.
        #expect(a.test.labels == [0, 1, 1] && a.train.labels == [0, 0] + [Int32](repeating: 1, count: 8))
        #expect(a.train.pixels == again.train.pixels && a.test.pixels == again.test.pixels, "the same seed, the same split")
        // Every image lands in exactly one split, each split in source order.
        #expect((a.train.pixels + a.test.pixels).sorted() == Array(0..<10) + [100, 101, 102])
        #expect(a.train.pixels[0..<2].sorted() == Array(a.train.pixels[0..<2]) && a.train.pixels[2...].sorted() == Array(a.train.pixels[2...]))
        // The stream is the class's own: another seed draws again.
        let seeds = try (0..<4).map { try prepared(seed: UInt64($0), into: "s\($0)").test.pixels }
        #expect(Set(seeds).count > 1)
    }

    @Test func trainAndTestTreesKeepTrainsClasses() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = folder.file("src")
        try Self.put(source, "train/x/0.png", Self.solidPNG(width: 3, height: 3, [1]))
        try Self.put(source, "train/y/0.png", Self.solidPNG(width: 3, height: 3, [2]))
        try Self.put(source, "test/y/0.png", Self.solidPNG(width: 3, height: 3, [3]))
        try ImageFolder.prepare(source: source, output: folder.file("out"), options: .init(height: 2, width: 2, channels: 1))
        let pair = try NPYDataset.load(directory: folder.file("out"))
        #expect(pair.train.labels == [0, 1] && pair.test.labels == [1] && pair.test.pixels == [3, 3, 3, 3])
        expectUserError("--test-fraction applies to a one-tree source") {
            try ImageFolder.prepare(source: source, output: folder.file("out"), options: .init(height: 2, width: 2, testFraction: 0.1))
        }
        try Self.put(source, "test/z/0.png", Self.solidPNG(width: 3, height: 3, [3]))
        expectUserError("test/z", "class 'z' has no folder in") {
            try ImageFolder.prepare(source: source, output: folder.file("out"), options: .init(height: 2, width: 2))
        }
        try FileManager.default.removeItem(atPath: source + "/test")
        expectUserError("src/test", "folder not found") {
            try ImageFolder.prepare(source: source, output: folder.file("out"), options: .init(height: 2, width: 2))
        }
        try Self.put(source, "test/y/0.png", Self.solidPNG(width: 3, height: 3, [3]))
        try Self.put(source, "extra/0.png", Self.solidPNG(width: 3, height: 3, [3]))
        expectUserError("holds train/ and also extra") {
            try ImageFolder.prepare(source: source, output: folder.file("out"), options: .init(height: 2, width: 2))
        }
    }

    @Test func malformedSourcesAreRefusedInOneLine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = folder.file("src"), output = folder.file("out")
        let options = ImageFolder.Options(height: 2, width: 2)
        func prepare(_ options: ImageFolder.Options = options) throws { try ImageFolder.prepare(source: source, output: output, options: options) }

        expectUserError("src", "folder not found") { try prepare() }
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        expectUserError("src", "empty folder") { try prepare() }
        try Self.put(source, "loose.png", Self.solidPNG(width: 2, height: 2, [1]))
        expectUserError("src", "no class folders") { try prepare() }
        try Self.put(source, "a/0.png", Self.solidPNG(width: 2, height: 2, [1]))
        try Self.put(source, "b/readme.txt", Array("x".utf8))
        expectUserError("src/b", "no images for class 'b'") { try prepare() }
        try FileManager.default.removeItem(atPath: source + "/b/readme.txt")
        let png = Self.solidPNG(width: 2, height: 2, [1, 2, 3])
        try Self.put(source, "b/cut.png", Array(png.prefix(png.count - 16)))
        expectUserError("src/b/cut.png", "truncated PNG") { try prepare() }
        try FileManager.default.removeItem(atPath: source + "/b/cut.png")
        let jpeg = try Self.solidJPEG(width: 16, height: 16, [9, 9, 9])
        try Self.put(source, "b/cut.jpg", Array(jpeg.prefix(jpeg.count / 2)))
        expectUserError("src/b/cut.jpg", "not a readable JPEG") { try prepare() }
        try Self.put(source, "b/cut.jpg", Array("text".utf8))
        expectUserError("src/b/cut.jpg", "not a readable JPEG") { try prepare() }
        try FileManager.default.removeItem(atPath: source + "/b/cut.jpg")
        try Self.put(source, "b/old.bmp", [0x42, 0x4D, 0, 0])
        expectUserError("src/b/old.bmp", ".bmp images are not supported") { try prepare() }
        try FileManager.default.removeItem(atPath: source + "/b/old.bmp")
        try Self.put(source, "b/0.png", png)
        try prepare()  // the source is fine now

        expectUserError("--channels must be 1", "got 4") { try prepare(.init(height: 2, width: 2, channels: 4)) }
        expectUserError("--size 0x2") { try prepare(.init(height: 0, width: 2)) }
        expectUserError("--size 2x5000") { try prepare(.init(height: 2, width: 5000)) }
        expectUserError("--test-fraction must be in [0, 1)") { try prepare(.init(height: 2, width: 2, testFraction: 1)) }
        expectUserError("inside the source folder") {
            try ImageFolder.prepare(source: source, output: source + "/prepared", options: options)
        }
        try Self.put(source, "c\nd/0.png", png)
        expectUserError("line break") { try prepare() }
        try FileManager.default.removeItem(atPath: source + "/c\nd")
        // Too many classes; too many images for the memory, refused before any is decoded.
        expectUserError("65537 class folders", "65536") {
            _ = try ImageFolder.classFolders(source, names: (0...65536).map { "c\($0)" })
        }
        let side = Shape.maximumSide
        let needed = Int(0.5 * Double(MemoryLimit.bytes) / Double(3 * side * side)) + 1
        for index in 0..<needed { try Self.put(source, "many/\(index).png", png) }
        expectUserError("images of 3x4096x4096 would need", "GB to train on", "smaller --size") {
            try prepare(.init(height: side, width: side))
        }
        try FileManager.default.removeItem(atPath: source + "/many")
        // An image larger than the bound is measured, not decoded.
        let tall = pngBytes(width: 1, height: 1, channels: 1, pixels: [0])
        expectUserError("big.png", "more than the") {
            _ = try PNG.decode(Self.withSize(tall, width: 65536, height: 65536), path: "big.png", maximumPixels: ImageFolder.maximumSourcePixels)
        }
    }

    /// `png` with its IHDR size changed and the CRC recomputed.
    static func withSize(_ png: [UInt8], width: Int, height: Int) -> [UInt8] {
        var bytes = png
        for (k, shift) in [24, 16, 8, 0].enumerated() {
            bytes[16 + k] = UInt8(truncatingIfNeeded: width >> shift)
            bytes[20 + k] = UInt8(truncatingIfNeeded: height >> shift)
        }
        let crc = Array(bytes[12..<29]).withUnsafeBufferPointer { Int(crc32(0, $0.baseAddress, uInt($0.count))) }
        for (k, shift) in [24, 16, 8, 0].enumerated() { bytes[29 + k] = UInt8(truncatingIfNeeded: crc >> shift) }
        return bytes
    }

    @Test func aRunTrainsOnAPreparedFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let source = folder.file("src")
        // Four classes of a base colour plus a little per-image variation.
        let bases: [[Int]] = [[220, 30, 30], [30, 220, 30], [30, 30, 220], [200, 200, 40]]
        for (label, base) in bases.enumerated() {
            for index in 0..<12 {
                let colour = base.map { UInt8(max(0, min(255, $0 + (index * 7) % 21 - 10))) }
                try Self.put(source, "class\(label)/\(index).png", Self.solidPNG(width: 10 + index, height: 9, colour))
            }
        }
        let data = folder.file("data")
        try ImageFolder.prepare(source: source, output: data, options: .init(height: 8, width: 8, testFraction: 0.25))
        var config = ExperimentConfig()
        config.dataset = "npy"
        config.dataDirectory = data
        config.model = "cnn"
        config.clients = 2
        config.trainPerClient = 8
        config.testPerClient = 4
        config.rounds = 2
        config.localEpochs = 1
        config.batchSize = 4
        try config.validate()
        let run = folder.file("run")
        let outcome = try Experiment(directory: run, config: config).run(workers: 1)
        #expect(outcome == .finished(rounds: 2, resumedFrom: 0))
        let rows = try MetricsFiles.readJSONLines(String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8))
        #expect(rows.count == 2)
        // lips export reads the shape and class count from the folder.
        let summary = try ModelExport.export(runDirectory: run, client: nil, to: folder.file("model.safetensors"))
        #expect(summary.round == 1)
    }
}
