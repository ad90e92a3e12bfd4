import Foundation
import Testing
@testable import LIPS

/// `lips sweep --set`, the sweep's progress lines ("run k of N", ETA) and `--list`'s states.
@Suite struct SweepOverrideTests {
    @Test func settingsReachEveryRunAndTheManifestButNotAGridKey() throws {
        let plan = try SweepPlan.load(yaml: SweepPlanTests.grid, source: "sweep.yaml", settings: ["rounds=7", "alpha=0.5"])
        #expect(plan.runs.allSatisfy { $0.config.rounds == 7 && $0.config.alpha == 0.5 })
        #expect(plan.runs.map(\.config.seed) == [2, 3, 2, 3])  // the grid still decides its keys
        #expect(plan.overrides == ["rounds=7", "alpha=0.5"])
        let manifest = SweepManifest(plan: plan)
        #expect(manifest.yaml().contains("overrides: [\"rounds=7\", \"alpha=0.5\"]"))
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try manifest.write(to: folder.path)
        #expect(try SweepManifest.read(from: folder.path) == manifest)

        #expect(userErrorMessage { _ = try SweepPlan.load(yaml: SweepPlanTests.grid, source: "sweep.yaml", settings: ["seed=4"]) }
                == "--set seed=4: 'seed' is a grid key of the sweep (sweep.yaml:7); change its values in the grid instead")
        #expect(userErrorMessage { _ = try SweepPlan.load(yaml: SweepPlanTests.grid, source: "sweep.yaml", settings: ["rouns=4"]) }
                == "--set: unknown key 'rouns' (did you mean 'rounds'?)")
        #expect(userErrorMessage { _ = try SweepPlan.load(yaml: SweepPlanTests.grid, source: "sweep.yaml", settings: ["rounds=0"]) }?
                .contains("rounds") == true)
    }

    @Test func progressSaysWhichRunAndTheSweepsETA() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: SweepRunTests.sweepYAML.replacingOccurrences(of: "seed: [2, 3]", with: "seed: [2]"),
                                      source: "sweep.yaml", settings: ["rounds=1"])
        let runner = try SweepRunner(plan: plan, directory: folder.path, workers: 1)
        #expect(plan.runs.map(runner.status) == ["new", "new"])
        let first = LineLog()
        _ = try runner.run(report: { first.append($0) }, shouldStop: { first.all.contains { $0.hasPrefix("round 1/1") } })
        #expect(plan.runs.map(runner.status) == ["finished", "new"])
        let lines = LineLog()
        _ = try runner.run(report: { lines.append($0) }, shouldStop: { false })
        #expect(lines.all.contains { $0.hasPrefix("lips: run 1 of 2: \(runner.path(of: plan.runs[0])): already finished") })
        #expect(lines.all.contains { $0.hasPrefix("lips: run 2 of 2: \(runner.path(of: plan.runs[1])): cnn on synthetic") })
        #expect(lines.all.contains { $0.hasPrefix("round 1/1 (metrics round 0)") && $0.hasSuffix("  [sweep: run 2 of 2, ETA 0:00:00]") })
        #expect(try ExperimentConfig.load(file: runner.path(of: plan.runs[1]) + "/config.yaml").rounds == 1)
    }

    @Test func theListingNamesPartialAndRunningRuns() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: SweepRunTests.sweepYAML.replacingOccurrences(of: "seed: [2, 3]", with: "seed: [2]"), source: "sweep.yaml")
        let runner = try SweepRunner(plan: plan, directory: folder.path, workers: 1)
        _ = try Experiment(directory: runner.path(of: plan.runs[0]), config: plan.runs[0].config).run(
            data: nil, workers: 1, report: { _ in }, shouldStop: { true })
        #expect(runner.status(of: plan.runs[0]) == "partial 1/2")
        let held = try Experiment(directory: runner.path(of: plan.runs[0]), config: plan.runs[0].config)
        #expect(try held.lock() == .acquired)
        #expect(runner.status(of: plan.runs[0]) == "running (pid \(getpid()))")
        var other = plan.runs[1].config
        other.seed = 9
        try AtomicFile.write(other.yaml(), to: runner.path(of: plan.runs[1]) + "/config.yaml")
        #expect(runner.status(of: plan.runs[1]).hasPrefix("refused (") && runner.status(of: plan.runs[1]).contains("holds a different run"))
    }

    @Test func theSweepETAIsTheRoundsLeftAtTheRateSoFar() {
        let start = Date(timeIntervalSince1970: 0)
        let progress = SweepProgress(remaining: 10, started: start)
        #expect(progress.roundDone(now: start.addingTimeInterval(60)) == "0:09:00")  // 9 rounds left at 60 s each
        progress.skip(rounds: 4)
        #expect(progress.roundDone(now: start.addingTimeInterval(120)) == "0:04:00")  // 4 left at 60 s
    }
}
