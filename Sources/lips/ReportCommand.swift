import ArgumentParser
import Foundation
import LIPS

/// `lips report`: one table over runs, grouped by the varied keys, mean ± std over seeds.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "One table over runs: final and best personalised accuracy, final dense accuracy and bytes sent, mean ± std over seeds.",
        discussion: """
        Reads sweep folders (their sweep.yaml), run folders or folders of run folders. Runs are grouped by every \
        key that varies except seed. Prints Markdown and writes report.md and report.csv (atomically) into --out \
        or the first folder. Standard deviations are sample ones (n − 1); a group of one run has none. Uplink and \
        downlink are each run's total bytes, averaged over seeds. --spread adds how the final personalised accuracy \
        spreads over clients (population std, min, 10th percentile); report.csv always has it.
        """
    )

    @Argument(help: "Sweep or run folders.") var folders: [String]
    @Option(name: .long, help: ArgumentHelp("Folder for report.md and report.csv (default: the first folder).", valueName: "dir"))
    var out: String?
    @Flag(name: .long, help: "Add the final round's spread of personalised accuracy over clients (std, min, 10th percentile).")
    var spread = false

    func run() throws {
        try reportingUserErrors {
            let collection = try RunCollection.load(folders)
            for note in collection.notes { FileHandle.standardError.writeIgnoringErrors(Data("lips: note: \(note)\n".utf8)) }
            let report = SweepReport(collection)
            let directory = out ?? folders[0]
            let markdown = report.markdown(spread: spread)
            try AtomicFile.write(markdown, to: (directory as NSString).appendingPathComponent("report.md"))
            try AtomicFile.write(report.csv(), to: (directory as NSString).appendingPathComponent("report.csv"))
            print(markdown, terminator: "")
            FileHandle.standardError.writeIgnoringErrors(Data("lips: \(collection.runs.count) runs in \(report.rows.count) groups; wrote \(directory)/report.md and \(directory)/report.csv\n".utf8))
        }
    }
}
