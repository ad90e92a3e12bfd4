import ArgumentParser
import Foundation
import LIPS

/// `lips run`: one federated run into a folder, resumable.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run FedAvg or LIPS from a config or preset into a run folder (resumes if the folder holds a run).",
        discussion: """
        The run folder gets config.yaml (the resolved config), metrics.jsonl and metrics.csv (one row per \
        round), layers.csv (layer-wise inertia) and checkpoint.bin. Ctrl-C finishes the current round and saves \
        a checkpoint, then exits with status 75 (0: every round done; 2: an error, in one line); `lips run --out DIR` \
        continues it and ends bitwise where an uninterrupted run would; with --set rounds=N (more rounds) it \
        goes on to N, ending where a run of N rounds would (a LIPS run must keep its horizon). A config file may \
        hold 'preset: NAME', applied before its other keys. Progress lines read "round 3/20 (metrics round 2)": \
        the files count rounds from 0. The folder's provenance.json records each session (engine version, host, \
        CPU, BLAS, workers, start and end).

        Examples:
          lips run --preset fmnist-resnet8-lips --out runs/lips
          lips run --config my.yaml --set alpha=0.5 --set seed=3 --out runs/a05-s3
          lips run --out runs/lips                      # resume
          lips run --out runs/lips --set rounds=60 --set horizon=30   # on to 60 rounds
          lips run --preset fmnist-resnet8-lips --show-config
        Presets: \(Presets.names.joined(separator: ", ")).
        """
    )

    @Option(name: .long, help: ArgumentHelp("A YAML config file.", valueName: "file")) var config: String?
    @Option(name: .long, help: ArgumentHelp("A built-in preset (listed above).", valueName: "name")) var preset: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key, e.g. --set rounds=10 (repeatable).", valueName: "key=value"))
    var settings: [String] = []
    @Option(name: .long, help: ArgumentHelp("Run folder (default: runs/<preset or config name>).", valueName: "dir")) var out: String?
    @Option(parsing: .unconditional, help: "Worker threads (0: one per core); same results for any value.") var workers: Int?
    @Flag(help: "Print a progress line per round even when stderr is not a terminal.") var progress = false
    @Flag(help: "Print no progress lines.") var quiet = false
    @Flag(name: .customLong("show-config"), help: "Print the resolved config as YAML and exit.") var showConfig = false

    func run() throws {
        try reportingUserErrors {
            guard config == nil || preset == nil else { throw UserError("give --config or --preset, not both") }
            var resolved: ExperimentConfig? = try preset.map { try Presets.config(named: $0) }
                ?? config.map { try ExperimentConfig.load(file: $0) }
            guard resolved != nil || out != nil else {
                throw UserError("nothing to run: give --config FILE, --preset NAME, or --out DIR of a run to resume")
            }
            // Overrides of a run being resumed start from the folder's own config.
            if resolved == nil, !settings.isEmpty || workers != nil, let out {
                resolved = try Experiment(directory: out, config: nil).config
            }
            for setting in settings { try resolved?.apply(setting: setting) }
            if let workers {
                guard workers >= 0 else { throw UserError("--workers must be ≥ 0, got \(workers)") }
                resolved?.workers = workers
            }
            try resolved?.validate()
            if showConfig {
                guard let resolved else { throw UserError("--show-config needs --config or --preset") }
                print(resolved.yaml(), terminator: "")
                return
            }
            let name = preset ?? config.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension } ?? "run"
            let directory = out ?? "runs/\(name)"
            guard !directory.isEmpty else { throw UserError("--out is empty; give a run folder") }
            let experiment = try Experiment(directory: directory, config: resolved)
            let showProgress = !quiet && (progress || isatty(STDERR_FILENO) == 1)
            StopSignal.install()
            let communicator = Ranks.world()
            if communicator.rank == 0, let caution = Experiment.caution(experiment.config) {
                FileHandle.standardError.writeIgnoringErrors(Data("lips: note: \(caution)\n".utf8))
            }
            let outcome = try experiment.run(communicator: communicator, report: showProgress ? { line in
                FileHandle.standardError.writeIgnoringErrors(Data((line + "\n").utf8))
            } : nil)
            switch outcome {
            case .finished where communicator.rank != 0:
                break
            case .finished(let rounds, let resumedFrom):
                if resumedFrom == rounds {
                    print("\(directory): already finished (\(rounds) rounds)")
                } else {
                    print("\(directory): \(rounds) rounds done; metrics in \(directory)/metrics.csv")
                }
            case .interrupted:
                throw ExitCode(stoppedWithCheckpointStatus)
            }
        }
    }
}
