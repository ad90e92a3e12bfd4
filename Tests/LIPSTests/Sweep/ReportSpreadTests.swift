import Foundation
import Testing
@testable import LIPS

/// `lips report`'s client spread and byte totals and `lips plot --metric`, on the shared sweep of
/// `SweepRunTests` (FedAvg and LIPS × seeds 2 and 3, two rounds).
@Suite struct ReportSpreadTests {
    @Test func theReportHoldsTheClientSpreadAndByteTotalsOfTheRuns() throws {
        let fixture = try SweepRunTests.fixture.get()
        let collection = try RunCollection.load([fixture.directory])
        let report = SweepReport(collection)
        let csvRows = try MetricsFiles.csvRecords(report.csv())
        let header = csvRows[0].fields
        for (index, method) in ["fedavg", "lips"].enumerated() {
            let runs = try ["2", "3"].map { seed in
                try MetricsFiles.readJSONLines(SweepRunTests.metricsText((fixture.directory as NSString).appendingPathComponent("method=\(method),seed=\(seed)")))
            }
            let row = report.rows[index]
            // Each run's last round's spread and each run's byte totals, averaged over the two seeds.
            let std = runs.map { $0.last!.personalizedAccuracyStd! }, p10 = runs.map { $0.last!.personalizedAccuracyP10! }
            let up = runs.map { Double($0.reduce(0) { $0 + $1.bytesUplinked }) }
            let down = runs.map { Double($0.reduce(0) { $0 + $1.bytesDownlinked! }) }
            #expect(row.finalClientStd == Spread(std) && row.finalClientP10 == Spread(p10))
            #expect(row.finalClientMin == Spread(runs.map { $0.last!.personalizedAccuracyMin! }))
            #expect(row.bytesUplink == Spread(up) && row.bytesDownlink == Spread(down))
            #expect(runs.allSatisfy { $0.last!.personalizedAccuracyMin! <= $0.last!.personalizedAccuracyP10! })
            // The CSV holds them bit for bit, by column name.
            let fields = csvRows[index + 1].fields
            func field(_ name: String) -> Double? { header.firstIndex(of: name).flatMap { Double(fields[$0]) } }
            #expect(field("final_client_std_mean") == row.finalClientStd?.mean && field("final_client_p10_std") == row.finalClientP10?.standardDeviation)
            #expect(field("bytes_uplink_mean") == up.reduce(0, +) / 2 && field("bytes_downlink_mean") == down.reduce(0, +) / 2)
            // Markdown: spread columns only when asked; bytes always.
            let plain = report.markdown(), spread = report.markdown(spread: true)
            #expect(!plain.contains("client p10") && spread.contains("| client std (%) | client min (%) | client p10 (%) | uplink | downlink |"))
            #expect(spread.contains(" | \(SweepReport.percent(row.finalClientStd)) | \(SweepReport.percent(row.finalClientMin)) | \(SweepReport.percent(row.finalClientP10)) | \(SweepReport.bytes(row.bytesUplink)) | \(SweepReport.bytes(row.bytesDownlink)) |"))
            #expect(plain.contains(" | \(SweepReport.bytes(row.bytesUplink)) | \(SweepReport.bytes(row.bytesDownlink)) |"))
        }
        // LIPS masks every round here (update_freq 1), so round 1's clients download less than FedAvg's.
        #expect(report.rows[1].bytesDownlink!.mean < report.rows[0].bytesDownlink!.mean)
        #expect(report.rows[0].bytesDownlink == report.rows[0].bytesUplink)
    }

    @Test func bytesAreWrittenInDecimalUnits() {
        #expect(SweepReport.bytes(Spread([999])) == "999 B")
        #expect(SweepReport.bytes(Spread([1_234_000])) == "1.23 MB")
        #expect(SweepReport.bytes(Spread([148_000_000_000, 150_000_000_000])) == "149.00 GB")
        #expect(SweepReport.bytes(nil) == "–")
    }

    @Test func runsFromBeforeTheNewFieldsReportDashes() throws {
        var config = ExperimentConfig()
        config.rounds = 1
        let old = RoundMetrics(round: 0, method: "fedavg", density: 1, receivedDensity: 1, clientsTrained: 2, trainLoss: 1,
                               trainAccuracy: 0.5, personalizedAccuracy: 0.5, denseAccuracy: 0.5, globalAccuracy: nil,
                               bytesUplinked: 800, secondsTraining: 1, secondsEvaluation: 1, seconds: 2)
        let run = RunRecord(name: "old", directory: "old", config: config, rounds: [old], layers: [])
        #expect(run.finalClientSpread == nil && run.totalBytesDownlink == nil && run.totalBytesUplink == 800)
        let report = SweepReport(RunCollection(varied: [], runs: [run]))
        #expect(report.markdown(spread: true).contains("| 50.00 | – | – | – | 800 B | – |"))
    }

    @Test func plotDrawsAnyMetricColumnAndNamesTheValidOnesForAnUnknownOne() throws {
        let fixture = try SweepRunTests.fixture.get()
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let collection = try RunCollection.load([fixture.directory])
        let paths = try SweepPlots.write(collection, to: folder.path, metric: "personalized_accuracy_p10")
        #expect(paths.map { ($0 as NSString).lastPathComponent } == ["personalized_accuracy_p10.svg", "inertia.svg", "density.svg"])
        let svg = try SVGElements(file: folder.file("personalized_accuracy_p10.svg"))
        let series = svg.elements.filter { $0.name == "polyline" && $0.attributes["class"] == "series" }
        #expect(series.compactMap { $0.attributes["data-method"] }.sorted() == ["fedavg", "lips"])
        #expect(series.allSatisfy { ($0.attributes["points"] ?? "").split(separator: " ").count == 2 })
        #expect(svg.texts.contains("personalized_accuracy_p10"))
        // The default is today's picture.
        #expect(try SweepPlots.metric(collection, column: "personalized_accuracy") == SweepPlots.accuracy(collection))
        let message = userErrorMessage { _ = try SweepPlots.write(collection, to: folder.path, metric: "accuracy") }
        #expect(message == "unknown metric 'accuracy'; valid: " + MetricsFiles.metricColumns.joined(separator: ", "))
        #expect(message?.contains("bytes_downlink") == true && message?.contains("dense_loss") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.file("accuracy.svg")))
        expectUserError("unknown metric 'round'") { _ = try SweepPlots.metric(collection, column: "round") }
    }
}
