import ArgumentParser
import Foundation
import LIPS

/// `lips compare`: the accuracy curves of a few runs side by side, one row per round.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Print the personalised accuracy of runs side by side, one row per round (Markdown table).",
        discussion: "Each run folder's metrics.jsonl is read; the column is named after the folder. `dense` adds each run's dense-global accuracy."
    )

    @Argument(help: "Run folders (written by `lips run`).") var runs: [String]
    @Flag(help: "Also show the dense global model's accuracy.") var dense = false

    func run() throws {
        try reportingUserErrors {
            guard !runs.isEmpty else { throw UserError("give at least one run folder") }
            let tables = try runs.map { try MetricsFiles.read(from: $0).rounds }
            var header = ["round"], rule = ["---:"]
            for run in runs {
                let name = (run as NSString).lastPathComponent
                header.append(name)
                rule.append("---:")
                if dense {
                    header.append("\(name) (dense)")
                    rule.append("---:")
                }
            }
            print("| " + header.joined(separator: " | ") + " |")
            print("| " + rule.joined(separator: " | ") + " |")
            let rounds = Set(tables.flatMap { $0.map(\.round) }).sorted()
            let format = { (value: Double?) in value.map { String(format: "%.4f", $0) } ?? "" }
            for round in rounds {
                var cells = ["\(round)"]
                for table in tables {
                    let row = table.first { $0.round == round }
                    cells.append(format(row?.personalizedAccuracy) + (row.map { $0.density < 1 ? " (d \(String(format: "%.2f", $0.density)))" : "" } ?? ""))
                    if dense { cells.append(format(row?.denseAccuracy)) }
                }
                print("| " + cells.joined(separator: " | ") + " |")
            }
        }
    }
}
