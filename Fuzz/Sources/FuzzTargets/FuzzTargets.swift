import CJPEG
import Foundation
@testable import LIPS

/// The bodies of the libFuzzer targets, one per reader of untrusted input. Each feeds the bytes to
/// the same function the engine calls on a file's bytes. Besides crashing (a trap, an overflow, a
/// sanitizer report), a reader fails a target by throwing anything but a one-line `UserError`, and
/// the writers checked here fail it by writing what their reader does not read back equal.
public enum FuzzTargets {
    /// An IDX file (`IDX.parse`, plain or gzip) as images (3 dimensions) and as labels (1); when it
    /// parses as images, the MNIST split built from it with matching labels.
    public static func idx(_ bytes: [UInt8]) {
        let limit: UInt64 = 64 << 20
        expectUserErrorsOnly("IDX labels") { _ = try IDX.parse(bytes, path: "labels", dimensions: 1, memoryLimit: limit) }
        expectUserErrorsOnly("IDX images") {
            let images = try IDX.parse(bytes, path: "images", dimensions: 3, memoryLimit: limit)
            // As many labels as images, unless images of no pixels claim more than the input holds.
            let count = min(images.sizes[0], images.payload.count)
            var labels: [UInt8] = [0, 0, 8, 1]
            for shift in [24, 16, 8, 0] { labels.append(UInt8(truncatingIfNeeded: count >> shift)) }
            labels += (0..<count).map { UInt8($0 % 10) }
            _ = try MNISTReader.dataset(images: bytes, imagePath: "images", labels: labels, labelPath: "labels",
                                        name: "fuzz", classes: 10)
        }
    }

    /// A CIFAR-10 record file (1 label byte), a CIFAR-100 one (coarse and fine label bytes), and
    /// both with the record count the file's length gives.
    public static func cifar(_ bytes: [UInt8]) {
        let shape = CIFARReader.imageShape
        for (labelBytes, labelIndex, classes) in [(1, 0, 10), (2, 1, 100)] {
            expectUserErrorsOnly("CIFAR records") {
                var records = CIFARReader.Records(labelBytes: labelBytes, labelIndex: labelIndex, classes: classes, shape: shape)
                try records.append(bytes, path: "records", recordsPerFile: nil)
                try records.append(bytes, path: "records", recordsPerFile: bytes.count / records.recordSize)
                let data = records.dataset(name: "fuzz")
                guard data.count == 2 * (bytes.count / records.recordSize) else {
                    fatalError("CIFAR: \(data.count) records read from 2 × \(bytes.count) bytes")
                }
            }
        }
    }

    /// A prepared Tiny-ImageNet folder: the first two bytes give the length of `wnids.txt` (0: no
    /// such file), which follows; the rest is both `train.bin` and `test.bin`.
    public static func tinyimagenet(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let length = min(Int(bytes[0]) << 8 | Int(bytes[1]), bytes.count - 2)
        let wnids = Array(bytes[2..<(2 + length)])
        let records = Array(bytes[(2 + length)...])
        expectUserErrorsOnly("Tiny-ImageNet") {
            let pair = try TinyImageNet.prepared(wnids: length == 0 ? nil : ("wnids.txt", wnids),
                                                 train: ("train.bin", records), test: ("test.bin", records))
            guard pair.train.count == records.count / (1 + TinyImageNet.imageShape.count),
                  pair.train.labels.allSatisfy({ Int($0) < pair.train.classes }) else {
                fatalError("Tiny-ImageNet: records or labels do not match the file")
            }
        }
    }

    /// A JPEG through libjpeg-turbo and the CJPEG shim (`JPEG.decodeRGB`), into a buffer for
    /// 64×64 RGB (Tiny-ImageNet's size) and into a smaller one. libjpeg itself is Debian's build,
    /// not instrumented, so AddressSanitizer cannot see its writes: the shim is also called
    /// directly with guard bytes after the buffer, which must come back untouched.
    public static func jpeg(_ bytes: [UInt8]) {
        for capacity in [64 * 64 * 3, 300] {
            expectUserErrorsOnly("JPEG") {
                let image = try JPEG.decodeRGB(bytes, path: "image.jpeg", capacity: capacity)
                let (size, overflow) = image.width.multipliedReportingOverflow(by: image.height)
                guard image.width >= 0, image.height >= 0, !overflow,
                      image.rgb.isEmpty || image.rgb.count == 3 * size, image.rgb.count <= capacity else {
                    fatalError("JPEG: \(image.rgb.count) RGB bytes for \(image.width)×\(image.height) (capacity \(capacity))")
                }
            }
            let guardBytes = 4096
            var buffer = [UInt8](repeating: 0xA5, count: capacity + guardBytes)
            var width: Int32 = 0, height: Int32 = 0
            var message = [CChar](repeating: 0, count: 256)
            let status = bytes.withUnsafeBufferPointer { input in
                buffer.withUnsafeMutableBufferPointer { output in
                    lips_jpeg_decode_rgb(input.baseAddress, input.count, output.baseAddress, capacity,
                                         &width, &height, &message, message.count)
                }
            }
            guard buffer[capacity...].allSatisfy({ $0 == 0xA5 }) else {
                fatalError("JPEG: the shim wrote past its \(capacity)-byte buffer (status \(status), \(width)×\(height))")
            }
            guard message.contains(0) else { fatalError("JPEG: the shim's message is not NUL-terminated") }
        }
    }

    /// A PNG (`PNG.decode`, at most 1 megapixel), then what `lips data prepare image-folder` does
    /// with a decoded image: `ImageResize.prepare` to 7×5 in 3 channels and 4×9 in 1, whose sizes
    /// must be exact.
    public static func png(_ bytes: [UInt8]) {
        expectUserErrorsOnly("PNG") {
            let image = try PNG.decode(bytes, path: "image.png", maximumPixels: 1 << 20)
            guard image.width >= 1, image.height >= 1, image.channels == 1 || image.channels == 3,
                  image.pixels.count == image.width * image.height * image.channels else {
                fatalError("PNG: \(image.pixels.count) bytes for \(image.width)×\(image.height)×\(image.channels)")
            }
            for (channels, height, width) in [(3, 7, 5), (1, 4, 9)] {
                let prepared = ImageResize.prepare(image, channels: channels, height: height, width: width)
                guard prepared.count == channels * height * width else {
                    fatalError("ImageResize: \(prepared.count) bytes for \(channels)×\(height)×\(width)")
                }
            }
        }
    }

    /// A `.npy` header (`NPY.parseHeader`); when it parses and the rest of the input is exactly its
    /// array, every element is read as its type. A header `NPY.header` writes must parse back equal.
    public static func npy(_ bytes: [UInt8]) {
        expectUserErrorsOnly("npy") {
            let header = try NPY.parseHeader(bytes, path: "array.npy")
            guard header.dataOffset <= bytes.count, header.shape.allSatisfy({ $0 >= 0 }) else {
                fatalError("npy: data offset \(header.dataOffset) beyond \(bytes.count) bytes, or shape \(header.shape)")
            }
            if let length = header.dataLength, let count = header.elementCount, bytes.count - header.dataOffset == length {
                Array(bytes[header.dataOffset...]).withUnsafeBufferPointer { data in
                    for index in 0..<count { _ = header.type.value(in: data, at: index) }
                }
            }
            let written = NPY.header(type: header.type, shape: Array(header.shape.prefix(8)))
            let back = try NPY.parseHeader(written, path: "written.npy")
            guard back.type == header.type, back.shape == Array(header.shape.prefix(8)), back.dataOffset == written.count else {
                fatalError("npy: the written header does not parse back equal")
            }
        }
    }

    /// A config file (`ExperimentConfig.load`), then its validation and the documented round trip:
    /// the config `yaml()` writes reads back equal. The text also goes through `--set`'s parser.
    public static func config(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        expectUserErrorsOnly("config") {
            let config = try ExperimentConfig.load(yaml: text, source: "config.yaml")
            expectRoundTrip(config)
            try config.validate()
        }
        if text.contains("=") {
            expectUserErrorsOnly("--set") {
                var config = ExperimentConfig()
                try config.apply(setting: text)
                expectRoundTrip(config)
            }
        }
    }

    /// A sweep file (`SweepPlan.load`, at most 64 runs so that each input stays quick): the runs'
    /// configs are validated by the loader and must round-trip like a config.
    public static func sweep(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        expectUserErrorsOnly("sweep") {
            let plan = try SweepPlan.load(yaml: text, source: "sweep.yaml", maximumRuns: 64)
            for run in plan.runs { expectRoundTrip(run.config) }
        }
    }

    /// A checkpoint file (`CheckpointArchive.decode`) as it is, and with its magic, version and
    /// CRC-32 made right (so mutations reach the section table). A decoded archive's sections are
    /// read back in every element type, and it must encode to the same bytes.
    public static func checkpoint(_ bytes: [UInt8]) {
        decodeCheckpoint(bytes)
        guard bytes.count >= CheckpointArchive.headerSize + CheckpointArchive.checksumSize else { return }
        var fixed = bytes
        fixed.replaceSubrange(0..<8, with: CheckpointArchive.magic)
        fixed.replaceSubrange(8..<12, with: [1, 0, 0, 0])
        let end = fixed.count - CheckpointArchive.checksumSize
        let crc = fixed.withUnsafeBytes { CheckpointArchive.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        fixed.replaceSubrange(end..., with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
        decodeCheckpoint(fixed)
    }

    private static func decodeCheckpoint(_ bytes: [UInt8]) {
        expectUserErrorsOnly("checkpoint") {
            let archive = try CheckpointArchive.decode(bytes, source: "checkpoint.bin")
            for name in archive.names {
                let raw = try archive.bytes(name)
                for read in [{ _ = try archive.floats(name) }, { _ = try archive.uint16s(name) },
                             { _ = try archive.uint64s(name) }, { _ = try archive.json(name, as: [String: Double].self) },
                             { _ = try archive.bytes(name, count: raw.count + 1) }] {
                    expectUserErrorsOnly("checkpoint section", read)
                }
            }
            // Names are decoded as UTF-8 with replacement (U+FFFD, which may combine with the next
            // scalar into one Character), so only valid names give the same bytes back.
            if archive.encoded() != bytes && !archive.names.contains(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
                fatalError("checkpoint: decoded and encoded again, the bytes differ")
            }
        }
    }

    /// `config` written by `yaml()` must read back with the same text.
    private static func expectRoundTrip(_ config: ExperimentConfig) {
        let written = config.yaml()
        do {
            let back = try ExperimentConfig.load(yaml: written, source: "written")
            if back.yaml() != written { fatalError("config round trip: wrote\n\(written)\nread back\n\(back.yaml())") }
        } catch {
            fatalError("config round trip: the written config does not load (\(error))\n\(written)")
        }
    }

    /// Runs `body`: a one-line `UserError` is the expected refusal of bad input; any other error,
    /// or a message of several lines, stops the fuzzer as a crash.
    static func expectUserErrorsOnly(_ what: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch let error as UserError {
            if error.message.isEmpty || error.message.contains("\n") {
                fatalError("\(what): a UserError that is not one line: \(error.message)")
            }
        } catch {
            fatalError("\(what): an error that is not a UserError: \(error)")
        }
    }
}
