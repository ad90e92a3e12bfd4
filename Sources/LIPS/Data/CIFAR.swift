import Foundation

/// The official binary versions of CIFAR-10 (`data_batch_1..5.bin`, `test_batch.bin`: records of
/// 1 label byte + 3072 pixel bytes) and CIFAR-100 (`train.bin`, `test.bin`: coarse label, fine
/// label, 3072 pixels; the fine label is used). Pixels are R, G, B planes of 32×32.
public enum CIFARReader {
    static let imageShape = Shape(channels: 3, height: 32, width: 32)

    public static let cifar10TrainFiles = (1...5).map { "data_batch_\($0).bin" }
    public static let cifar10TestFile = "test_batch.bin"

    /// CIFAR-10 from `directory` (the `cifar-10-batches-bin` folder).
    /// `recordsPerFile` is the official 10 000; tests pass small files.
    public static func loadCIFAR10(directory: String, recordsPerFile: Int = 10_000) throws -> DatasetPair {
        let train = try records(cifar10TrainFiles.map { (directory as NSString).appendingPathComponent($0) },
                                labelBytes: 1, labelIndex: 0, recordsPerFile: recordsPerFile, classes: 10, name: "cifar10 train",
                                shape: imageShape)
        let test = try records([(directory as NSString).appendingPathComponent(cifar10TestFile)],
                               labelBytes: 1, labelIndex: 0, recordsPerFile: recordsPerFile, classes: 10, name: "cifar10 test",
                               shape: imageShape)
        return DatasetPair(train: train, test: test)
    }

    /// CIFAR-100 from `directory` (the `cifar-100-binary` folder), fine labels.
    /// `recordCounts` are the official 50 000 train and 10 000 test; tests pass small files.
    public static func loadCIFAR100(directory: String, recordCounts: (train: Int, test: Int) = (50_000, 10_000)) throws -> DatasetPair {
        let train = try records([(directory as NSString).appendingPathComponent("train.bin")], labelBytes: 2, labelIndex: 1,
                                recordsPerFile: recordCounts.train, classes: 100, name: "cifar100 train", shape: imageShape)
        let test = try records([(directory as NSString).appendingPathComponent("test.bin")], labelBytes: 2, labelIndex: 1,
                               recordsPerFile: recordCounts.test, classes: 100, name: "cifar100 test", shape: imageShape)
        return DatasetPair(train: train, test: test)
    }

    /// Reads fixed-size records (`labelBytes` label bytes, then the image) from `paths`.
    /// `recordsPerFile` nil accepts any whole number of records.
    static func records(_ paths: [String], labelBytes: Int, labelIndex: Int, recordsPerFile: Int?, classes: Int,
                        name: String, shape: Shape) throws -> Dataset {
        var records = Records(labelBytes: labelBytes, labelIndex: labelIndex, classes: classes, shape: shape)
        for path in paths {
            try records.append(FileReading.bytes(path), path: path, recordsPerFile: recordsPerFile)
        }
        return records.dataset(name: name)
    }

    /// Images and labels gathered from files of fixed-size records.
    struct Records {
        let labelBytes: Int
        let labelIndex: Int
        let classes: Int
        let shape: Shape
        var pixels: [UInt8] = []
        var labels: [Int32] = []

        init(labelBytes: Int, labelIndex: Int, classes: Int, shape: Shape) {
            precondition(labelIndex < labelBytes, "the label is one of the label bytes")
            self.labelBytes = labelBytes
            self.labelIndex = labelIndex
            self.classes = classes
            self.shape = shape
        }

        var recordSize: Int { labelBytes + shape.count }

        /// Appends the records of one file's `bytes` (`path` names it in errors); `recordsPerFile`
        /// nil accepts any whole, non-zero number of records.
        mutating func append(_ bytes: [UInt8], path: String, recordsPerFile: Int?) throws {
            let recordSize = recordSize
            if let recordsPerFile {
                let (expected, overflow) = recordsPerFile.multipliedReportingOverflow(by: recordSize)
                guard !overflow, bytes.count == expected else {
                    throw UserError("\(path): \(overflow ? "more than \(Int.max)" : "\(expected)") bytes expected (\(recordsPerFile) records of \(recordSize)), \(bytes.count) found")
                }
            } else {
                guard bytes.count > 0, bytes.count % recordSize == 0 else {
                    throw UserError("\(path): \(bytes.count) bytes is not a whole number of \(recordSize)-byte records (truncated record?)")
                }
            }
            let count = bytes.count / recordSize
            let imageSize = shape.count
            var newLabels = [Int32]()
            newLabels.reserveCapacity(count)
            var newPixels = [UInt8](repeating: 0, count: count * imageSize)
            try bytes.withUnsafeBufferPointer { buffer in
                try newPixels.withUnsafeMutableBufferPointer { out in
                    for record in 0..<count {
                        let start = record * recordSize
                        let label = buffer[start + labelIndex]
                        guard Int(label) < classes else {
                            throw UserError("\(path): label \(label) of record \(record) is outside 0..<\(classes)")
                        }
                        newLabels.append(Int32(label))
                        (out.baseAddress! + record * imageSize)
                            .update(from: buffer.baseAddress! + start + labelBytes, count: imageSize)
                    }
                }
            }
            if pixels.isEmpty { pixels = newPixels } else { pixels += newPixels }
            labels += newLabels
        }

        func dataset(name: String) -> Dataset {
            Dataset(name: name, imageShape: shape, classes: classes, pixels: pixels, labels: labels)
        }
    }
}
