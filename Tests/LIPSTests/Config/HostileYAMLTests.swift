import Foundation
import Testing
@testable import LIPS

/// Config and sweep YAML built to exhaust memory or time, or to break the one-line error rule
/// (issue 16; `make fuzz` runs the loaders on such inputs).
@Suite struct HostileYAMLTests {
    /// `[&a [x × 9], &b [*a × 9], …]`: `levels` nested aliases of 9, 9^levels values in all.
    static func aliasBomb(levels: Int) -> String {
        var parts = ["&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 1..<levels {
            parts.append("&l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        return "[" + parts.joined(separator: ", ") + "]"
    }

    /// 9^6 = 531 441 values from 300 bytes: refused before Yams builds them (it used to build all
    /// of them and print them in the error; 9^9 from 325 bytes exhausted the memory).
    @Test func aliasBombsAreRefusedInOneLine() throws {
        let bomb = Self.aliasBomb(levels: 6)
        #expect(bomb.utf8.count < 400)
        for load in [
            { _ = try ExperimentConfig.load(yaml: "rounds: \(bomb)\n", source: "bomb.yaml") },
            { _ = try SweepPlan.load(yaml: "base: {rounds: 2}\ngrid:\n  seed: \(bomb)\n", source: "bomb.yaml") },
            { _ = try SweepPlan.load(yaml: "base:\n  clients: \(bomb)\n", source: "bomb.yaml") },
        ] {
            let message = userErrorMessage(load)
            #expect(message?.hasPrefix("bomb.yaml: its YAML aliases expand it beyond") == true, "\(message ?? "")")
            #expect((message?.count ?? .max) < 200)
        }
        var config = ExperimentConfig()
        expectUserError("--set", "an alias bomb") { try config.apply(setting: "normalize_mean=\(bomb)") }
    }

    /// A bomb used as a mapping key: Yams hashes every key while it parses (its duplicate-key
    /// check), minutes for 9^9 values before any value is built. Keys must be scalars, so it is
    /// refused at the key, before the bomb is even weighed.
    @Test func aliasBombAsAMappingKeyIsRefusedQuickly() {
        let start = Date()
        expectUserError("key.yaml:1: a mapping key must be a plain name or number, found a list") {
            _ = try ExperimentConfig.load(yaml: "rounds: {? \(Self.aliasBomb(levels: 9)) : 1}\n", source: "key.yaml")
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    /// Ordinary anchors and aliases stay readable.
    @Test func modestAliasesStillLoad() throws {
        let config = try ExperimentConfig.load(yaml: "lr: &rate 0.05\nweight_decay: *rate\nnormalize_mean: &m [0.5, 0.5]\nnormalize_std: *m\n",
                                               source: "a.yaml")
        #expect(config.learningRate == 0.05 && config.weightDecay == 0.05 && config.normalizeStd == [0.5, 0.5])
        let plan = try SweepPlan.load(yaml: """
            base: &b {dataset: synthetic, rounds: 2}
            grid:
              seed: &s [1, 2, 3]
              eval_every: *s
            """, source: "s.yaml")
        #expect(plan.runs.count == 9 && plan.runs[0].config.dataset == "synthetic")
        // Aliases may add up to `aliasAllowance` bytes of values, beyond what the file holds.
        let list = "[" + Array(repeating: "0.25", count: 1000).joined(separator: ", ") + "]"
        let repeated = "normalize_mean: &m \(list)\nnormalize_std: [" + Array(repeating: "*m", count: 10).joined(separator: ", ") + "]\n"
        expectUserError("r.yaml", "'normalize_std' must be a list of numbers") {
            _ = try ExperimentConfig.load(yaml: repeated, source: "r.yaml")
        }
    }

    /// A list or mapping as a mapping key is YAML, but Yams' constructor traps on it (it made
    /// `lips run --config` crash): refused with the line, in config and sweep files and `--set`.
    @Test func mappingKeysMustBeScalars() throws {
        expectUserError("k.yaml:2: a mapping key must be a plain name or number, found a list") {
            _ = try ExperimentConfig.load(yaml: "clients: 3\nrounds: {[1, 2]: 2}\n", source: "k.yaml")
        }
        expectUserError("k.yaml:1: a mapping key must be a plain name or number, found a mapping") {
            _ = try ExperimentConfig.load(yaml: "? {a: 1}\n: 3\n", source: "k.yaml")
        }
        expectUserError("s.yaml:3: a mapping key must be a plain name or number, found an alias of a list or mapping") {
            _ = try SweepPlan.load(yaml: "base: {normalize_mean: &m [0.5]}\ngrid:\n  seed: [{*m : 1}]\n", source: "s.yaml")
        }
        var config = ExperimentConfig()
        expectUserError("--set:1: a mapping key must be a plain name or number, found a list") {
            try config.apply(setting: "rounds={[1]: 2}")
        }
        // Scalar keys and anchored keys stay readable.
        let plan = try SweepPlan.load(yaml: "base: &b {rounds: 2, dataset: synthetic}\ngrid:\n  &k seed: [1, 2]\n", source: "s.yaml")
        #expect(plan.varied == ["seed"] && plan.runs.count == 2)
    }

    /// A key or value holding a line break is quoted with escapes, so the error stays one line.
    @Test func lineBreaksInKeysAndValuesStayOnOneLine() throws {
        var config = ExperimentConfig()
        #expect(userErrorMessage { try config.apply(setting: "roun\nds=3") } == "--set: unknown key 'roun\\nds' (did you mean 'rounds'?)")
        #expect(userErrorMessage { _ = try ExperimentConfig.load(yaml: "\"a\\u2028b\": 1\n", source: "k.yaml") }
            == "k.yaml:1: unknown key 'a\\u{2028}b'")
        expectUserError("v.yaml:1", "'clients' must be an integer", "found 'x\\r\\ny'") {
            _ = try ExperimentConfig.load(yaml: "clients: \"x\\r\\ny\"\n", source: "v.yaml")
        }
        #expect(UserError("a\nb\rc\u{85}d").message == "a\\nb\\rc\\u{85}d")
    }

    /// `yaml()` wrote a value holding combining marks or emoji cut short (found by the `config`
    /// fuzz target: the written config did not load). Each such config reads back equal.
    @Test func writtenConfigKeepsValuesWithCombiningMarksAndEmoji() throws {
        for directory in ["data/caf" + String(repeating: "e\u{301}", count: 30), "runs/" + String(repeating: "👍", count: 25),
                          "x\u{3}\u{85}\u{2028}\u{FEFF}y/" + String(repeating: "🇫🇷", count: 20)] {
            var config = ExperimentConfig()
            config.dataDirectory = directory
            config.splitFile = directory + ".json"
            let back = try ExperimentConfig.load(yaml: config.yaml(), source: "written")
            #expect(back.dataDirectory == directory && back.splitFile == directory + ".json")
            #expect(back == config)
        }
    }

    /// The grid's run count is checked for overflow (20 lists of 10: 10^20) and the limit can be
    /// lowered, as the sweep fuzz target does (`SweepPlanTests` checks the 100 000 of `lips sweep`).
    @Test func gridCountsOverflowAndTheLimitCanBeLowered() throws {
        let ten = "[" + (0..<10).map(String.init).joined(separator: ", ") + "]"
        let keys = ["seed", "rounds", "clients", "train_num", "test_num", "local_epochs", "batch_size", "eval_every",
                    "update_freq", "aggregation_block", "classes_per_client", "reference_round", "synthetic_train",
                    "synthetic_test", "synthetic_classes", "crop_padding", "horizon", "lr", "momentum", "alpha"]
        let huge = "grid:\n" + keys.map { "  \($0): \(ten)\n" }.joined()
        #expect(userErrorMessage { _ = try SweepPlan.load(yaml: huge, source: "huge.yaml") }
            == "huge.yaml: the grid makes more than 100000 runs (\(Array(repeating: "10", count: 20).joined(separator: " × "))); split it into several sweeps")
        let grid = "grid:\n  seed: \(ten)\n  rounds: [1, 2]\n"
        #expect(try SweepPlan.load(yaml: grid, source: "s.yaml", maximumRuns: 20).runs.count == 20)
        expectUserError("s.yaml: the grid makes more than 19 runs (10 × 2)") {
            _ = try SweepPlan.load(yaml: grid, source: "s.yaml", maximumRuns: 19)
        }
    }

    /// A sweep folder's `sweep.yaml` is read on every resume: a bomb there is refused too.
    @Test func sweepManifestAliasBombIsRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("sweep.yaml", Array("varied: \(Self.aliasBomb(levels: 6))\nruns: []\n".utf8))
        expectUserError("sweep.yaml", "an alias bomb") { _ = try SweepManifest.read(from: folder.path) }
    }
}
