import Foundation
import Testing
@testable import LIPS

/// Sweep files expanded into runs, shards, and every bad input as a one-line error (no training).
@Suite struct SweepPlanTests {
    static let grid = """
        base:
          preset: fmnist-resnet8-lips
          rounds: 3
          clients: 20
        grid:
          method: [FedAvg, lips]
          seed: [2, 3]
        """

    @Test func aGridExpandsInFileOrderIntoNamedRuns() throws {
        let plan = try SweepPlan.load(yaml: Self.grid, source: "sweep.yaml")
        #expect(plan.varied == ["method", "seed"])
        #expect(plan.runs.map(\.name) == ["method=fedavg,seed=2", "method=fedavg,seed=3", "method=lips,seed=2", "method=lips,seed=3"])
        #expect(plan.runs.map(\.values) == [["fedavg", "2"], ["fedavg", "3"], ["lips", "2"], ["lips", "3"]])
        var expected = try Presets.config(named: "fmnist-resnet8-lips")
        expected.rounds = 3
        expected.clients = 20
        expected.method = .fedavg
        expected.seed = 3
        #expect(plan.runs[1].config == expected)
        #expect(plan.runs[2].config.method == .lips && plan.runs[2].config.updateDensity == expected.updateDensity)
        // No grid: one run, named "run"; the manifest reads back equal.
        let single = try SweepPlan.load(yaml: "base:\n  rounds: 2\n", source: "one.yaml")
        #expect(single.runs.map(\.name) == ["run"] && single.runs[0].config.rounds == 2)
        #expect(SweepPlan.odometer([2, 3]).count == 6 && SweepPlan.odometer([]) == [[]])
    }

    @Test func folderNamesAreFilesystemSafe() throws {
        let plan = try SweepPlan.load(yaml: "grid:\n  normalize_mean: [[0.5], [0.25]]\n  normalize_std: [[0.5]]\n  data_dir: [\"my data/set\"]\n",
                                      source: "s.yaml")
        #expect(plan.runs.map(\.name) == ["normalize_mean=_0.5_,normalize_std=_0.5_,data_dir=my_data_set",
                                         "normalize_mean=_0.25_,normalize_std=_0.5_,data_dir=my_data_set"])
        #expect(plan.runs.allSatisfy { !$0.name.contains("/") && !$0.name.contains(" ") })
    }

    @Test func manifestRoundTrips() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: Self.grid, source: "examples/sweeps/a b.yaml")
        try SweepManifest(plan: plan).write(to: folder.path)
        #expect(try SweepManifest.read(from: folder.path) == SweepManifest(source: "examples/sweeps/a b.yaml", varied: ["method", "seed"],
                                                                           runs: plan.runs.map(\.name)))
        // A sweep.yaml that is not a manifest (the user's own sweep file) is never replaced.
        try folder.write("sweep.yaml", Array(Self.grid.utf8))
        expectUserError("not a sweep manifest") { try SweepManifest(plan: plan).write(to: folder.path) }
        #expect(try String(contentsOfFile: folder.file("sweep.yaml"), encoding: .utf8) == Self.grid)
    }

    /// The one-line error each bad sweep file gets.
    static func message(_ yaml: String) -> String {
        userErrorMessage { _ = try SweepPlan.load(yaml: yaml, source: "s.yaml") } ?? "no error"
    }

    @Test func badSweepFilesGiveOneLineErrors() {
        let cases: [(yaml: String, message: String)] = [
            ("grid:\n  learning_rate: [0.1, 0.05]\n", "s.yaml:2: unknown key 'learning_rate' (did you mean 'lr'?)"),
            ("base:\n  rounds: 3\n  learning_rate: 0.1\n", "s.yaml:3: unknown key 'learning_rate' (did you mean 'lr'?)"),
            ("grid:\n  seed: []\n", "s.yaml:2: grid 'seed' must be a non-empty list of values, e.g. seed: [a, b]"),
            ("grid:\n  seed: 3\n", "s.yaml:2: grid 'seed' must be a list of values, e.g. seed: [a, b]; found '3'"),
            ("grid:\n  rounds: [3, abc]\n", "s.yaml:2: 'rounds' must be an integer, found 'abc'"),
            ("grid:\n  method: [fedavg, sgd]\n", "s.yaml:2: 'method' must be one of fedavg, lips, found 'sgd'"),
            ("grid:\n  seed: [2, 2]\n", "s.yaml:2: grid 'seed' lists 2 twice"),
            ("grid:\n  workers: [1, 2]\n", "s.yaml:2: grid 'workers' is a runtime key (results do not depend on it); set it in base or use lips sweep --workers"),
            ("grid:\n  alpha: [0.5, -1]\n", "s.yaml: run alpha=-1.0: config: 'alpha' must be > 0, found -1.0"),
            ("grd:\n  seed: [2]\n", "s.yaml:1: unknown section 'grd' (a sweep has 'base:' and 'grid:')"),
            ("base:\n  preset: nope\n", "s.yaml:2: unknown preset 'nope'; known presets: \(Presets.names.joined(separator: ", "))"),
            ("- 1\n- 2\n", "s.yaml: expected a sweep: a mapping with 'base:' (a run config) and 'grid:' (key → list of values)"),
            ("grid: [1, 2]\n", "s.yaml:1: 'grid' must map config keys to lists of values, e.g. seed: [2, 3]"),
        ]
        for (yaml, expected) in cases {
            let message = Self.message(yaml)
            #expect(message == expected, "\(yaml)")
            #expect(!message.contains("\n"))
        }
        #expect(Self.message("grid: {seed: [2,\n").hasPrefix("s.yaml: not valid YAML"))
        #expect(throws: UserError("missing.yaml: sweep file not found")) { try SweepPlan.load(file: "missing.yaml") }
    }

    /// A grid of 10⁹ combinations is refused from its sizes alone, before any run is built
    /// (it once exhausted memory in `lips sweep --list`).
    @Test func aGridOfTooManyRunsIsRefusedBeforeExpanding() {
        let values = "[" + (1...1000).map(String.init).joined(separator: ", ") + "]"
        let yaml = "grid:\n  seed: \(values)\n  rounds: \(values)\n  clients: \(values)\n"
        let message = userErrorMessage { _ = try SweepPlan.load(yaml: yaml, source: "huge.yaml") } ?? "no error"
        #expect(message == "huge.yaml: the grid makes more than 100000 runs (1000 × 1000 × 1000); split it into several sweeps")
    }

    @Test func shardStringsAreZeroBasedAndChecked() throws {
        #expect(try SweepShard(parsing: "0/2") == SweepShard(index: 0, count: 2))
        #expect(try SweepShard(parsing: " 3 / 4 ").description == "3/4")
        let bad: [(String, String)] = [
            ("2/2", "--shard '2/2': shard index 2 is outside 0..<2 (shards are 0-based: 0/2 … 1/2)"),
            ("-1/2", "--shard '-1/2': shard index -1 is outside 0..<2 (shards are 0-based: 0/2 … 1/2)"),
            ("1/0", "--shard '1/0': the shard count must be ≥ 1, found 0"),
            ("1", "--shard '1': expected I/N with 0 ≤ I < N, e.g. --shard 0/4"),
            ("a/b", "--shard 'a/b': expected I/N with 0 ≤ I < N, e.g. --shard 0/4"),
            ("1/2/3", "--shard '1/2/3': expected I/N with 0 ≤ I < N, e.g. --shard 0/4"),
        ]
        for (text, message) in bad {
            #expect(throws: UserError(message)) { try SweepShard(parsing: text) }
        }
        // Slurm: an array 0-(N-1) without gaps gives shard ID/N; any other array is refused in one
        // line (a resubmitted --array=3,7 of 12 tasks has COUNT 2: task 7 must not run shard 7 mod 2
        // or 7 - 3 of 2).
        func slurm(_ id: Int, min: Int, max: Int, count: Int) -> [String: String] {
            ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "\(min)", "SLURM_ARRAY_TASK_MAX": "\(max)",
             "SLURM_ARRAY_TASK_COUNT": "\(count)", "SLURM_ARRAY_JOB_ID": "41", "SLURM_JOB_ID": "\(42 + id)"]
        }
        #expect(try SweepShard.fromSlurm(environment: [:]) == nil)
        #expect(try SweepShard.fromSlurm(environment: ["SLURM_JOB_ID": "7"]) == nil)
        #expect(try SweepShard.fromSlurm(environment: slurm(3, min: 0, max: 3, count: 4)) == SweepShard(index: 3, count: 4))
        #expect(try SweepShard.fromSlurm(environment: slurm(0, min: 0, max: 0, count: 1)) == SweepShard(index: 0, count: 1))
        #expect(throws: UserError("Slurm array task 7: the array (2 tasks from 3 to 7) is not 0-1 without gaps, so it does not give "
                                  + "the shard count; give --shard 7/N, N the number of shards (the full array's size)")) {
            try SweepShard.fromSlurm(environment: slurm(7, min: 3, max: 7, count: 2))
        }
        for (id, min, max, count) in [(3, 3, 7, 2), (2, 1, 2, 2), (0, 0, 3, 3), (4, 0, 10, 6), (5, 5, 5, 1)] {
            #expect(throws: UserError.self, "array \(min)-\(max) of \(count)") {
                try SweepShard.fromSlurm(environment: slurm(id, min: min, max: max, count: count))
            }
        }
        var partial = slurm(1, min: 0, max: 1, count: 2)
        partial["SLURM_ARRAY_TASK_MAX"] = nil
        #expect(throws: UserError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MAX is not: give --shard I/N")) {
            try SweepShard.fromSlurm(environment: partial)
        }
        #expect(throws: UserError("SLURM_ARRAY_TASK_COUNT: expected a whole number, found 'x'")) {
            try SweepShard.fromSlurm(environment: slurm(1, min: 0, max: 1, count: 2).merging(["SLURM_ARRAY_TASK_COUNT": "x"]) { $1 })
        }
    }

    @Test(arguments: [1, 2, 3, 5]) func shardsTogetherHoldEveryRunOnce(count: Int) throws {
        let plan = try SweepPlan.load(yaml: "grid:\n  method: [fedavg, lips]\n  seed: [1, 2, 3]\n  alpha: [0.1, 1]\n", source: "s.yaml")
        let slices = try (0..<count).map { index in
            try SweepRunner(plan: plan, directory: "unused", shard: SweepShard(index: index, count: count)).shardRuns.map(\.name)
        }
        #expect(slices.flatMap { $0 }.sorted() == plan.runs.map(\.name).sorted())
        #expect(Set(slices.flatMap { $0 }).count == plan.runs.count)
        #expect(slices.allSatisfy { abs($0.count - plan.runs.count / count) <= 1 })
    }

    @Test func reportStatisticsAreSampleOnes() throws {
        let spread = try #require(Spread([0.5, 0.7, 0.9]))
        #expect(abs(spread.mean - 0.7) < 1e-15)
        #expect(abs(try #require(spread.standardDeviation) - 0.2) < 1e-15)
        #expect(Spread([0.25])?.standardDeviation == nil && Spread([]) == nil)
        #expect(SweepReport.percent(spread) == "70.00 ± 20.00" && SweepReport.percent(Spread([0.8125])) == "81.25")
    }

    @Test func svgTextIsEscapedAndTicksAreRound() {
        #expect(SVGDocument.escape("a<b & \"c\" 'd'>\u{1}") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        let ticks = SVGDocument.ticks(0, 1)
        #expect(ticks.count == 6 && zip(ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(ticks)")
        #expect(SVGDocument.ticks(0, 3, integers: true) == [0, 1, 2, 3])
        #expect(HeatMap.logTicks(log10(0.015), log10(0.3)) == [0.02, 0.05, 0.1, 0.2])
        #expect(HeatMap.viridis(0) == "#440154" && HeatMap.viridis(1) == "#fde725")
    }
}
