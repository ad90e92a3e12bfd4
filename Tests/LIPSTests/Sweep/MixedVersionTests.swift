import Foundation
import Testing
@testable import LIPS

/// `lips report` and `lips plot` note a group whose runs were made by several engine versions.
@Suite struct MixedVersionTests {
    /// A run folder with a config, a few metric rows and a provenance of `versions` (one session each).
    static func makeRun(_ folder: String, seed: UInt64, versions: [String]) throws {
        var config = ExperimentTests.config(rounds: 2)
        config.seed = seed
        try AtomicFile.write(config.yaml(), to: folder + "/config.yaml")
        try MetricsFiles.write(rounds: RunFolderTests.rounds, layers: RunFolderTests.layers, to: folder)
        let sessions = versions.map { version -> Provenance.Session in
            var session = Provenance.currentSession(workers: 1, ranks: 1, firstRound: 0)
            session.engineVersion = version
            return session
        }
        if !sessions.isEmpty { try AtomicFile.write(try Provenance(sessions: sessions).json(), to: folder + "/" + Provenance.file) }
    }

    @Test func aGroupMixingEngineVersionsGetsOneNote() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Self.makeRun(folder.file("a"), seed: 2, versions: ["0.1.0"])
        try Self.makeRun(folder.file("b"), seed: 3, versions: ["0.1.0", "0.2.0"])  // resumed by a newer engine
        try Self.makeRun(folder.file("c"), seed: 4, versions: [])                   // made before provenance existed
        let notes = try RunCollection.load([folder.path]).notes.filter { $0.contains("engine versions") }
        #expect(notes.count == 1)
        #expect(notes.first?.contains("2 engine versions (0.1.0 (commit ") == true)
        #expect(notes.first?.contains("0.2.0") == true && notes.first?.contains("\n") == false)
    }

    @Test func oneVersionGetsNoNote() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        try Self.makeRun(folder.file("a"), seed: 2, versions: ["0.1.0"])
        try Self.makeRun(folder.file("b"), seed: 3, versions: ["0.1.0", "0.1.0"])
        #expect(try RunCollection.load([folder.path]).notes.allSatisfy { !$0.contains("engine versions") })
    }
}
