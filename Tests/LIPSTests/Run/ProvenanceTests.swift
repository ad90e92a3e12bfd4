import Foundation
import Testing
@testable import LIPS

/// `provenance.json` (one session per `lips run` that trains), `lips --version`'s commit, and the
/// progress line's round names.
@Suite struct ProvenanceTests {
    static func sessions(_ folder: TemporaryFolder) throws -> [Provenance.Session] {
        let (provenance, readable) = Provenance.read(from: folder.path)
        #expect(readable)
        return provenance.sessions
    }

    @Test func eachSessionIsRecordedWithItsStartEndWorkersAndEngine() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        let config = ExperimentConfig.withWorkersZero(ExperimentTests.config(rounds: 3))
        var stop = false
        let first = try Experiment(directory: folder.path, config: config).run(
            data: SimulationTests.data, workers: 2, report: { if $0.hasPrefix("round 1/") { stop = true } }, shouldStop: { stop })
        #expect(first == .interrupted(round: 1))
        var sessions = try Self.sessions(folder)
        #expect(sessions.count == 1)
        let session = try #require(sessions.first)
        #expect(session.engineVersion == EngineVersion.number && session.engineCommit == EngineVersion.commit)
        #expect(session.workers == 2 && session.ranks == 1 && session.firstRound == 0)
        #expect(session.outcome == "stopped" && session.roundsDone == 1 && session.ended != nil)
        #expect(session.host == HostDescription.name && !session.blasCore.isEmpty && session.blas.contains("OpenBLAS"))
        #expect(session.avx512Used == BLASKernel.usesAVX512(coreName: BLASKernel.coreName))
        // config.yaml keeps what the user wrote (workers: 0); the provenance has the count used.
        #expect(try ExperimentConfig.load(file: folder.file("config.yaml")).workers == 0)

        // A resume appends a session; a rerun of the finished run trains nothing and adds none.
        try Experiment(directory: folder.path, config: nil).run(data: SimulationTests.data, workers: 1)
        try Experiment(directory: folder.path, config: nil).run(data: SimulationTests.data, workers: 1)
        sessions = try Self.sessions(folder)
        #expect(sessions.map(\.firstRound) == [0, 1])
        #expect(sessions.map(\.outcome) == ["stopped", "finished"])
        #expect(sessions.map(\.roundsDone) == [1, 3])
        #expect(sessions.map(\.workers) == [2, 1])
        #expect(sessions[1].started >= sessions[0].started)
    }

    /// A session killed outright keeps its start and no end; the next one is appended after it,
    /// and a session of another engine version is kept as it was written.
    @Test func aKilledSessionHasNoEndAndOtherVersionsAreKept() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        var old = Provenance.currentSession(workers: 4, ranks: 2, firstRound: 0)
        old.engineVersion = "0.0.9"
        old.engineCommit = "unknown"
        try AtomicFile.write(try Provenance(sessions: [old]).json(), to: folder.file(Provenance.file))
        let text = try String(contentsOfFile: folder.file(Provenance.file), encoding: .utf8)
        #expect(text.contains("\"engine_version\" : \"0.0.9\"") && !text.contains("\"ended\""))
        try Experiment(directory: folder.path, config: ExperimentTests.config(rounds: 1)).run(data: SimulationTests.data, workers: 1)
        let sessions = try Self.sessions(folder)
        #expect(sessions.count == 2 && sessions[0] == old)
        #expect(Provenance(sessions: sessions).engineVersions == ["0.0.9 (commit unknown)", EngineVersion.description])
    }

    @Test func anUnreadableProvenanceDoesNotStopARun() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try AtomicFile.write("{ not json", to: folder.file(Provenance.file))
        #expect(Provenance.read(from: folder.path).readable == false)
        try Experiment(directory: folder.path, config: ExperimentTests.config(rounds: 1)).run(data: SimulationTests.data, workers: 1)
        #expect(try Self.sessions(folder).count == 1)
    }

    /// Built from a git checkout (as the tests are), the binary carries HEAD's commit.
    @Test func theCommitIsTheCheckoutsHead() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", root.path, "rev-parse", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        guard (try? git.run()) != nil else { return }  // no git here: nothing to compare with
        git.waitUntilExit()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard git.terminationStatus == 0 else { return }  // not a checkout (a tarball): "unknown" is right
        #expect(EngineVersion.commit == head)
        #expect(EngineVersion.description == "\(EngineVersion.number) (commit \(head))")
    }

    @Test func progressNamesBothRoundNumbersAndTheETAInHours() throws {
        #expect(Experiment.duration(0) == "0:00:00")
        #expect(Experiment.duration(245) == "0:04:05")
        #expect(Experiment.duration(27 * 3600 + 61) == "27:01:01")
        #expect(Experiment.duration(.nan) == "?")
        // A row written elsewhere in the tests (its fields do not matter here but the round and seconds).
        var row = try #require(RunFolderTests.rounds.first)
        row.round = 2
        row.seconds = 10
        let line = Experiment.progressLine(row, rounds: [row], total: 20)
        #expect(line.hasPrefix("round 3/20 (metrics round 2)  "))
        #expect(line.hasSuffix("ETA 0:02:50"))
    }
}

extension ExperimentConfig {
    /// `config` with `workers: 0` (one per core, resolved by the run).
    static func withWorkersZero(_ config: ExperimentConfig) -> ExperimentConfig {
        var config = config
        config.workers = 0
        return config
    }
}
