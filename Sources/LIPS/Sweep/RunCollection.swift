import Foundation

/// One run folder read back: its config and metrics.
public struct RunRecord: Sendable {
    /// The folder's name (a sweep's `method=lips,seed=3`).
    public let name: String
    public let directory: String
    public let config: ExperimentConfig
    public let rounds: [RoundMetrics]
    public let layers: [LayerMetrics]

    /// Personalised accuracy of the last evaluated round.
    public var finalPersonalizedAccuracy: Double? { rounds.last { $0.personalizedAccuracy != nil }?.personalizedAccuracy }
    /// The highest personalised accuracy of any round.
    public var bestPersonalizedAccuracy: Double? { rounds.compactMap(\.personalizedAccuracy).max() }
    /// Dense global model's accuracy in the last evaluated round.
    public var finalDenseAccuracy: Double? { rounds.last { $0.denseAccuracy != nil }?.denseAccuracy }
    /// The last evaluated round's spread of personalised accuracy over clients (nil in files
    /// written before it existed).
    public var finalClientSpread: (std: Double, min: Double, p10: Double)? {
        guard let row = rounds.last(where: { $0.personalizedAccuracy != nil }),
              let std = row.personalizedAccuracyStd, let min = row.personalizedAccuracyMin,
              let p10 = row.personalizedAccuracyP10 else { return nil }
        return (std, min, p10)
    }
    /// Bytes sent up and down over the rounds so far (downlink nil when a round lacks it: a file
    /// written before it existed).
    public var totalBytesUplink: Int { rounds.reduce(0) { $0 + $1.bytesUplinked } }
    public var totalBytesDownlink: Int? {
        rounds.reduce(0 as Int?) { total, row in total.flatMap { total in row.bytesDownlinked.map { total + $0 } } }
    }
    /// Whether the metrics hold every round of the config.
    public var isFinished: Bool { Set(rounds.map(\.round)).isSuperset(of: 0..<config.rounds) }
}

/// Runs sharing every varied key except `seed`: one row of the report, one series of a plot.
public struct RunGroup: Sendable {
    /// The group keys' values (`RunCollection.groupKeys` order), as YAML text.
    public let values: [String]
    /// `method=lips, alpha=0.5`; the method name when no key but the seed varies.
    public let label: String
    /// The runs' method (`fedavg`, `lips`).
    public let method: String
    public let runs: [RunRecord]
}

/// The runs `lips report` and `lips plot` read: from sweep folders (their `sweep.yaml`), run
/// folders, or folders of run folders, with the config keys that vary between them.
public struct RunCollection: Sendable {
    /// Keys whose values differ between runs: a sweep's grid keys in file order, then any other
    /// (non-runtime) key that differs, in config-table order.
    public let varied: [String]
    /// Runs with metrics, in sweep order (then the order given).
    public let runs: [RunRecord]
    /// What was left out and why ("…: not started"), and runs counted before their last round, for the user.
    public let notes: [String]

    /// Keys that split runs into groups: `varied` without `seed`.
    public var groupKeys: [String] { varied.filter { $0 != "seed" } }

    /// Groups in order of first appearance.
    public func groups() -> [RunGroup] {
        var order: [[String]] = [], members: [[String]: [RunRecord]] = [:]
        for run in runs {
            let values = groupKeys.map { run.config.value(forKey: $0) ?? "" }
            if members[values] == nil { order.append(values) }
            members[values, default: []].append(run)
        }
        return order.map { values in
            let runs = members[values] ?? []
            let method = runs.first?.config.method.rawValue ?? ""
            let label = groupKeys == ["method"] || groupKeys.isEmpty
                ? method : zip(groupKeys, values).map { "\($0)=\($1)" }.joined(separator: ", ")
            return RunGroup(values: values, label: label, method: method, runs: runs)
        }
    }

    public init(varied: [String], runs: [RunRecord], notes: [String] = []) {
        self.varied = varied
        self.runs = runs
        self.notes = notes
    }

    /// Reads every path: a sweep folder (its `sweep.yaml` lists the runs), a run folder (it holds
    /// `config.yaml`), or a folder whose subfolders are runs. Runs without metrics yet are left
    /// out with a note. Throws a `UserError` for a path that is none of these or for bad files,
    /// and when no run has metrics.
    public static func load(_ paths: [String]) throws -> RunCollection {
        guard !paths.isEmpty else { throw UserError("give at least one sweep or run folder") }
        var varied: [String] = [], runs: [RunRecord] = [], notes: [String] = [], seen = Set<String>()
        func add(_ folder: String, name: String) throws {
            let key = (folder as NSString).standardizingPath
            guard seen.insert(key).inserted else { return }
            guard exists(folder, Experiment.configFile) else { notes.append("\(folder): not started"); return }
            guard exists(folder, MetricsFiles.jsonLinesFile) else { notes.append("\(folder): no rounds yet"); return }
            let config = try ExperimentConfig.load(file: (folder as NSString).appendingPathComponent(Experiment.configFile))
            let metrics = try MetricsFiles.read(from: folder)
            guard !metrics.rounds.isEmpty else { notes.append("\(folder): no rounds yet"); return }
            let record = RunRecord(name: name, directory: folder, config: config, rounds: metrics.rounds, layers: metrics.layers)
            // A diverged round: a non-finite loss, or a global update that is (its layer rows).
            let nonFinite = Set(record.rounds.filter { !$0.trainLoss.isFinite }.map(\.round))
                .union(record.layers.filter { !$0.relativeUpdate.isFinite }.map(\.round))
            if let diverged = nonFinite.min() {
                notes.append("\(folder): diverged at round \(diverged), counted as it stands")
            } else if !record.isFinished {
                notes.append("\(folder): unfinished (\(Set(record.rounds.map(\.round)).count) of \(config.rounds) rounds), counted as it stands")
            }
            runs.append(record)
        }
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw UserError("\(path): no such folder (expected a sweep or run folder)")
            }
            if let manifest = try SweepManifest.read(from: path) {
                for key in manifest.varied where !varied.contains(key) { varied.append(key) }
                for name in manifest.runs { try add((path as NSString).appendingPathComponent(name), name: name) }
            } else if exists(path, Experiment.configFile) {
                try add(path, name: (path as NSString).lastPathComponent)
            } else {
                let children = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                let runFolders = children.sorted().filter { exists((path as NSString).appendingPathComponent($0), Experiment.configFile) }
                guard !runFolders.isEmpty else {
                    throw UserError("\(path): neither a sweep folder (\(SweepManifest.file)), a run folder (\(Experiment.configFile)) nor a folder of runs")
                }
                for name in runFolders { try add((path as NSString).appendingPathComponent(name), name: name) }
            }
        }
        guard !runs.isEmpty else {
            throw UserError("\(paths.joined(separator: ", ")): no run has metrics yet (\(notes.count) run folder\(notes.count == 1 ? "" : "s") without rounds)")
        }
        for key in ExperimentConfig.keys where !key.isRuntime && !varied.contains(key.name) {
            if Set(runs.map { key.write($0.config) }).count > 1 { varied.append(key.name) }
        }
        let collection = RunCollection(varied: varied, runs: runs, notes: notes)
        return RunCollection(varied: varied, runs: runs, notes: notes + collection.mixedVersionNotes())
    }

    private static func exists(_ folder: String, _ file: String) -> Bool {
        FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(file))
    }
}
