import Dispatch
import Foundation

/// Runs one shard of a sweep into a sweep folder, each run through `Experiment` in its own
/// subfolder, so skipping, resuming and Ctrl-C behave as in `lips run`: a finished run (its
/// metrics hold every round) is skipped without loading data, an interrupted one continues
/// from its checkpoint, and a folder holding a different run is refused.
///
/// Cores: `workers` threads in all (0: one per core), shared by `parallelRuns` runs at once, each
/// with max(1, workers / parallelRuns) workers. Results never depend on either (the engine's
/// guarantee per run).
public struct SweepRunner: Sendable {
    public let plan: SweepPlan
    public let directory: String
    public let shard: SweepShard
    /// Worker threads in all; 0 = one per core. With `parallelRuns` 1 and 0 here, each run uses
    /// its config's `workers`.
    public let workers: Int
    public let parallelRuns: Int

    /// What happened to each run of the shard.
    public struct Summary: Sendable, Equatable {
        /// Runs that reached their last round now (`resumed` also holds those that continued a checkpoint).
        public var finished: [String] = []
        public var resumed: [String] = []
        /// Runs already finished before this call.
        public var skipped: [String] = []
        /// Runs stopped by Ctrl-C/SIGTERM (a checkpoint is saved); the sweep stops after them.
        public var interrupted: [String] = []
        /// Runs not started because the sweep was stopped.
        public var notStarted: [String] = []
        /// Runs another process was running (their folder locked), left to it.
        public var busy: [String] = []
    }

    /// Throws a `UserError` for `parallelRuns` < 1 or `workers` < 0.
    public init(plan: SweepPlan, directory: String, shard: SweepShard = .whole, workers: Int = 0, parallelRuns: Int = 1) throws {
        guard parallelRuns >= 1 else { throw UserError("--parallel-runs must be ≥ 1, got \(parallelRuns)") }
        guard workers >= 0 else { throw UserError("--workers must be ≥ 0, got \(workers)") }
        self.plan = plan
        self.directory = directory
        self.shard = shard
        self.workers = workers
        self.parallelRuns = parallelRuns
    }

    /// The runs this shard owns, in sweep order.
    public var shardRuns: [SweepPlan.Run] {
        plan.runs.enumerated().filter { shard.contains($0.offset) }.map(\.element)
    }

    /// Workers each run gets, or nil to leave it to the run's config.
    var workersPerRun: Int? {
        if parallelRuns == 1 && workers == 0 { return nil }
        return max(1, (workers > 0 ? workers : AvailableCores.count) / parallelRuns)
    }

    /// How far a run folder is: nothing yet, some rounds, or all of them.
    public enum RunState: Equatable, Sendable {
        case new
        case partial(rounds: Int)
        case finished
    }

    /// The state of `run`'s folder. Throws a `UserError` if the folder holds a different run.
    public func state(of run: SweepPlan.Run) throws -> RunState {
        let folder = path(of: run)
        guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(Experiment.configFile)) else {
            return .new
        }
        _ = try Experiment(directory: folder, config: run.config)  // refuses a different run
        let metrics = (folder as NSString).appendingPathComponent(MetricsFiles.jsonLinesFile)
        guard FileManager.default.fileExists(atPath: metrics) else { return .partial(rounds: 0) }
        let rows = try MetricsFiles.prefixingErrors(metrics) { try MetricsFiles.readJSONLines(try MetricsFiles.text(metrics)) }
        let done = Set(rows.map(\.round))
        return done.isSuperset(of: 0..<run.config.rounds) ? .finished : .partial(rounds: done.count)
    }

    /// The rounds `run` still has to run (all of them when its folder cannot tell).
    func roundsLeft(_ run: SweepPlan.Run) -> Int {
        switch try? state(of: run) {
        case .finished?: return 0
        case .partial(let rounds)?: return max(0, run.config.rounds - rounds)
        case .new?, nil: return run.config.rounds
        }
    }

    /// What `lips sweep --list` says of a run's folder: "new", "finished", "partial 3/20",
    /// "running (pid 123)" when another process holds its lock, or "refused (REASON)" when the
    /// folder holds another run (or one it cannot extend). Never throws: a listing reports, it does not refuse.
    public func status(of run: SweepPlan.Run) -> String {
        let folder = path(of: run)
        let state: RunState
        do {
            state = try self.state(of: run)
        } catch {
            return "refused (\((error as? UserError)?.message ?? "\(error)"))"
        }
        if state != .new, FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(RunFolderLock.fileName)),
           let (lock, holder) = try? RunFolderLock.acquire(folder), lock == nil {
            return "running" + (holder.map { " (pid \($0))" } ?? "")
        }
        switch state {
        case .new: return "new"
        case .finished: return "finished"
        case .partial(let rounds): return "partial \(rounds)/\(run.config.rounds)"
        }
    }

    /// The folder of `run` inside the sweep folder.
    public func path(of run: SweepPlan.Run) -> String {
        (directory as NSString).appendingPathComponent(run.name)
    }

    /// Writes the manifest, then runs the shard's runs (`parallelRuns` at a time). `report`
    /// receives progress lines (from any thread when runs are concurrent); after a stop no new
    /// run starts. A `UserError` of a run is rethrown naming the run, once running runs end.
    public func run(report: (@Sendable (String) -> Void)? = nil,
                    shouldStop: @escaping @Sendable () -> Bool = { StopSignal.requested }) throws -> Summary {
        try SweepManifest(plan: plan).write(to: directory)
        let runs = shardRuns
        let shared = SweepState(count: runs.count)
        let progress = SweepProgress(remaining: runs.map(roundsLeft).reduce(0, +))
        let prefixRounds = parallelRuns > 1
        let perRun = workersPerRun
        let lane: @Sendable (Int) -> Void = { _ in
            // One data set kept per lane: consecutive runs on the same data (only method or
            // schedule differ) load it once.
            var cached: (key: String, data: DatasetPair)?
            while !shouldStop(), let index = shared.next() {
                let run = runs[index]
                let outcome = Result { () throws -> RunResult in
                    try self.runOne(run, number: index + 1, of: runs.count, workers: perRun, cached: &cached, report: report,
                                    progress: progress, prefixRounds: prefixRounds, shouldStop: shouldStop)
                }
                shared.finish(index, outcome)
                if case .success(.interrupted) = outcome { shared.stop() }
                if case .failure = outcome { shared.stop() }
            }
        }
        if parallelRuns == 1 || runs.count <= 1 {
            lane(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: min(parallelRuns, runs.count), execute: lane)
        }
        return try shared.summary(names: runs.map(\.name))
    }

    enum RunResult: Sendable { case skipped, finished(resumed: Bool), interrupted, busy }

    /// Runs `run`, the shard's `number`th of `count` (1-based, as the progress lines say it).
    private func runOne(_ run: SweepPlan.Run, number: Int, of count: Int, workers: Int?, cached: inout (key: String, data: DatasetPair)?,
                        report: (@Sendable (String) -> Void)?, progress: SweepProgress, prefixRounds: Bool,
                        shouldStop: @escaping @Sendable () -> Bool) throws -> RunResult {
        let which = "run \(number) of \(count)"
        do {
            if try state(of: run) == .finished {
                report?("lips: \(which): \(path(of: run)): already finished (\(run.config.rounds) rounds), skipped")
                return .skipped
            }
            let left = roundsLeft(run)
            var config = run.config
            if let workers { config.workers = workers }
            let experiment = try Experiment(directory: path(of: run), config: config)
            if case .held(let holder) = try experiment.lock() {
                report?("lips: \(which): \(path(of: run)): in use by another lips process\(holder.map { " (pid \($0))" } ?? ""), skipped")
                progress.skip(rounds: left)
                return .busy
            }
            let key = SweepRunner.dataKey(config)
            let data: DatasetPair
            if let cached, cached.key == key {
                data = cached.data
            } else {
                cached = nil  // free the previous set before loading the next
                data = try Experiment.loadData(config)
                cached = (key, data)
            }
            let outcome = try experiment.run(data: data, workers: workers, report: { line in
                // A round's line (Experiment.progressLine) gets the sweep's place and ETA.
                guard line.hasPrefix("round ") else {
                    report?(line.hasPrefix("lips: ") ? "lips: \(which): " + line.dropFirst(6) : line)
                    return
                }
                let sweep = "  [sweep: \(which), ETA \(progress.roundDone())]"
                report?((prefixRounds ? "[\(run.name)] " : "") + line + sweep)
            }, shouldStop: shouldStop)
            switch outcome {
            case .finished(_, let resumedFrom): return .finished(resumed: resumedFrom > 0)
            case .interrupted: return .interrupted
            }
        } catch let error as UserError {
            throw UserError("run \(run.name): \(error.message)")
        }
    }

    /// The config keys that decide which data `Experiment.loadData` returns.
    static func dataKey(_ config: ExperimentConfig) -> String {
        ["dataset", "data_dir", "seed", "synthetic_shape", "synthetic_classes", "synthetic_train", "synthetic_test"]
            .map { config.value(forKey: $0) ?? "" }.joined(separator: "|")
    }
}

/// The shared state of a sweep's lanes: the next run to start (stopped on Ctrl-C or a failure)
/// and each run's result. Every access holds a lock, so lanes on any threads may share it.
private final class SweepState: @unchecked Sendable {
    private let lock = NSLock()
    private let indices: LockedCounter
    private var results: [Result<SweepRunner.RunResult, Error>?]

    init(count: Int) {
        indices = LockedCounter(limit: count)
        results = Array(repeating: nil, count: count)
    }

    /// The next run to start, or nil when all have started or the sweep was stopped.
    func next() -> Int? { indices.next() }

    func finish(_ index: Int, _ result: Result<SweepRunner.RunResult, Error>) {
        lock.lock()
        results[index] = result
        lock.unlock()
    }

    func stop() { indices.stop() }

    /// The summary in sweep order; rethrows the first failure in sweep order.
    func summary(names: [String]) throws -> SweepRunner.Summary {
        lock.lock()
        defer { lock.unlock() }
        var summary = SweepRunner.Summary()
        for (name, result) in zip(names, results) {
            switch result {
            case nil: summary.notStarted.append(name)
            case .failure(let error)?: throw error
            case .success(.skipped)?: summary.skipped.append(name)
            case .success(.interrupted)?: summary.interrupted.append(name)
            case .success(.busy)?: summary.busy.append(name)
            case .success(.finished(let resumed))?:
                summary.finished.append(name)
                if resumed { summary.resumed.append(name) }
            }
        }
        return summary
    }
}
