import ArgumentParser
import Foundation
import LIPS

/// `lips sweep`: a grid of runs, each in its own folder, resumable and shardable over a job array.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of experiments (base config × grid of values), one run folder each; skips finished runs, resumes interrupted ones.",
        discussion: """
        The sweep file has 'base:' (a run config: 'preset: NAME' and/or config keys) and 'grid:' (config key → \
        list of values). Every combination is one run, in DIR/key=value,key=value (first grid key slowest). \
        DIR/sweep.yaml lists them for `lips report` and `lips plot`.

        --set key=value overrides a key of every run (not a grid key), after the base: it becomes part of each \
        run's config.yaml, so a rerun without it finds different runs. Progress lines say which run of the \
        shard is running ("run 3 of 12") and the sweep's ETA (h:mm:ss, from the rounds left and the time per \
        round so far); --list shows each run's state.

        --shard I/N (0-based) runs only the runs k with k mod N == I. Inside a Slurm job array numbered \
        0 to N-1 without gaps (--array=0-(N-1)), SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT give it when \
        --shard is not given; any other array (--array=3,7 resubmitting two tasks) needs --shard \
        "$SLURM_ARRAY_TASK_ID/N", as examples/slurm/paper-sweep.sbatch passes it.

        Examples:
          lips sweep --config examples/sweeps/fmnist-fedavg-vs-lips.yaml --out runs/sweep
          lips sweep --config sweep.yaml --out runs/sweep --shard 1/4
          lips sweep --config sweep.yaml --out runs/sweep --workers 8 --parallel-runs 4
          lips sweep --config sweep.yaml --list
          lips sweep --config sweep.yaml --out runs/sweep --set rounds=60
        """
    )

    @Option(name: .long, help: ArgumentHelp("The sweep file (YAML: base + grid).", valueName: "file")) var config: String
    @Option(name: .long, help: ArgumentHelp("Sweep folder (default: runs/<sweep file name>).", valueName: "dir")) var out: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key of every run, e.g. --set rounds=10 (repeatable; not a grid key).", valueName: "key=value"))
    var settings: [String] = []
    @Option(help: ArgumentHelp("Run only slice I of N (0-based: 0/N … N-1/N).", valueName: "I/N")) var shard: String?
    @Option(parsing: .unconditional, help: "Worker threads in all (0 or unset: one per core); same results for any value.") var workers: Int?
    @Option(name: .customLong("parallel-runs"), parsing: .unconditional, help: "Runs at once, sharing the workers (each gets workers / parallel-runs).")
    var parallelRuns = 1
    @Flag(help: "List the runs (* marks the ones this shard owns) with their state (new, partial, finished, running) and exit.") var list = false
    @Flag(help: "Print a progress line per round even when stderr is not a terminal.") var progress = false
    @Flag(help: "Print no progress lines.") var quiet = false

    func run() throws {
        try reportingUserErrors {
            let plan = try SweepPlan.load(file: config, settings: settings)
            let chosen = try shard.map { try SweepShard(parsing: $0) }
                ?? SweepShard.fromSlurm(environment: ProcessInfo.processInfo.environment) ?? .whole
            let directory = out ?? "runs/" + ((config as NSString).lastPathComponent as NSString).deletingPathExtension
            guard !directory.isEmpty else { throw UserError("--out is empty; give a sweep folder") }
            let runner = try SweepRunner(plan: plan, directory: directory, shard: chosen, workers: workers ?? 0,
                                         parallelRuns: parallelRuns)
            if list {
                print("\(plan.runs.count) runs over \(plan.varied.isEmpty ? "no grid" : plan.varied.joined(separator: " × ")); shard \(chosen) owns \(runner.shardRuns.count):")
                for (index, run) in plan.runs.enumerated() {
                    print("\(chosen.contains(index) ? "*" : " ") \(index)  \((directory as NSString).appendingPathComponent(run.name))  \(runner.status(of: run))")
                }
                return
            }
            if (config as NSString).standardizingPath == (SweepManifest.path(in: directory) as NSString).standardizingPath {
                throw UserError("\(config): the sweep file cannot be the sweep folder's own \(SweepManifest.file); move it or choose another --out")
            }
            // Each known-bad setting once, with how many of this shard's runs have it.
            var cautions: [(text: String, runs: Int)] = []
            for (index, run) in plan.runs.enumerated() where chosen.contains(index) {
                guard let caution = Experiment.caution(run.config) else { continue }
                if let seen = cautions.firstIndex(where: { $0.text == caution }) { cautions[seen].runs += 1 }
                else { cautions.append((caution, 1)) }
            }
            for caution in cautions {
                FileHandle.standardError.writeIgnoringErrors(Data("lips: note: \(caution.runs) run\(caution.runs == 1 ? "" : "s"): \(caution.text)\n".utf8))
            }
            let showProgress = !quiet && (progress || isatty(STDERR_FILENO) == 1)
            StopSignal.install()
            let summary = try runner.run(report: { line in
                let isRound = line.hasPrefix("round ") || (line.hasPrefix("[") && line.contains("] round "))
                guard showProgress || (!isRound && !quiet) else { return }
                FileHandle.standardError.writeIgnoringErrors(Data((line + "\n").utf8))
            })
            var parts = ["\(summary.finished.count) finished"]
            if !summary.resumed.isEmpty { parts.append("\(summary.resumed.count) of them resumed") }
            parts.append("\(summary.skipped.count) skipped (already finished)")
            if !summary.interrupted.isEmpty { parts.append("\(summary.interrupted.count) interrupted") }
            if !summary.notStarted.isEmpty { parts.append("\(summary.notStarted.count) not started") }
            if !summary.busy.isEmpty { parts.append("\(summary.busy.count) left to another process running them") }
            print("\(directory): shard \(chosen), \(runner.shardRuns.count) of \(plan.runs.count) runs: " + parts.joined(separator: ", "))
            guard summary.interrupted.isEmpty && summary.notStarted.isEmpty else {
                print("rerun the same command to continue")
                throw ExitCode(stoppedWithCheckpointStatus)
            }
            print("next: lips report \(directory) && lips plot \(directory)")
        }
    }
}
