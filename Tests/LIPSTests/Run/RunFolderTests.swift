import Foundation
import Testing
@testable import LIPS

/// The run folder's files: atomic writes, the checkpoint container, metrics files, Ctrl-C.
@Suite struct RunFolderTests {
    // MARK: - AtomicFile

    @Test func atomicWriteReplacesContentAndLeavesNoTemporaryFiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let path = folder.file("nested/deeper/out.txt")
        try AtomicFile.write("first version, longer than the second\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first version, longer than the second\n")
        try AtomicFile.write([0x68, 0x69], to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "hi")
        try AtomicFile.write(Data(), to: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
        let listing = try FileManager.default.contentsOfDirectory(atPath: folder.file("nested/deeper"))
        #expect(listing == ["out.txt"])
    }

    @Test func atomicWriteErrorsNameThePath() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try folder.write("plain", [1])
        expectUserError("plain", "not a folder") { try AtomicFile.write("x", to: folder.file("plain/inside.txt")) }
        #expect(throws: UserError.self) { try AtomicFile.write("x", to: folder.path + "/") }
    }

    // MARK: - CheckpointArchive

    @Test func archiveRoundTripsEverySectionType() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        struct State: Codable, Equatable { var round: Int; var name: String; var values: [Double] }
        var archive = CheckpointArchive()
        archive.add("floats", floats: [1.5, -0.0, .infinity, .leastNonzeroMagnitude, 3.14159])
        archive.add("bytes", bytes: [0, 255, 7])
        archive.add("empty", bytes: [])
        archive.add("halves", uint16s: [0x3C00, 0xFFFF, 0])
        archive.add("words", uint64s: [0, .max, 0x0123_4567_89AB_CDEF])
        try archive.add("state", json: State(round: 3, name: "lips", values: [0.1, 1e-300]))
        archive.add("bytes", bytes: [9])  // replaces, keeps the position
        let path = folder.file("run/checkpoint.bin")
        try archive.write(to: path)

        let read = try CheckpointArchive.read(from: path)
        #expect(read.names == ["floats", "bytes", "empty", "halves", "words", "state"])
        #expect(read.source == path)
        let floats = try read.floats("floats", count: 5)
        #expect(floats.map(\.bitPattern) == [1.5, -0.0, .infinity, .leastNonzeroMagnitude, 3.14159].map { (value: Float) in value.bitPattern })
        #expect(try read.bytes("bytes") == [9])
        #expect(try read.bytes("empty", count: 0) == [])
        #expect(try read.floats("empty") == [])
        #expect(try read.uint16s("halves") == [0x3C00, 0xFFFF, 0])
        #expect(try read.uint64s("words", count: 3) == [0, .max, 0x0123_4567_89AB_CDEF])
        #expect(try read.json("state", as: State.self) == State(round: 3, name: "lips", values: [0.1, 1e-300]))
        #expect(read.encoded() == archive.encoded())
    }

    @Test func archiveLayoutIsTheDocumentedOne() throws {
        var archive = CheckpointArchive()
        archive.add("ab", bytes: [7])
        let bytes = archive.encoded()
        let expected: [UInt8] = Array("LIPSCKPT".utf8) + [1, 0, 0, 0] + [1, 0, 0, 0] + [2, 0, 0, 0] + Array("ab".utf8)
            + [1, 0, 0, 0, 0, 0, 0, 0] + [7]
        #expect(Array(bytes.dropLast(4)) == expected)
        #expect(bytes.count == expected.count + 4)
    }

    @Test func archiveHoldsTenMillionFloats() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let count = 10_000_000
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = Float(i) * 0.25 - 7 }
            initialized = count
        }
        var archive = CheckpointArchive()
        archive.add("global.parameters", floats: values)
        archive.add("after", uint64s: [42])
        let path = folder.file("big.bin")
        try archive.write(to: path)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == 16 + (4 + 17 + 8 + 4 * count) + (4 + 5 + 8 + 8) + 4)
        let read = try CheckpointArchive.read(from: path)
        let back = try read.floats("global.parameters", count: count)
        #expect(back.withUnsafeBytes { a in values.withUnsafeBytes { b in a.elementsEqual(b) } })
        #expect(try read.uint64s("after") == [42])
    }

    @Test func archiveErrorsSayWhatIsWrong() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var archive = CheckpointArchive()
        archive.add("global.parameters", floats: [Float](repeating: 1, count: 10))
        archive.add("odd", bytes: [1, 2, 3])
        let good = archive.encoded()
        func message(_ bytes: [UInt8], _ name: String) -> String {
            let path = folder.file(name)
            let message = userErrorMessage {
                try folder.write(name, bytes)
                _ = try CheckpointArchive.read(from: path)
            } ?? "no error"
            #expect(message.hasPrefix(path + ": "), "\(message)")
            return message
        }

        #expect(message(Array(good.prefix(12)), "short.bin").contains("truncated (12 bytes, header and checksum need 20)"))
        let cut = message(Array(good.dropLast(10)), "cut.bin")
        #expect(cut.contains("truncated or corrupt (\(good.count - 10) bytes, but section 2 of 2 needs at least 104)"), "\(cut)")
        var flipped = good
        flipped[50] ^= 0x01  // inside the floats
        #expect(message(flipped, "flipped.bin").hasSuffix("bad checksum (the file is corrupt)"))
        var length = good
        length[40] ^= 0x01  // the byte count of 'global.parameters'
        #expect(message(length, "length.bin").contains("truncated or corrupt"))
        var checksumFlipped = good
        checksumFlipped[good.count - 1] ^= 0x80
        #expect(message(checksumFlipped, "tail.bin").contains("bad checksum"))
        var magic = good
        magic[0] = UInt8(ascii: "X")
        #expect(message(magic, "magic.bin").contains("not a lips checkpoint"))
        var version = good
        version[8] = 2
        #expect(message(version, "version.bin").contains("format version 2, this lips reads version 1"))
        #expect(message(Array("hello".utf8), "text.bin").contains("truncated"))
        let missingFile = folder.file("absent.bin")
        expectUserError("absent.bin") { _ = try CheckpointArchive.read(from: missingFile) }

        let read = try CheckpointArchive.read(from: { try folder.write("good.bin", good); return folder.file("good.bin") }())
        let missing = #expect(throws: UserError.self) { try read.floats("global.statistics") }
        #expect(missing?.message == "\(folder.file("good.bin")): section 'global.statistics' missing")
        let wrongCount = #expect(throws: UserError.self) { try read.floats("global.parameters", count: 12) }
        #expect(wrongCount?.message == "\(folder.file("good.bin")): 'global.parameters' holds 10 floats, expected 12")
        expectUserError("holds 3 bytes, not a whole number of floats") { _ = try read.floats("odd") }
        expectUserError("section 'odd' does not hold a valid") { _ = try read.json("odd", as: [Int].self) }
    }

    // MARK: - Metrics files

    static let rounds = [
        RoundMetrics(round: 0, method: "lips", density: 1, receivedDensity: 0.1 + 0.2, clientsTrained: 100,
                     trainLoss: 2.302585092994046, trainAccuracy: 0.1, personalizedAccuracy: nil, denseAccuracy: nil,
                     globalAccuracy: nil, bytesUplinked: 493_600_000, secondsTraining: 40.123456789,
                     secondsEvaluation: 0, seconds: 40.5),
        RoundMetrics(round: 1, method: "fed,\"avg\"", density: .leastNonzeroMagnitude, receivedDensity: 1e-7, clientsTrained: 3,
                     trainLoss: 1e300, trainAccuracy: 1, personalizedAccuracy: 0.734, denseAccuracy: 1.0 / 3.0,
                     globalAccuracy: 0.5, personalizedAccuracyStd: 0.1 + 0.2, personalizedAccuracyMin: 0,
                     personalizedAccuracyP10: 0.325, personalizedLoss: 2.5e-300, denseLoss: 1e308,
                     bytesUplinked: 0, bytesDownlinked: 1 << 60, secondsTraining: 1e16, secondsEvaluation: 9.3, seconds: 49),
    ]

    static let layers = [
        LayerMetrics(round: 0, layer: "layer1.0.conv1.weight", relativeUpdate: 0.012, l1ToReference: nil,
                     l2ToReference: nil, cosineToReference: nil, gradientNorm: 1.25, gradientDiversity: 0.5,
                     receivedDensity: 1),
        LayerMetrics(round: 1, layer: "fc.weight", relativeUpdate: 1.0 / 7.0, l1ToReference: 12.5,
                     l2ToReference: 0.1 + 0.7, cosineToReference: -0.99999, gradientNorm: 0,
                     gradientDiversity: 2.5e-8, receivedDensity: 0.3),
    ]

    @Test func metricsJSONLinesRoundTripWithNilFields() throws {
        let text = MetricsFiles.jsonLines(Self.rounds)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("{\"round\": 0, \"method\": \"lips\", \"density\": 1.0, \"received_density\": 0.30000000000000004, "))
        #expect(lines[0].contains("\"personalized_accuracy\": null, \"dense_accuracy\": null, \"global_accuracy\": null"))
        #expect(lines[1].contains("\"method\": \"fed,\\\"avg\\\"\""))
        #expect(lines[1].hasSuffix("\"seconds\": 49.0}"))
        let keys = try lines.map { line in
            try (JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]).map { Set($0.keys) }
        }
        #expect(keys.allSatisfy { $0 == Set(MetricsFiles.roundColumns) })
        #expect(try MetricsFiles.readJSONLines(text) == Self.rounds)
        #expect(try MetricsFiles.readJSONLines("\n" + text.replacingOccurrences(of: "\n", with: "\r\n\n  \n")) == Self.rounds)
        #expect(try MetricsFiles.readJSONLines(text.replacingOccurrences(of: "\n", with: "\r\n")) == Self.rounds)
    }

    @Test func metricsCSVRoundTripWithNilFields() throws {
        let text = MetricsFiles.csv(Self.rounds)
        #expect(text.hasPrefix("round,method,density,received_density,clients_trained,train_loss,train_accuracy,personalized_accuracy,dense_accuracy,global_accuracy,personalized_accuracy_std,personalized_accuracy_min,personalized_accuracy_p10,personalized_loss,dense_loss,bytes_uplink,bytes_downlink,seconds_training,seconds_evaluation,seconds\n"))
        #expect(text.split(separator: "\n")[1] == "0,lips,1.0,0.30000000000000004,100,2.302585092994046,0.1,,,,,,,,,493600000,,40.123456789,0.0,40.5")
        #expect(text.split(separator: "\n")[2].hasSuffix(",0.5,0.30000000000000004,0.0,0.325,2.5e-300,1e+308,0,1152921504606846976,1e+16,9.3,49.0"))
        #expect(try MetricsFiles.readCSV(text) == Self.rounds)

        let layers = MetricsFiles.layersCSV(Self.layers)
        #expect(layers.hasPrefix("round,layer,relative_update,l1_to_reference,l2_to_reference,cosine_to_reference,gradient_norm,gradient_diversity,received_density\n"))
        #expect(layers.split(separator: "\n")[1] == "0,layer1.0.conv1.weight,0.012,,,,1.25,0.5,1.0")
        #expect(try MetricsFiles.readLayersCSV(layers) == Self.layers)
        #expect(try MetricsFiles.readLayersCSV(layers.replacingOccurrences(of: "\n", with: "\r\n") + "\n\n") == Self.layers)
        #expect(MetricsFiles.csv([]) == MetricsFiles.roundColumns.joined(separator: ",") + "\n")
        #expect(try MetricsFiles.readCSV("") == [])
    }

    @Test func metricsNonFiniteValuesStayReadable() throws {
        var row = Self.rounds[0]
        row.trainLoss = .nan
        row.trainAccuracy = .infinity
        let json = MetricsFiles.jsonLines([row])
        #expect(json.contains("\"train_loss\": null, \"train_accuracy\": null"))
        #expect(try MetricsFiles.readJSONLines(json)[0].trainLoss.isNaN)
        let csv = MetricsFiles.csv([row])
        #expect(csv.contains(",nan,inf,"))
        let back = try MetricsFiles.readCSV(csv)[0]
        #expect(back.trainLoss.isNaN && back.trainAccuracy == .infinity)
    }

    @Test func metricsReadErrorsNameTheLine() throws {
        let good = MetricsFiles.jsonLines(Self.rounds)
        let broken = #expect(throws: UserError.self) { try MetricsFiles.readJSONLines(good + "\n{\"round\": 2, oops}\n") }
        #expect(broken?.message.hasPrefix("line 4: not a JSON object") == true)
        let missing = #expect(throws: UserError.self) {
            try MetricsFiles.readJSONLines(good.replacingOccurrences(of: "\"train_loss\": 2.302585092994046, ", with: ""))
        }
        #expect(missing?.message == "line 1: 'train_loss' missing")
        let wrongType = #expect(throws: UserError.self) {
            try MetricsFiles.readJSONLines(good.replacingOccurrences(of: "\"round\": 1,", with: "\"round\": 1.5,"))
        }
        #expect(wrongType?.message == "line 2: 'round' should be a whole number, found 1.5")

        let layers = MetricsFiles.layersCSV(Self.layers)
        let short = #expect(throws: UserError.self) { try MetricsFiles.readLayersCSV(layers + "2,fc.weight,0.5\n") }
        #expect(short?.message == "line 4: 3 fields, the header has 9")
        let notNumber = #expect(throws: UserError.self) {
            try MetricsFiles.readLayersCSV(layers.replacingOccurrences(of: ",1.25,", with: ",fast,"))
        }
        #expect(notNumber?.message == "line 2: 'gradient_norm' should be a number, found \"fast\"")
        let noColumn = #expect(throws: UserError.self) {
            try MetricsFiles.readLayersCSV(layers.replacingOccurrences(of: "gradient_norm", with: "grad"))
        }
        #expect(noColumn?.message == "line 1: the header has no 'gradient_norm' column")
    }

    @Test func metricsFilesAreWrittenIntoTheRunFolder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let run = folder.file("runs/a")
        try MetricsFiles.write(rounds: Self.rounds, layers: Self.layers, to: run)
        let names = try FileManager.default.contentsOfDirectory(atPath: run).sorted()
        #expect(names == ["layers.csv", "metrics.csv", "metrics.jsonl"])
        let read = try MetricsFiles.read(from: run)
        #expect(read.rounds == Self.rounds)
        #expect(read.layers == Self.layers)
        #expect(try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8) == MetricsFiles.csv(Self.rounds))
        try AtomicFile.write("{}\n", to: run + "/metrics.jsonl")
        let error = #expect(throws: UserError.self) { try MetricsFiles.read(from: run) }
        #expect(error?.message == "\(run)/metrics.jsonl: line 1: 'round' missing")
    }

    // MARK: - StopSignal

    /// Touches the process-wide flag only between `raise` and `reset` (microseconds): other
    /// suites (ExperimentTests) read and set it while running in parallel.
    @Test func firstSignalOnlyRequestsAStop() {
        StopSignal.install()
        defer { StopSignal.uninstall() }
        // Test threads are dispatch workers, which block signals: unblock SIGINT on this thread
        // so raise(3) runs the handler before it returns, then put the mask back.
        var interrupt = sigset_t(), previous = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &interrupt, &previous)
        raise(SIGINT)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let requested = StopSignal.requested
        StopSignal.reset()
        #expect(requested)
    }
}
