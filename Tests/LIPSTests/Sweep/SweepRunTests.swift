import Foundation
import Testing
@testable import LIPS
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A 2 × 2 sweep (method × seed) on tiny synthetic data, run once and shared: its folders, a
/// rerun that skips, shards that add up to it, the report's numbers and the plots.
@Suite struct SweepRunTests {
    static let sweepYAML = """
        base:
          dataset: synthetic
          synthetic_shape: 3x8x8
          synthetic_classes: 4
          synthetic_train: 200
          synthetic_test: 100
          model: cnn
          clients: 4
          train_num: 10
          test_num: 10
          alpha: 0.5
          rounds: 2
          local_epochs: 1
          batch_size: 10
          lr: 0.05
          update_d: 0.5
          update_freq: 1
          reference_round: 1
          checkpoint_every: 1
        grid:
          method: [fedavg, lips]
          seed: [2, 3]
        """

    static let names = ["method=fedavg,seed=2", "method=fedavg,seed=3", "method=lips,seed=2", "method=lips,seed=3"]

    /// The whole sweep, run once for every test that reads it (tests run in parallel; a static
    /// is initialised once). Its temporary folder is small and left behind.
    struct Fixture: Sendable {
        let directory: String
        let plan: SweepPlan
        let summary: SweepRunner.Summary
    }

    struct FixtureError: Error { let message: String }

    static let fixture: Result<Fixture, FixtureError> = {
        do {
            let folder = try TemporaryFolder("sweepFixture")
            let plan = try SweepPlan.load(yaml: sweepYAML, source: "sweep.yaml")
            let summary = try SweepRunner(plan: plan, directory: folder.path, workers: 1).run(shouldStop: { false })
            return .success(Fixture(directory: folder.path, plan: plan, summary: summary))
        } catch {
            return .failure(FixtureError(message: "\(error)"))
        }
    }()

    static func metricsText(_ folder: String) throws -> String {
        try String(contentsOfFile: (folder as NSString).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    }

    static func withoutTimings(_ rows: [RoundMetrics]) -> [RoundMetrics] { ExperimentTests.withoutTimings(rows) }

    // MARK: - Sweep

    @Test func theSweepFillsOneFolderPerRun() throws {
        let fixture = try Self.fixture.get()
        #expect(fixture.summary.finished == Self.names && fixture.summary.skipped.isEmpty)
        let listing = try FileManager.default.contentsOfDirectory(atPath: fixture.directory).sorted()
        #expect(listing == (Self.names + ["sweep.yaml"]).sorted())
        for (name, run) in zip(Self.names, fixture.plan.runs) {
            let folder = (fixture.directory as NSString).appendingPathComponent(name)
            #expect(try ExperimentConfig.load(file: folder + "/config.yaml").identity() == run.config.identity())  // workers (runtime) set by the runner
            let rows = try MetricsFiles.readJSONLines(Self.metricsText(folder))
            #expect(rows.map(\.round) == [0, 1])
            #expect(rows.allSatisfy { $0.method == run.config.method.rawValue })
            #expect(FileManager.default.fileExists(atPath: folder + "/checkpoint.bin"))
        }
        #expect(try SweepManifest.read(from: fixture.directory) == SweepManifest(source: "sweep.yaml", varied: ["method", "seed"], runs: Self.names))
    }

    @Test func aRerunSkipsFinishedRunsAndLeavesThemUntouched() throws {
        let fixture = try Self.fixture.get()
        // A copy of the shared sweep: the rerun rewrites sweep.yaml, which the other tests list
        // and read concurrently.
        let copy = try TemporaryFolder()
        defer { copy.cleanup() }
        let directory = (copy.path as NSString).appendingPathComponent("sweep")
        try FileManager.default.copyItem(atPath: fixture.directory, toPath: directory)
        let before = try Self.names.map { try Self.metricsText((directory as NSString).appendingPathComponent($0)) }
        let dates = try Self.names.map {
            try FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent($0) + "/metrics.jsonl")[.modificationDate] as? Date
        }
        let lines = LineLog()
        let summary = try SweepRunner(plan: fixture.plan, directory: directory).run(report: { lines.append($0) }, shouldStop: { false })
        #expect(summary.skipped == Self.names && summary.finished.isEmpty)
        #expect(lines.all.filter { $0.hasSuffix("already finished (2 rounds), skipped") }.count == 4)
        #expect(try Self.names.map { try Self.metricsText((directory as NSString).appendingPathComponent($0)) } == before)
        let after = try Self.names.map {
            try FileManager.default.attributesOfItem(atPath: (directory as NSString).appendingPathComponent($0) + "/metrics.jsonl")[.modificationDate] as? Date
        }
        #expect(after == dates)
    }

    @Test func twoShardsTogetherMakeTheWholeSweep() throws {
        let fixture = try Self.fixture.get()
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let first = try SweepRunner(plan: fixture.plan, directory: folder.path, shard: SweepShard(parsing: "0/2"), workers: 1)
            .run(shouldStop: { false })
        #expect(first.finished == ["method=fedavg,seed=2", "method=lips,seed=2"])
        let afterFirst = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != "sweep.yaml" }.sorted()
        #expect(afterFirst == first.finished)
        let second = try SweepRunner(plan: fixture.plan, directory: folder.path, shard: SweepShard(parsing: "1/2"), workers: 2)
            .run(shouldStop: { false })
        #expect(second.finished == ["method=fedavg,seed=3", "method=lips,seed=3"] && second.skipped.isEmpty)
        #expect(Set(first.finished).isDisjoint(with: second.finished))
        let listing = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(listing == (Self.names + ["sweep.yaml"]).sorted())
        // The same runs, the same results (timings aside), whatever the slicing and worker count.
        for name in Self.names {
            let whole = try MetricsFiles.readJSONLines(Self.metricsText((fixture.directory as NSString).appendingPathComponent(name)))
            let sliced = try MetricsFiles.readJSONLines(Self.metricsText(folder.file(name)))
            #expect(Self.withoutTimings(whole) == Self.withoutTimings(sliced), "\(name)")
        }
    }

    @Test func concurrentRunsGiveTheSameResults() throws {
        let fixture = try Self.fixture.get()
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: Self.sweepYAML.replacingOccurrences(of: "method: [fedavg, lips]", with: "method: [lips]"),
                                      source: "sweep.yaml")
        let runner = try SweepRunner(plan: plan, directory: folder.path, workers: 2, parallelRuns: 2)
        #expect(runner.workersPerRun == 1)
        let summary = try runner.run(shouldStop: { false })
        #expect(summary.finished == ["method=lips,seed=2", "method=lips,seed=3"])
        for name in summary.finished {
            let whole = try MetricsFiles.readJSONLines(Self.metricsText((fixture.directory as NSString).appendingPathComponent(name)))
            let parallel = try MetricsFiles.readJSONLines(Self.metricsText(folder.file(name)))
            #expect(Self.withoutTimings(whole) == Self.withoutTimings(parallel), "\(name)")
        }
    }

    @Test func anInterruptedSweepStopsAndResumes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: Self.sweepYAML.replacingOccurrences(of: "seed: [2, 3]", with: "seed: [2]"), source: "sweep.yaml")
        let lines = LineLog()
        // Stop asked for during the first run's first round, as Ctrl-C would.
        let stopped = try SweepRunner(plan: plan, directory: folder.path, workers: 1)
            .run(report: { lines.append($0) }, shouldStop: { lines.all.contains { $0.hasPrefix("round 1/") } })
        #expect(stopped.interrupted == ["method=fedavg,seed=2"] && stopped.notStarted == ["method=lips,seed=2"])
        #expect(!FileManager.default.fileExists(atPath: folder.file("method=lips,seed=2")))
        // The report counts the stopped run as it stands, and says so.
        let partial = try RunCollection.load([folder.path])
        #expect(partial.runs.map(\.name) == ["method=fedavg,seed=2"])
        #expect(partial.notes == [folder.file("method=fedavg,seed=2") + ": unfinished (1 of 2 rounds), counted as it stands",
                                  folder.file("method=lips,seed=2") + ": not started"])
        #expect(SweepReport(partial).markdown().contains("| fedavg | 1 | 2 | 1/2 | "))
        let runner = try SweepRunner(plan: plan, directory: folder.path, workers: 1)
        #expect(try runner.state(of: plan.runs[0]) == .partial(rounds: 1))
        let resumed = try runner.run(shouldStop: { false })
        #expect(resumed.finished == ["method=fedavg,seed=2", "method=lips,seed=2"] && resumed.resumed == ["method=fedavg,seed=2"])
        #expect(try runner.state(of: plan.runs[0]) == .finished)
    }

    /// A run whose folder another process holds is left to it; the sweep runs the others.
    @Test func aSweepSkipsARunAnotherProcessHolds() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: Self.sweepYAML.replacingOccurrences(of: "seed: [2, 3]", with: "seed: [2]"), source: "sweep.yaml")
        let held = try Experiment(directory: folder.file(plan.runs[0].name), config: plan.runs[0].config)
        #expect(try held.lock() == .acquired)
        let lines = LineLog()
        let summary = try SweepRunner(plan: plan, directory: folder.path, workers: 1)
            .run(report: { lines.append($0) }, shouldStop: { false })
        #expect(summary.busy == [plan.runs[0].name] && summary.finished == [plan.runs[1].name])
        #expect(lines.all.contains { $0.contains("\(plan.runs[0].name): in use by another lips process (pid \(getpid())), skipped") })
        #expect(!FileManager.default.fileExists(atPath: folder.file(plan.runs[0].name + "/metrics.jsonl")))
    }

    @Test func aFolderHoldingAnotherRunIsRefusedByName() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let plan = try SweepPlan.load(yaml: Self.sweepYAML.replacingOccurrences(of: "seed: [2, 3]", with: "seed: [2]"), source: "sweep.yaml")
        var other = plan.runs[0].config
        other.rounds = 5
        try AtomicFile.write(other.yaml(), to: folder.file("method=fedavg,seed=2/config.yaml"))
        let message = userErrorMessage { _ = try SweepRunner(plan: plan, directory: folder.path).run(shouldStop: { false }) } ?? ""
        #expect(message.hasPrefix("run method=fedavg,seed=2: "), "\(message)")
        #expect(message.contains("holds a different run (it has rounds: 5, asked rounds: 2)"), "\(message)")
    }

    // MARK: - Report

    @Test func theReportHoldsTheRunsOwnNumbers() throws {
        let fixture = try Self.fixture.get()
        let collection = try RunCollection.load([fixture.directory])
        #expect(collection.varied == ["method", "seed"] && collection.groupKeys == ["method"])
        #expect(collection.runs.map(\.name) == Self.names && collection.notes.isEmpty)
        let report = SweepReport(collection)
        #expect(report.keys == ["method"] && report.rows.map(\.values) == [["fedavg"], ["lips"]])

        // Recompute every number straight from the metrics files.
        func metrics(_ name: String) throws -> [RoundMetrics] {
            try MetricsFiles.readJSONLines(Self.metricsText((fixture.directory as NSString).appendingPathComponent(name)))
        }
        func meanAndStd(_ a: Double, _ b: Double) -> (Double, Double) { ((a + b) / 2, abs(a - b) / 2.squareRoot()) }
        let csvRows = try MetricsFiles.csvRecords(report.csv())
        #expect(csvRows[0].fields == ["method"] + SweepReport.csvColumns)
        for (index, method) in ["fedavg", "lips"].enumerated() {
            let a = try metrics("method=\(method),seed=2"), b = try metrics("method=\(method),seed=3")
            let row = report.rows[index]
            #expect(row.runs == 2 && row.seeds == ["2", "3"] && row.roundsDone == 2 && row.rounds == 2)
            let final = meanAndStd(try #require(a.last?.personalizedAccuracy), try #require(b.last?.personalizedAccuracy))
            let best = meanAndStd(try #require(a.compactMap(\.personalizedAccuracy).max()), try #require(b.compactMap(\.personalizedAccuracy).max()))
            let dense = meanAndStd(try #require(a.last?.denseAccuracy), try #require(b.last?.denseAccuracy))
            for (spread, expected) in [(row.finalAccuracy, final), (row.bestAccuracy, best), (row.finalDenseAccuracy, dense)] {
                let spread = try #require(spread)
                let std = try #require(spread.standardDeviation)
                #expect(abs(spread.mean - expected.0) < 1e-12 && abs(std - expected.1) < 1e-12)
            }
            // The CSV holds the same doubles, bit for bit; the Markdown the same in percent.
            let fields = csvRows[index + 1].fields
            #expect(fields[0] == method && fields[1] == "2" && fields[2] == "2 3")
            #expect(Double(fields[5]) == row.finalAccuracy?.mean && Double(fields[6]) == row.finalAccuracy?.standardDeviation)
            #expect(Double(fields[7]) == row.bestAccuracy?.mean && Double(fields[9]) == row.finalDenseAccuracy?.mean)
            #expect(report.markdown().contains("| \(method) | 2 | 2, 3 | 2 | \(SweepReport.percent(row.finalAccuracy)) | "))
        }
        #expect(report.markdown().split(separator: "\n").count == 4)
    }

    @Test func runFoldersGivenOneByOneFindTheirVariedKeys() throws {
        let fixture = try Self.fixture.get()
        let folders = ["method=fedavg,seed=2", "method=lips,seed=3"].map { (fixture.directory as NSString).appendingPathComponent($0) }
        let collection = try RunCollection.load(folders)
        #expect(collection.varied == ["method", "seed"])
        #expect(SweepReport(collection).rows.map(\.runs) == [1, 1])
        #expect(SweepReport(collection).rows[0].finalAccuracy?.standardDeviation == nil)
        let empty = try TemporaryFolder()
        defer { empty.cleanup() }
        expectUserError("neither a sweep folder") { _ = try RunCollection.load([empty.path]) }
        #expect(throws: UserError.self) { try RunCollection.load([empty.file("missing")]) }
    }

    // MARK: - Plots

    @Test func plotsAreValidSVGWithOneSeriesPerMethod() throws {
        let fixture = try Self.fixture.get()
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let collection = try RunCollection.load([fixture.directory])
        let paths = try SweepPlots.write(collection, to: folder.path)
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["accuracy.svg", "inertia.svg", "density.svg"])

        for name in ["accuracy.svg", "density.svg"] {
            let svg = try SVGElements(file: folder.file(name))
            #expect(svg.root == "svg")
            let series = svg.elements.filter { $0.name == "polyline" && $0.attributes["class"] == "series" }
            #expect(series.compactMap { $0.attributes["data-method"] }.sorted() == ["fedavg", "lips"], "\(name)")
            let bands = svg.elements.filter { $0.name == "polygon" && $0.attributes["class"] == "band" }
            #expect(bands.compactMap { $0.attributes["data-method"] }.sorted() == ["fedavg", "lips"], "\(name)")
            // Each line has one point per round.
            #expect(series.allSatisfy { ($0.attributes["points"] ?? "").split(separator: " ").count == 2 })
            #expect(svg.texts.contains("fedavg") && svg.texts.contains("lips") && svg.texts.contains("round"))
        }

        let inertia = try SVGElements(file: folder.file("inertia.svg"))
        let panels = inertia.elements.filter { $0.name == "g" && $0.attributes["class"] == "panel" }
        #expect(panels.compactMap { $0.attributes["data-method"] } == ["fedavg", "lips"])
        let cells = inertia.elements.filter { $0.attributes["class"] == "cell" }
        let layers = Set(collection.runs[0].layers.map(\.layer))
        #expect(cells.count == 2 * layers.count * 2)  // two panels × layers × two rounds
        // A cell holds the mean over seeds of that layer's relative update in that round.
        let lips = collection.runs.filter { $0.config.method == .lips }
        let first = try #require(lips[0].layers.first { $0.round == 1 })
        let second = try #require(lips[1].layers.first { $0.round == 1 && $0.layer == first.layer })
        let cell = try #require(cells.last { $0.attributes["data-layer"] == first.layer && $0.attributes["data-round"] == "1" })
        #expect(Double(try #require(cell.attributes["data-value"])) == (first.relativeUpdate + second.relativeUpdate) / 2)
    }
}

/// Lines reported from any thread, kept in order of arrival.
final class LineLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }
}

/// An SVG file parsed with Foundation's XMLParser: every element with its attributes, the text
/// content, and the root element's name. Parsing fails (throws) on anything that is not well-formed XML.
struct SVGElements {
    struct Element {
        let name: String
        let attributes: [String: String]
    }

    let root: String
    let elements: [Element]
    let texts: [String]

    init(file path: String) throws {
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else {
            throw UserError("\(path): not well-formed XML (\(parser.parserError.map { "\($0)" } ?? "unknown"))")
        }
        root = collector.elements.first?.name ?? ""
        elements = collector.elements
        texts = collector.texts
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var texts: [String] = []

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            elements.append(Element(name: elementName, attributes: attributeDict))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            let trimmed = string.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { texts.append(trimmed) }
        }
    }
}
