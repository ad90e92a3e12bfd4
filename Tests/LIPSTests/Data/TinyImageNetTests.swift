import Foundation
import Testing
@testable import LIPS

/// A fake `tiny-imagenet-200` folder in a fresh temporary directory: 3 wnids × 2 train images and
/// 3 validation images of 64×64, written with the engine's own JPEG encoder at quality 100.
/// The second image of the second class is a greyscale JPEG.
private struct FakeTinyImageNet {
    static let wnids = ["n01443537", "n01629819", "n01641577"]
    /// Validation files in annotation order, with their wnid index.
    static let validation = [("val_0.JPEG", 2), ("val_1.JPEG", 0), ("val_2.JPEG", 1)]

    let folder: TemporaryFolder
    var source: String { folder.file("tiny-imagenet-200") }
    var output: String { folder.file("out/prepared") }

    init(tag: String = #function) throws {
        folder = try TemporaryFolder("tin" + tag)
        try write("wnids.txt", Data(FakeTinyImageNet.wnids.map { $0 + "\n" }.joined().utf8))
        for (label, wnid) in FakeTinyImageNet.wnids.enumerated() {
            for index in 0..<2 {
                try writeJPEG("train/\(wnid)/images/\(wnid)_\(index).JPEG", seed: FakeTinyImageNet.trainSeed(label, index),
                              grey: FakeTinyImageNet.isGrey(label, index))
            }
            try write("train/\(wnid)/\(wnid)_boxes.txt", Data("\(wnid)_0.JPEG\t0\t0\t63\t63\n".utf8))
        }
        var annotations = ""
        for (index, (name, label)) in FakeTinyImageNet.validation.enumerated() {
            try writeJPEG("val/images/\(name)", seed: 100 + index)
            annotations += "\(name)\t\(FakeTinyImageNet.wnids[label])\t0\t10\t50\t60\n"
        }
        try write("val/val_annotations.txt", Data(annotations.utf8))
    }

    static func trainSeed(_ label: Int, _ index: Int) -> Int { 10 * label + index }
    static func isGrey(_ label: Int, _ index: Int) -> Bool { label == 1 && index == 1 }

    /// A smooth image (JPEG keeps it within a few levels) in planar (C, H, W) order; grey images
    /// have three equal planes.
    static func planarPixels(seed: Int, grey: Bool) -> [UInt8] {
        var planes = [UInt8](repeating: 0, count: 3 * 64 * 64)
        for c in 0..<3 {
            for y in 0..<64 {
                for x in 0..<64 {
                    let value = grey
                        ? 30 + 2 * x + y + seed
                        : [20 + 3 * x + seed, 200 - 2 * y + seed, 60 + x + y + 2 * seed][c]
                    planes[(c * 64 + y) * 64 + x] = UInt8(max(0, min(255, value)))
                }
            }
        }
        return planes
    }

    func path(_ relative: String) -> String { (source as NSString).appendingPathComponent(relative) }

    func write(_ relative: String, _ data: Data) throws {
        let url = URL(fileURLWithPath: path(relative))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// Writes a 64×64 (or `side`×`side`) JPEG of `planarPixels(seed:grey:)`.
    func writeJPEG(_ relative: String, seed: Int, grey: Bool = false, side: Int = 64) throws {
        let planes = FakeTinyImageNet.planarPixels(seed: seed, grey: grey)
        var interleaved: [UInt8] = []
        for y in 0..<side {
            for x in 0..<side {
                if grey {
                    interleaved.append(planes[(y % 64) * 64 + x % 64])
                } else {
                    for c in 0..<3 { interleaved.append(planes[(c * 64 + y % 64) * 64 + x % 64]) }
                }
            }
        }
        let jpeg = try JPEG.encode(interleaved, width: side, height: side, components: grey ? 1 : 3, quality: 100)
        try write(relative, Data(jpeg))
    }

    func remove(_ relative: String) throws { try FileManager.default.removeItem(atPath: path(relative)) }

    func cleanup() { folder.cleanup() }
}

@Suite struct TinyImageNetTests {
    /// Largest difference between a decoded quality-100 JPEG and its source pixels.
    static let tolerance = 4

    @Test func jpegRoundTripKeepsSizeAndPixels() throws {
        let grey = (0..<(16 * 8)).map { UInt8($0 * 2) }
        let jpeg = try JPEG.encode(grey, width: 16, height: 8, components: 1, quality: 100)
        let image = try JPEG.decodeRGB(jpeg, path: "grey.jpg", capacity: 16 * 8 * 3)
        #expect(image.width == 16 && image.height == 8)
        for p in 0..<(16 * 8) {
            #expect(image.rgb[3 * p] == image.rgb[3 * p + 1] && image.rgb[3 * p] == image.rgb[3 * p + 2])
            #expect(abs(Int(image.rgb[3 * p]) - Int(grey[p])) <= TinyImageNetTests.tolerance)
        }
        let tooSmall = try JPEG.decodeRGB(jpeg, path: "grey.jpg", capacity: 100)
        #expect(tooSmall.width == 16 && tooSmall.height == 8 && tooSmall.rgb.isEmpty)
        let truncated = Array(jpeg.prefix(jpeg.count / 2))
        let message = userErrorMessage { _ = try JPEG.decodeRGB(truncated, path: "cut.jpg", capacity: 16 * 8 * 3) }
        #expect(message?.contains("cut.jpg") == true)
    }

    @Test func preparesAndLoadsBack() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        let written = try TinyImageNet.prepare(source: fake.source, output: fake.output)
        #expect(written.train == 6 && written.test == 3)

        let outputFiles = try FileManager.default.contentsOfDirectory(atPath: fake.output).sorted()
        #expect(outputFiles == ["test.bin", "train.bin", "wnids.txt"], "no temporary files left behind")
        #expect(FileManager.default.contents(atPath: fake.output + "/wnids.txt") == FileManager.default.contents(atPath: fake.path("wnids.txt")))
        let trainBytes = try #require(FileManager.default.contents(atPath: fake.output + "/train.bin"))
        #expect(trainBytes.count == 6 * (1 + 3 * 64 * 64))

        let pair = try TinyImageNet.load(directory: fake.output)
        #expect(pair.train.name == "tinyimagenet train" && pair.test.name == "tinyimagenet test")
        #expect(pair.train.imageShape == Shape(channels: 3, height: 64, width: 64))
        #expect(pair.train.classes == 3 && pair.test.classes == 3)
        #expect(pair.train.labels == [0, 0, 1, 1, 2, 2])
        #expect(pair.test.labels == FakeTinyImageNet.validation.map { Int32($0.1) })

        func maxError(_ dataset: Dataset, _ index: Int, _ expected: [UInt8]) -> Int {
            let stored = dataset.pixels[(index * expected.count)..<((index + 1) * expected.count)]
            return zip(stored, expected).map { abs(Int($0) - Int($1)) }.max() ?? .max
        }
        for label in 0..<3 {
            for index in 0..<2 {
                let expected = FakeTinyImageNet.planarPixels(seed: FakeTinyImageNet.trainSeed(label, index),
                                                             grey: FakeTinyImageNet.isGrey(label, index))
                #expect(maxError(pair.train, 2 * label + index, expected) <= TinyImageNetTests.tolerance,
                        "train image \(label)/\(index)")
            }
        }
        for index in 0..<3 {
            let expected = FakeTinyImageNet.planarPixels(seed: 100 + index, grey: false)
            #expect(maxError(pair.test, index, expected) <= TinyImageNetTests.tolerance, "test image \(index)")
        }
        // The greyscale JPEG comes out as three equal planes.
        let grey = Array(pair.train.pixels[(3 * 12288)..<(4 * 12288)])
        #expect(grey[0..<4096] == grey[4096..<8192] && grey[0..<4096] == grey[8192..<12288])

        // Preparing again over the same folder replaces the files.
        let again = try TinyImageNet.prepare(source: fake.source, output: fake.output)
        #expect(again.train == 6 && again.test == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fake.output).count == 3)
    }

    @Test func loadWithoutWnidsAssumes200Classes() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        try TinyImageNet.prepare(source: fake.source, output: fake.output)
        try FileManager.default.removeItem(atPath: fake.output + "/wnids.txt")
        let pair = try TinyImageNet.load(directory: fake.output)
        #expect(pair.train.classes == 200 && pair.test.count == 3)
    }

    @Test func undecodableJPEGIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        let wnid = FakeTinyImageNet.wnids[2]
        try fake.write("train/\(wnid)/images/\(wnid)_9.JPEG", Data("this is not a JPEG at all".utf8))
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("\(wnid)_9.JPEG") == true, "\(message ?? "")")
        #expect(message?.contains("libjpeg") == true, "\(message ?? "")")
        // Nothing is written when an image fails, not even temporary files.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: fake.output)) == [])
    }

    @Test func missingWnidsIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        try fake.remove("wnids.txt")
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("wnids.txt") == true && message?.contains("not found") == true, "\(message ?? "")")
    }

    @Test func emptySourceFolderIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        let empty = fake.folder.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let message = userErrorMessage { try TinyImageNet.prepare(source: empty, output: fake.output) }
        #expect(message?.contains(empty) == true && message?.contains("empty folder") == true, "\(message ?? "")")
    }

    @Test func emptyClassFolderIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        let wnid = FakeTinyImageNet.wnids[1]
        for index in 0..<2 { try fake.remove("train/\(wnid)/images/\(wnid)_\(index).JPEG") }
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("\(wnid)/images") == true && message?.contains("empty folder") == true, "\(message ?? "")")
    }

    @Test func missingClassFolderIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        let wnid = FakeTinyImageNet.wnids[0]
        try fake.remove("train/\(wnid)")
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("train/\(wnid)/images") == true && message?.contains("not found") == true, "\(message ?? "")")
    }

    @Test func wrongImageSizeIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        try fake.writeJPEG("val/images/val_1.JPEG", seed: 7, side: 32)
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("val_1.JPEG") == true && message?.contains("32×32") == true
                && message?.contains("64×64") == true, "\(message ?? "")")
        // Larger than 64×64: not decoded, still reported with its size.
        try fake.writeJPEG("val/images/val_1.JPEG", seed: 7, side: 80)
        let larger = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(larger?.contains("val_1.JPEG") == true && larger?.contains("80×80") == true, "\(larger ?? "")")
    }

    @Test func unknownWnidInAnnotationsIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        try fake.write("val/val_annotations.txt", Data("val_0.JPEG\tn01443537\t0\t0\t1\t1\nval_1.JPEG\tn99999999\t0\t0\t1\t1\n".utf8))
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("val_annotations.txt line 2") == true && message?.contains("n99999999") == true, "\(message ?? "")")
    }

    @Test func annotationOfMissingImageIsNamed() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        try fake.remove("val/images/val_2.JPEG")
        let message = userErrorMessage { try TinyImageNet.prepare(source: fake.source, output: fake.output) }
        #expect(message?.contains("val_annotations.txt line 3") == true && message?.contains("val_2.JPEG") == true
                && message?.contains("not found") == true, "\(message ?? "")")
    }

    @Test func loadNamesMissingPreparedFile() throws {
        let fake = try FakeTinyImageNet()
        defer { fake.cleanup() }
        let message = userErrorMessage { _ = try TinyImageNet.load(directory: fake.output) }
        #expect(message?.contains("train.bin") == true && message?.contains("lips data prepare") == true, "\(message ?? "")")
    }
}
