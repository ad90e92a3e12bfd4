import Foundation

/// The results table of a set of runs: one row per group (runs equal in every varied key but
/// `seed`), with the final and best personalised accuracy, the final dense accuracy, the spread of
/// the final personalised accuracy over clients (population std, minimum, 10th percentile; docs/
/// semantics.md §10) and the bytes sent up and down over the run, each as mean ± sample standard
/// deviation over the group's runs. Markdown for people (the client spread with `spread: true`),
/// CSV (everything) for tools.
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
        /// Over the runs, the last evaluated round's std, min and 10th percentile of personalised
        /// accuracy over clients.
        public let finalClientStd: Spread?
        public let finalClientMin: Spread?
        public let finalClientP10: Spread?
        /// Over the runs, each run's total bytes up and down.
        public let bytesUplink: Spread?
        public let bytesDownlink: Spread?
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
                       finalDenseAccuracy: Spread(group.runs.compactMap(\.finalDenseAccuracy)),
                       finalClientStd: Spread(group.runs.compactMap { $0.finalClientSpread?.std }),
                       finalClientMin: Spread(group.runs.compactMap { $0.finalClientSpread?.min }),
                       finalClientP10: Spread(group.runs.compactMap { $0.finalClientSpread?.p10 }),
                       bytesUplink: Spread(group.runs.map { Double($0.totalBytesUplink) }),
                       bytesDownlink: Spread(group.runs.compactMap { $0.totalBytesDownlink.map(Double.init) }))
        }
    }

    /// A Markdown table; accuracies in percent with two decimals, `mean ± std` (std left out for one
    /// run), bytes as the mean over runs in decimal units. `spread` adds the final round's spread of
    /// personalised accuracy over clients: its std, min and 10th percentile.
    public func markdown(spread: Bool = false) -> String {
        var header = keys + ["runs", "seeds", "rounds", "final acc (%)", "best acc (%)", "final dense acc (%)"]
        if spread { header += ["client std (%)", "client min (%)", "client p10 (%)"] }
        header += ["uplink", "downlink"]
        var text = "| " + header.joined(separator: " | ") + " |\n"
        text += "|" + keys.map { _ in " --- |" }.joined() + " ---: | --- |"
            + String(repeating: " ---: |", count: header.count - keys.count - 2) + "\n"
        for row in rows {
            let rounds = row.roundsDone == row.rounds ? "\(row.rounds)" : "\(row.roundsDone)/\(row.rounds)"
            var cells = row.values.map { $0.replacingOccurrences(of: "|", with: "\\|") }
                + ["\(row.runs)", row.seeds.joined(separator: ", "), rounds,
                   SweepReport.percent(row.finalAccuracy), SweepReport.percent(row.bestAccuracy),
                   SweepReport.percent(row.finalDenseAccuracy)]
            if spread {
                cells += [row.finalClientStd, row.finalClientMin, row.finalClientP10].map(SweepReport.percent)
            }
            cells += [row.bytesUplink, row.bytesDownlink].map(SweepReport.bytes)
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
        "final_client_std_mean", "final_client_std_std", "final_client_min_mean", "final_client_min_std",
        "final_client_p10_mean", "final_client_p10_std",
        "bytes_uplink_mean", "bytes_uplink_std", "bytes_downlink_mean", "bytes_downlink_std",
    ]

    /// CSV with a header line; accuracies as fractions in Swift's shortest round-trip form (so
    /// they read back to the same bits); an empty field where a value is missing (std of one run).
    public func csv() -> String {
        var text = (keys + SweepReport.csvColumns).map(MetricsFiles.csvField).joined(separator: ",") + "\n"
        for row in rows {
            var cells = row.values + ["\(row.runs)", row.seeds.joined(separator: " "), "\(row.roundsDone)", "\(row.rounds)"]
            for spread in [row.finalAccuracy, row.bestAccuracy, row.finalDenseAccuracy, row.finalClientStd,
                           row.finalClientMin, row.finalClientP10, row.bytesUplink, row.bytesDownlink] {
                cells += [spread.map { "\($0.mean)" } ?? "", spread?.standardDeviation.map { "\($0)" } ?? ""]
            }
            text += cells.map(MetricsFiles.csvField).joined(separator: ",") + "\n"
        }
        return text
    }

    /// The mean of a byte count in decimal units, `1.48 GB`; `–` for none.
    static func bytes(_ spread: Spread?) -> String {
        guard let spread else { return "–" }
        var value = spread.mean, unit = 0
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? String(format: "%.0f B", value) : String(format: "%.2f %@", value, units[unit])
    }

    /// `81.23 ± 0.45`, `81.23` for one run, `–` for none.
    static func percent(_ spread: Spread?) -> String {
        guard let spread else { return "–" }
        let mean = String(format: "%.2f", 100 * spread.mean)
        guard let std = spread.standardDeviation else { return mean }
        return mean + " ± " + String(format: "%.2f", 100 * std)
    }
}
