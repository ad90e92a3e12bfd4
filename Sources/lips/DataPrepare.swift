import ArgumentParser
import Foundation
import LIPS

/// `lips data prepare tiny-imagenet|image-folder SRC OUT`: converts a dataset's published files,
/// or your own images, once, into files the engine reads.
struct DataPrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert Tiny-ImageNet, or your own folders of images, into files the engine reads.",
        usage: """
            lips data prepare tiny-imagenet SRC OUT
            lips data prepare image-folder SRC OUT --size S|HxW [--channels 1|3] [--test-fraction F] [--seed N]
            """,
        discussion: """
            tiny-imagenet: SRC is the unzipped official tiny-imagenet-200 folder (wnids.txt, \
            train/<wnid>/images/*.JPEG, val/images/*.JPEG with val/val_annotations.txt, used as \
            the test split). OUT (created if needed; the engine looks in data/tiny-imagenet-bin \
            by default) receives train.bin and test.bin, records of 1 label byte and 3x64x64 \
            pixel bytes in R, G, B planes, and a copy of wnids.txt.

            image-folder: SRC is one folder per class, as torchvision's ImageFolder reads it: \
            SRC/<class>/<image> (split here: --test-fraction of each class, 0.2 by default, drawn \
            with --seed), or SRC/train/<class>/… and SRC/test/<class>/… (your split). Classes are \
            the folder names sorted (class 0 first); images are files below a class folder ending \
            in .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp (JPEG and PNG are decoded, the \
            others refused), in sorted order. Each image is converted to --channels (grey is \
            repeated into RGB; alpha is dropped; RGB to grey as PIL's convert("L")), resized \
            with PIL's bilinear filter keeping its aspect ratio to the smallest size covering \
            --size (for one side S: the shorter side becomes S), and centre-cropped to --size, as \
            torchvision's Resize then CenterCrop. OUT receives train_images.npy and \
            test_images.npy (uint8, N x H x W x C), train_labels.npy and test_labels.npy (int64), \
            and classes.txt (one class name a line, in label order). Train on it with \
            `dataset: npy` and `data_dir: OUT`.
            """)

    @Argument(help: "What to prepare: tiny-imagenet or image-folder.")
    var dataset: String

    @Argument(help: "The folder of the published dataset, or of your images.")
    var source: String

    @Argument(help: "The folder to write the prepared files to.")
    var output: String

    @Option(help: ArgumentHelp("image-folder: output size, one side (S: S x S) or HxW, e.g. 32 or 48x64.", valueName: "size"))
    var size: String?

    @Option(parsing: .unconditional, help: "image-folder: channels of the output, 1 (grey) or 3 (RGB).")
    var channels = 3

    @Option(parsing: .unconditional, help: "image-folder, one-tree source: share of each class's images put in the test split, in [0, 1) (default 0.2).")
    var testFraction: Double?

    @Option(parsing: .unconditional, help: "image-folder, one-tree source: seed of the train/test draw.")
    var seed: UInt64 = 0

    func run() throws {
        try reportingUserErrors {
            let start = Date()
            switch dataset {
            case "tiny-imagenet":
                guard size == nil, channels == 3, testFraction == nil, seed == 0 else {
                    throw UserError("--size, --channels, --test-fraction and --seed apply to image-folder; tiny-imagenet is always 3x64x64 with its own split")
                }
                let written = try TinyImageNet.prepare(source: source, output: output)
                let seconds = Date().timeIntervalSince(start)
                print("tiny-imagenet: wrote \(written.train) train and \(written.test) test records to \(output) in \(String(format: "%.1f", seconds)) s")
            case "image-folder":
                guard let size else { throw UserError("image-folder needs --size S or --size HxW (e.g. --size 32)") }
                let (height, width) = try Self.parseSize(size)
                let options = ImageFolder.Options(height: height, width: width, channels: channels, testFraction: testFraction, seed: seed)
                let written = try ImageFolder.prepare(source: source, output: output, options: options)
                let seconds = Date().timeIntervalSince(start)
                print("image-folder: wrote \(written.train) train and \(written.test) test images of \(channels)x\(height)x\(width) in \(written.classes) classes to \(output) in \(String(format: "%.1f", seconds)) s (config: dataset: npy, data_dir: \(output))")
            default:
                throw UserError("cannot prepare '\(dataset)'; known: tiny-imagenet, image-folder (the other datasets are read as published)")
            }
        }
    }

    /// "32" → (32, 32); "48x64" → (48, 64).
    static func parseSize(_ text: String) throws -> (Int, Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        switch parts.count {
        case 1: if let side = parts[0], side > 0 { return (side, side) }
        case 2: if let h = parts[0], let w = parts[1], h > 0, w > 0 { return (h, w) }
        default: break
        }
        throw UserError("--size '\(text)' is not S or HxW with positive integers, e.g. 32 or 48x64")
    }
}
