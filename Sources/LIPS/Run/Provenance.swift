import CHalf
import Foundation

/// `provenance.json` in a run folder: what made the run, one entry per session (each `lips run`
/// that trained rounds into the folder; a resume appends one). A session records the engine's
/// version and commit, the host, its processor and the instruction sets the kernels used, the
/// BLAS library and its kernels, the workers and MPI ranks actually used, the rounds it started
/// at, and its start and end times (UTC). The entry is written when the session starts and
/// rewritten when it ends (finished, stopped by a signal, or failed with an error); a session
/// killed outright keeps a start and no end.
///
/// Nothing in it feeds a result: the engine never reads it back except to append, `lips report`
/// reads only the versions (to warn when a group mixes them), and tests that compare run folders
/// bit for bit compare the metrics files, which it is not part of. Written atomically, like every
/// file of the folder.
public struct Provenance: Codable, Equatable, Sendable {
    public static let file = "provenance.json"

    /// One `lips run` (or one sweep's visit) that trained rounds into the folder.
    public struct Session: Codable, Equatable, Sendable {
        public var engineVersion: String
        public var engineCommit: String
        public var host: String
        public var cpu: String
        /// The instruction-set extensions among the ones the engine cares about that the CPU has
        /// (`avx2`, `fma`, `avx512f`, `f16c`), as `/proc/cpuinfo` names them.
        public var cpuFlags: [String]
        /// Whether the BLAS kernels are AVX-512 ones, and whether the fp16 gradient store used F16C.
        public var avx512Used: Bool
        public var f16cUsed: Bool
        /// `openblas_get_config()`: version, build options, chosen kernels.
        public var blas: String
        /// `openblas_get_corename()`: the kernel family ("SkylakeX", "Haswell", …).
        public var blasCore: String
        /// `OPENBLAS_CORETYPE` as set in the environment (by the user, or by lips' re-execution), or nil.
        public var openblasCoretype: String?
        /// Worker threads of this process (rank 0 with several ranks; the config's `workers: 0` resolved).
        public var workers: Int
        public var ranks: Int
        /// The first round this session ran (0-based, as in the metrics files).
        public var firstRound: Int
        /// ISO 8601 UTC times.
        public var started: String
        public var ended: String?
        /// How it ended: "finished", "stopped" (signal, checkpoint saved) or "error"; nil while running or when killed.
        public var outcome: String?
        /// Rounds done when it ended (the next round to run).
        public var roundsDone: Int?
    }

    public var sessions: [Session]

    enum CodingKeys: String, CodingKey { case sessions }

    public init(sessions: [Session] = []) { self.sessions = sessions }

    /// The JSON text: one key per line, keys sorted, so two files diff cleanly.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// The provenance of `directory`, empty when it has none. A file that does not read as
    /// provenance (edited by hand, or cut short by a disk that filled up outside `AtomicFile`) is
    /// not a reason to stop a run: its sessions are dropped, and `readable` says so.
    public static func read(from directory: String) -> (provenance: Provenance, readable: Bool) {
        let path = (directory as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: path) else { return (Provenance(), true) }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let provenance = try? decoder.decode(Provenance.self, from: data) else { return (Provenance(), false) }
        return (provenance, true)
    }

    /// The engine versions of its sessions ("0.1.0 (commit …)"), in order of first appearance.
    public var engineVersions: [String] {
        var seen: [String] = []
        for session in sessions {
            let version = "\(session.engineVersion) (commit \(session.engineCommit))"
            if !seen.contains(version) { seen.append(version) }
        }
        return seen
    }

    /// A session starting now in this process.
    public static func currentSession(workers: Int, ranks: Int, firstRound: Int, now: Date = Date()) -> Session {
        let cpuinfo = HostDescription.cpuinfo
        let flags = BLASKernel.processorFlags(cpuinfo: cpuinfo)
        let core = BLASKernel.coreName
        return Session(engineVersion: EngineVersion.number, engineCommit: EngineVersion.commit,
                       host: HostDescription.name, cpu: HostDescription.processorModel(cpuinfo: cpuinfo),
                       cpuFlags: ["avx2", "fma", "avx512f", "f16c"].filter(flags.contains),
                       avx512Used: BLASKernel.usesAVX512(coreName: core), f16cUsed: lips_half_uses_f16c() != 0,
                       blas: BLASKernel.configuration, blasCore: core,
                       openblasCoretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
                       workers: workers, ranks: ranks, firstRound: firstRound, started: timestamp(now))
    }

    /// "2026-12-02T22:04:26Z".
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// The session a run is writing: appended to the folder's provenance when it starts, its end
/// written when it ends. Only rank 0 keeps one.
final class ProvenanceLog {
    private let path: String
    private var provenance: Provenance

    /// Appends `session` to `directory`'s provenance and writes the file.
    init(directory: String, session: Provenance.Session) throws {
        path = (directory as NSString).appendingPathComponent(Provenance.file)
        provenance = Provenance.read(from: directory).provenance
        provenance.sessions.append(session)
        try write()
    }

    /// Records the session's end ("finished", "stopped", "error") with the rounds done by then.
    func end(_ outcome: String, roundsDone: Int, now: Date = Date()) throws {
        guard var session = provenance.sessions.popLast() else { return }
        session.ended = Provenance.timestamp(now)
        session.outcome = outcome
        session.roundsDone = roundsDone
        provenance.sessions.append(session)
        try write()
    }

    private func write() throws { try AtomicFile.write(try provenance.json(), to: path) }
}
