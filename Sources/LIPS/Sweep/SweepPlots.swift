import Foundation

/// The pictures of a set of runs, as standalone SVG files (drawn here by hand: `SVGDocument`):
///
/// - `accuracy.svg`: personalised accuracy per round, one series per group (method, and any
///   other varied key but the seed): the mean over seeds, and a band from the lowest to the
///   highest seed;
/// - `inertia.svg`: a layer × round heat map of the relative update ‖W_{r+1} − W_r‖/‖W_r‖ (mean
///   over seeds), one panel per group: the paper's layer-wise inertia picture;
/// - `density.svg`: the density clients actually received per round, as `accuracy.svg`.
///
/// `write(metric:)` draws another column of `metrics.csv` instead of personalised accuracy, into
/// `NAME.svg`.
public enum SweepPlots {
    public static let accuracyFile = "accuracy.svg"
    public static let inertiaFile = "inertia.svg"
    public static let densityFile = "density.svg"

    public static func accuracy(_ collection: RunCollection) -> String {
        LineChart(title: "Personalised accuracy per round", xLabel: "round",
                  yLabel: "personalised accuracy (mean over clients)",
                  series: series(collection) { $0.personalizedAccuracy }).svg()
    }

    /// The column `lips plot` draws by default, into `accuracy.svg`.
    public static let defaultMetric = "personalized_accuracy"

    /// Any numeric column of `metrics.csv` per round, as `accuracy.svg` (which is this for
    /// `personalized_accuracy`). An unknown column is a one-line `UserError` listing the valid ones.
    public static func metric(_ collection: RunCollection, column: String) throws -> String {
        try checkMetric(column)
        if column == defaultMetric { return accuracy(collection) }
        let fraction = column.hasSuffix("accuracy") || column.hasSuffix("_min") || column.hasSuffix("_p10")
            || column.hasSuffix("density")
        return LineChart(title: "\(column) per round", xLabel: "round", yLabel: column,
                         series: series(collection) { MetricsFiles.value(column, of: $0) },
                         yInclude: fraction ? 0...1 : nil).svg()
    }

    /// Throws the one-line error for a name that is not a numeric column of `metrics.csv`.
    public static func checkMetric(_ column: String) throws {
        guard MetricsFiles.metricColumns.contains(column) else {
            throw UserError("unknown metric '\(column)'; valid: \(MetricsFiles.metricColumns.joined(separator: ", "))")
        }
    }

    /// The file `metric` is drawn into: `accuracy.svg` for the default, else `NAME.svg`.
    public static func file(metric: String) -> String {
        metric == defaultMetric ? accuracyFile : "\(metric).svg"
    }

    public static func density(_ collection: RunCollection) -> String {
        LineChart(title: "Received density per round", xLabel: "round",
                  yLabel: "fraction of non-zeros received (maskable layers)",
                  series: series(collection) { $0.receivedDensity }, yInclude: 0...1).svg()
    }

    public static func inertia(_ collection: RunCollection) -> String {
        let panels = collection.groups().map { group -> HeatMap.Panel in
            var layers: [String] = [], rounds = Set<Int>(), sums: [String: [Int: [Double]]] = [:]
            for run in group.runs {
                for row in run.layers {
                    if !layers.contains(row.layer) { layers.append(row.layer) }
                    rounds.insert(row.round)
                    sums[row.layer, default: [:]][row.round, default: []].append(row.relativeUpdate)
                }
            }
            let columns = rounds.sorted()
            let values = layers.map { layer in
                columns.map { round in sums[layer]?[round].flatMap { Spread($0)?.mean } }
            }
            return HeatMap.Panel(label: group.label, method: group.method, rows: layers, columns: columns, values: values)
        }
        return HeatMap(title: "Relative update per layer and round (mean over seeds)",
                       valueLabel: "‖W(r+1) − W(r)‖ / ‖W(r)‖", panels: panels).svg()
    }

    /// Writes the three files into `directory` atomically — the first one `metric` per round
    /// (`file(metric:)`) — and returns their paths.
    @discardableResult
    public static func write(_ collection: RunCollection, to directory: String, metric: String = defaultMetric) throws -> [String] {
        let files = [(file(metric: metric), try self.metric(collection, column: metric)), (inertiaFile, inertia(collection)),
                     (densityFile, density(collection))]
        return try files.map { name, text in
            let path = (directory as NSString).appendingPathComponent(name)
            try AtomicFile.write(text, to: path)
            return path
        }
    }

    /// One series per group: per round, the mean, min and max of `metric` over the group's runs.
    static func series(_ collection: RunCollection, _ metric: (RoundMetrics) -> Double?) -> [LineChart.Series] {
        collection.groups().map { group in
            var byRound: [Int: [Double]] = [:]
            for run in group.runs {
                for row in run.rounds {
                    if let value = metric(row), value.isFinite { byRound[row.round, default: []].append(value) }
                }
            }
            let points = byRound.keys.sorted().map { round -> LineChart.Point in
                let values = byRound[round] ?? []
                return LineChart.Point(x: Double(round), mean: Spread(values)?.mean ?? .nan,
                                       low: values.min() ?? .nan, high: values.max() ?? .nan)
            }
            return LineChart.Series(label: group.label, method: group.method, points: points)
        }
    }
}
