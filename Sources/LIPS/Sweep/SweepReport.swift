import Foundation

/// The results table of a set of runs: one row per group (runs equal in every varied key but
/// `seed`), with the final and best personalised accuracy and the final dense accuracy as
/// mean ± sample standard deviation over the group's runs. Markdown for people, CSV for tools.
public struct SweepReport: Sendable {
    /// One group of runs.
    public struct Row: Sendable {
        /// Values of `SweepReport.keys`, as YAML text.
        public let values: [String]
        public let runs: Int
        /// The runs' seeds, in run order.
        public let seeds: [String]
        /// Fewest rounds any run of the group has done, and the rounds its config asks for.
        public let roundsDone: Int
        public let rounds: Int
        public let finalAccuracy: Spread?
        public let bestAccuracy: Spread?
        public let finalDenseAccuracy: Spread?
    }

    /// The columns that name a group: the varied keys except `seed` (`method` when nothing else varies).
    public let keys: [String]
    public let rows: [Row]

    public init(_ collection: RunCollection) {
        keys = collection.groupKeys.isEmpty ? ["method"] : collection.groupKeys
        let keys = keys
        rows = collection.groups().map { group in
            let first = group.runs[0].config
            return Row(values: keys.map { first.value(forKey: $0) ?? "" },
                       runs: group.runs.count,
                       seeds: group.runs.map { "\($0.config.seed)" },
                       roundsDone: group.runs.map { Set($0.rounds.map(\.round)).count }.min() ?? 0,
                       rounds: group.runs.map(\.config.rounds).max() ?? 0,
                       finalAccuracy: Spread(group.runs.compactMap(\.finalPersonalizedAccuracy)),
                       bestAccuracy: Spread(group.runs.compactMap(\.bestPersonalizedAccuracy)),
                       finalDenseAccuracy: Spread(group.runs.compactMap(\.finalDenseAccuracy)))
        }
    }

    /// A Markdown table; accuracies in percent with two decimals, `mean ± std` (std left out for one run).
    public func markdown() -> String {
        let header = keys + ["runs", "seeds", "rounds", "final acc (%)", "best acc (%)", "final dense acc (%)"]
        var text = "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + keys.map { _ in " --- |" }.joined() + " ---: | --- | ---: | ---: | ---: | ---: |\n"
        for row in rows {
            let rounds = row.roundsDone == row.rounds ? "\(row.rounds)" : "\(row.roundsDone)/\(row.rounds)"
            let cells = row.values.map { $0.replacingOccurrences(of: "|", with: "\\|") }
                + ["\(row.runs)", row.seeds.joined(separator: ", "), rounds,
                   SweepReport.percent(row.finalAccuracy), SweepReport.percent(row.bestAccuracy),
                   SweepReport.percent(row.finalDenseAccuracy)]
            text += "| " + cells.joined(separator: " | ") + " |\n"
        }
        return text
    }

    /// The columns of `csv()`: the group keys, then these.
    public static let csvColumns = [
        "runs", "seeds", "rounds_done", "rounds",
        "final_personalized_accuracy_mean", "final_personalized_accuracy_std",
        "best_personalized_accuracy_mean", "best_personalized_accuracy_std",
        "final_dense_accuracy_mean", "final_dense_accuracy_std",
    ]

    /// CSV with a header line; accuracies as fractions in Swift's shortest round-trip form (so
    /// they read back to the same bits); an empty field where a value is missing (std of one run).
    public func csv() -> String {
        var text = (keys + SweepReport.csvColumns).map(MetricsFiles.csvField).joined(separator: ",") + "\n"
        for row in rows {
            var cells = row.values + ["\(row.runs)", row.seeds.joined(separator: " "), "\(row.roundsDone)", "\(row.rounds)"]
            for spread in [row.finalAccuracy, row.bestAccuracy, row.finalDenseAccuracy] {
                cells += [spread.map { "\($0.mean)" } ?? "", spread?.standardDeviation.map { "\($0)" } ?? ""]
            }
            text += cells.map(MetricsFiles.csvField).joined(separator: ",") + "\n"
        }
        return text
    }

    /// `81.23 ± 0.45`, `81.23` for one run, `–` for none.
    static func percent(_ spread: Spread?) -> String {
        guard let spread else { return "–" }
        let mean = String(format: "%.2f", 100 * spread.mean)
        guard let std = spread.standardDeviation else { return mean }
        return mean + " ± " + String(format: "%.2f", 100 * std)
    }
}
