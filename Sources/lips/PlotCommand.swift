import ArgumentParser
import Foundation
import LIPS

/// `lips plot`: accuracy, layer-wise inertia and received density as SVG files.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw accuracy (or any metric) per round, a layer × round heat map of the relative update, and received density per round (SVG).",
        discussion: """
        Reads a sweep folder, run folders or folders of run folders, as `lips report`. Writes accuracy.svg, \
        inertia.svg and density.svg into --out or the first folder: one series per group of runs (every varied key \
        but seed), the mean over seeds with a min–max band. SVG opens in any browser; it is written by hand, no \
        plotting library. --metric NAME draws that column of metrics.csv per round into NAME.svg instead of \
        personalised accuracy into accuracy.svg.
        """
    )

    @Argument(help: "Sweep or run folders.") var folders: [String]
    @Option(name: .long, help: ArgumentHelp("Folder for the SVG files (default: the first folder).", valueName: "dir"))
    var out: String?
    @Option(name: .long, help: ArgumentHelp("The metrics.csv column to draw per round (e.g. dense_accuracy, personalized_accuracy_p10, personalized_loss, bytes_downlink).", valueName: "name"))
    var metric: String = SweepPlots.defaultMetric

    func run() throws {
        try reportingUserErrors {
            // A bad name is refused before the runs are read (and their notes printed).
            try SweepPlots.checkMetric(metric)
            let collection = try RunCollection.load(folders)
            for note in collection.notes { FileHandle.standardError.writeIgnoringErrors(Data("lips: note: \(note)\n".utf8)) }
            for path in try SweepPlots.write(collection, to: out ?? folders[0], metric: metric) { print(path) }
        }
    }
}
