import Foundation

/// `lips data check DIR`: recognises the dataset in a folder, reads it whole (which verifies
/// sizes, record counts and label ranges), compares MD5 sums where the publishers give them,
/// and reports what it found and how long reading took.
public enum DatasetCheck {
    /// MD5 sums of the `.gz` files as their publishers list them.
    static let publishedMD5: [String: String] = [
        // Fashion-MNIST (github.com/zalandoresearch/fashion-mnist README).
        "fashion/train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "fashion/train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "fashion/t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "fashion/t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        // MNIST (as mirrored by torchvision).
        "mnist/train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "mnist/train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "mnist/t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "mnist/t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    ]

    /// The report's lines, or a `UserError` naming the first fault.
    public static func check(directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UserError("\(directory): folder not found")
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard !files.isEmpty else { throw UserError("\(directory): empty folder, no dataset files") }
        let has = { (name: String) in files.contains(name) }
        let started = Date()
        let pair: DatasetPair
        var lines: [String] = []
        if has(NPYDataset.trainImagesFile) || has(NPYDataset.testImagesFile) {
            lines.append("\(directory): NumPy arrays (dataset npy)" + (has(NPYDataset.classesFile) ? ", classes named in \(NPYDataset.classesFile)" : ""))
            pair = try NPYDataset.load(directory: directory)
        } else if has("data_batch_1.bin") || has("test_batch.bin") {
            lines.append("\(directory): CIFAR-10 binary")
            let missing = (CIFARReader.cifar10TrainFiles + [CIFARReader.cifar10TestFile]).filter { !has($0) }
            guard missing.isEmpty else { throw UserError("\(directory): CIFAR-10 files missing: \(missing.joined(separator: ", "))") }
            pair = try CIFARReader.loadCIFAR10(directory: directory)
        } else if has("train.bin") && (has("wnids.txt") || FileReading.size(directory, "train.bin").map { $0 % 12289 == 0 && $0 % 3074 != 0 } == true) {
            lines.append("\(directory): Tiny-ImageNet (prepared binary)")
            pair = try TinyImageNet.load(directory: directory)
        } else if has("train.bin") || has("test.bin") {
            lines.append("\(directory): CIFAR-100 binary")
            let missing = ["train.bin", "test.bin"].filter { !has($0) }
            guard missing.isEmpty else { throw UserError("\(directory): CIFAR-100 files missing: \(missing.joined(separator: ", "))") }
            pair = try CIFARReader.loadCIFAR100(directory: directory)
        } else if files.contains(where: { $0.hasPrefix("train-images-idx3-ubyte") || $0.hasPrefix("t10k-images-idx3-ubyte") }) {
            lines.append("\(directory): MNIST-style IDX")
            pair = try MNISTReader.load(directory: directory, name: (directory as NSString).lastPathComponent)
            for stem in MNISTReader.fileStems where has(stem + ".gz") {
                let digest = MD5.hex(try FileReading.bytes((directory as NSString).appendingPathComponent(stem + ".gz")))
                let known = ["fashion", "mnist"].compactMap { set in publishedMD5["\(set)/\(stem).gz"].map { (set, $0) } }
                if let match = known.first(where: { $0.1 == digest }) {
                    lines.append("  \(stem).gz: md5 \(digest) = published \(match.0 == "fashion" ? "Fashion-MNIST" : "MNIST")")
                } else {
                    lines.append("  \(stem).gz: md5 \(digest) matches no published sum (a recompressed copy, as Debian's, is fine: contents were checked)")
                }
            }
        } else {
            throw UserError("\(directory): no dataset recognised; expected CIFAR-10 (data_batch_1.bin…), CIFAR-100 (train.bin, test.bin), IDX (train-images-idx3-ubyte[.gz]…), a prepared Tiny-ImageNet (train.bin, wnids.txt) or NumPy arrays (train_images.npy, train_labels.npy, test_images.npy, test_labels.npy)")
        }
        let seconds = Date().timeIntervalSince(started)
        for split in [pair.train, pair.test] {
            let counts = split.classCounts()
            lines.append("  \(split.name): \(split.count) images of \(split.imageShape), \(split.classes) classes, "
                + "\(counts.min() ?? 0)–\(counts.max() ?? 0) per class")
        }
        lines.append(String(format: "  read and verified %d images in %.3f s", pair.train.count + pair.test.count, seconds))
        return lines
    }
}

extension FileReading {
    /// Size in bytes of `directory/name`, nil when it is missing.
    static func size(_ directory: String, _ name: String) -> Int? {
        let path = (directory as NSString).appendingPathComponent(name)
        return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }
}
