import ArgumentParser
import Foundation
import LIPS

/// `lips data prepare tiny-imagenet SRC OUT`: converts a dataset's published files, once, into
/// the binary records the engine reads.
struct DataPrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Convert a dataset's published files into the binary records the engine reads.",
        usage: "lips data prepare tiny-imagenet SRC OUT",
        discussion: """
            tiny-imagenet: SRC is the unzipped official tiny-imagenet-200 folder (wnids.txt, \
            train/<wnid>/images/*.JPEG, val/images/*.JPEG with val/val_annotations.txt, used as \
            the test split). OUT (created if needed; the engine looks in data/tiny-imagenet-bin \
            by default) receives train.bin and test.bin, records of 1 label byte and 3x64x64 \
            pixel bytes in R, G, B planes, and a copy of wnids.txt.
            """)

    @Argument(help: "The dataset to prepare: tiny-imagenet.")
    var dataset: String

    @Argument(help: "The folder of the published dataset.")
    var source: String

    @Argument(help: "The folder to write the prepared files to.")
    var output: String

    func run() throws {
        try reportingUserErrors {
            guard dataset == "tiny-imagenet" else {
                throw UserError("cannot prepare dataset '\(dataset)'; known: tiny-imagenet (the others are read as published)")
            }
            let start = Date()
            let written = try TinyImageNet.prepare(source: source, output: output)
            let seconds = Date().timeIntervalSince(start)
            print("tiny-imagenet: wrote \(written.train) train and \(written.test) test records to \(output) in \(String(format: "%.1f", seconds)) s")
        }
    }
}
