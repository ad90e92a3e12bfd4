import ArgumentParser
import Foundation
import LIPS

/// `lips report`: one table over runs, grouped by the varied keys, mean ± std over seeds.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "One table over runs: final and best personalised accuracy (and final dense accuracy), mean ± std over seeds.",
        discussion: """
        Reads sweep folders (their sweep.yaml), run folders or folders of run folders. Runs are grouped by every \
        key that varies except seed. Prints Markdown and writes report.md and report.csv (atomically) into --out \
        or the first folder. Standard deviations are sample ones (n − 1); a group of one run has none.
        """
    )

    @Argument(help: "Sweep or run folders.") var folders: [String]
    @Option(name: .long, help: ArgumentHelp("Folder for report.md and report.csv (default: the first folder).", valueName: "dir"))
    var out: String?

    func run() throws {
        try reportingUserErrors {
            let collection = try RunCollection.load(folders)
            for note in collection.notes { FileHandle.standardError.writeIgnoringErrors(Data("lips: note: \(note)\n".utf8)) }
            let report = SweepReport(collection)
            let directory = out ?? folders[0]
            let markdown = report.markdown()
            try AtomicFile.write(markdown, to: (directory as NSString).appendingPathComponent("report.md"))
            try AtomicFile.write(report.csv(), to: (directory as NSString).appendingPathComponent("report.csv"))
            print(markdown, terminator: "")
            FileHandle.standardError.writeIgnoringErrors(Data("lips: \(collection.runs.count) runs in \(report.rows.count) groups; wrote \(directory)/report.md and \(directory)/report.csv\n".utf8))
        }
    }
}
