import Foundation

/// A sweep expanded: the keys its grid varies, in file order, and one run per combination of
/// their values, each with its folder name and its validated config.
///
/// A sweep file is YAML with two sections:
/// ```yaml
/// base:                      # a run config: a preset and/or any config keys (as `lips run`)
///   preset: fmnist-resnet8-lips
///   rounds: 3
/// grid:                      # config key → list of values; every combination is one run
///   method: [fedavg, lips]
///   seed: [2, 3]
/// ```
/// Runs come in odometer order: the first grid key changes slowest, the last fastest
/// (`method=fedavg,seed=2`, `method=fedavg,seed=3`, `method=lips,seed=2`, …).
public struct SweepPlan: Sendable, Equatable {
    /// One run of the sweep.
    public struct Run: Sendable, Equatable {
        /// The folder name, `key=value` for each varied key joined by commas (`method=lips,seed=3`),
        /// with characters outside `[A-Za-z0-9._+-]` replaced by `_`.
        public let name: String
        /// The varied keys' values as YAML text (`lips`, `3`, `0.5`), in `SweepPlan.varied` order.
        public let values: [String]
        /// The base config with this run's grid values set, validated.
        public let config: ExperimentConfig
    }

    /// Where the sweep came from (a file path), for messages and the manifest.
    public let source: String
    /// The grid's keys in file order.
    public let varied: [String]
    /// Every combination, in odometer order.
    public let runs: [Run]
    /// The `--set key=value` overrides applied to the base (already in every run's config), for the manifest.
    public internal(set) var overrides: [String] = []

    /// Expands `grid` over `base`: each `(key, values)` in order, each value read as a YAML value
    /// through `ExperimentConfig.set`, so unknown keys and ill-typed values give the same one-line
    /// errors as `lips run`. `place(key)` names where a key was written ("FILE:LINE").
    ///
    /// Throws a `UserError` for an empty value list, a runtime key (`workers`, `checkpoint_every`:
    /// its runs would be identical), two values that make the same folder, or a combination that
    /// does not validate (naming the run), or a grid of more than `maximumRuns` runs (the fuzz
    /// target passes a smaller limit, to keep each input quick).
    public init(source: String, base: ExperimentConfig, grid: [(key: String, values: [Any?])],
                place: (String) -> String = { _ in "" }, maximumRuns: Int = SweepPlan.maximumRuns) throws {
        self.source = source
        varied = grid.map(\.key)
        var seen = Set<String>()
        for (key, values) in grid {
            let at = place(key).isEmpty ? source : place(key)
            guard seen.insert(key).inserted else { throw UserError("\(at): grid lists '\(key)' twice") }
            guard !values.isEmpty else {
                throw UserError("\(at): grid '\(key)' must be a non-empty list of values, e.g. \(key): [a, b]")
            }
            if let entry = ExperimentConfig.keys.first(where: { $0.name == key }), entry.isRuntime {
                throw UserError("\(at): grid '\(key)' is a runtime key (results do not depend on it); set it in base or use lips sweep --workers")
            }
        }
        // The combinations are counted (overflow-checked) before any is built: a plan holds them all.
        var combinations = 1
        for (_, values) in grid {
            let (product, overflow) = combinations.multipliedReportingOverflow(by: values.count)
            guard !overflow, product <= maximumRuns else {
                throw UserError("\(source): the grid makes more than \(maximumRuns) runs (\(grid.map { "\($0.values.count)" }.joined(separator: " × "))); split it into several sweeps")
            }
            combinations = product
        }
        // Every key's values, each set on the base alone first, so a bad value is reported once
        // with its key's place, before any combination is built.
        var texts: [[String]] = []
        for (key, values) in grid {
            let at = place(key).isEmpty ? source : place(key)
            var column: [String] = []
            var listed = Set<String>()
            for value in values {
                var probe = base
                try probe.set(key, to: value, source: at)
                let text = probe.value(forKey: key) ?? "?"
                guard listed.insert(text).inserted else { throw UserError("\(at): grid '\(key)' lists \(text) twice") }
                column.append(text)
            }
            texts.append(column)
        }
        var runs: [Run] = []
        var names = Set<String>()
        for combination in SweepPlan.odometer(texts.map(\.count)) {
            var config = base
            for (position, choice) in combination.enumerated() {
                try config.set(grid[position].key, to: grid[position].values[choice], source: source)
            }
            let values = combination.enumerated().map { texts[$0.offset][$0.element] }
            let name = SweepPlan.folderName(keys: varied, values: values)
            guard names.insert(name).inserted else {
                throw UserError("\(source): two runs would share the folder '\(name)'; make the grid values differ in letters or digits")
            }
            do {
                try config.validate()
            } catch let error as UserError {
                throw UserError("\(source): run \(name): \(error.message)")
            }
            runs.append(Run(name: name, values: values, config: config))
        }
        self.runs = runs
    }

    /// The most runs one sweep may hold (each is a folder and a line of the report).
    public static let maximumRuns = 100_000

    /// Every index tuple of lists of these sizes, the last index fastest; one empty tuple for no lists.
    static func odometer(_ sizes: [Int]) -> [[Int]] {
        var result: [[Int]] = [[]]
        for size in sizes {
            result = result.flatMap { prefix in (0..<size).map { prefix + [$0] } }
        }
        return result
    }

    /// `key=value,key=value`, filesystem-safe; `run` when nothing varies.
    static func folderName(keys: [String], values: [String]) -> String {
        guard !keys.isEmpty else { return "run" }
        return zip(keys, values).map { key, value in
            var text = value
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
            let safe = text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0)) ? $0 : "_" }
            return "\(key)=\(String(safe))"
        }.joined(separator: ",")
    }
}
