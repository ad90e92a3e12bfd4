/// A run's state after a finished round: the simulation snapshot plus the metrics rows so far, in
/// one `CheckpointArchive` written atomically (`checkpoint.bin`), so a resume never pairs weights
/// of one round with metrics of another.
public struct Checkpoint: Sendable {
    public var snapshot: SimulationSnapshot
    public var rounds: [RoundMetrics]
    public var layers: [LayerMetrics]

    public init(snapshot: SimulationSnapshot, rounds: [RoundMetrics], layers: [LayerMetrics]) {
        self.snapshot = snapshot
        self.rounds = rounds
        self.layers = layers
    }

    /// The small part, as JSON: the round, per-client flags and the metrics rows.
    struct State: Codable {
        var nextRound: Int
        var hasGradient: [Bool]
        var hasMask: [Bool]
        var hasLocal: [Bool]
        var rounds: [RoundMetrics]
        var layers: [LayerMetrics]
    }

    /// The archive: `state` (JSON) and one section per array, named after what it holds.
    public func archive() throws -> CheckpointArchive {
        let s = snapshot
        var archive = CheckpointArchive()
        try archive.add("state", json: State(nextRound: s.nextRound, hasGradient: s.clients.hasGradient,
                                             hasMask: s.clients.hasMask, hasLocal: s.clients.hasLocal,
                                             rounds: rounds, layers: layers))
        archive.add("global.parameters", floats: s.global)
        archive.add("global.statistics", floats: s.globalStatistics)
        archive.add("reference.parameters", floats: s.reference)
        archive.add("clients.masks", uint64s: s.clients.maskWords)
        archive.add("clients.local", floats: s.clients.localValues)
        archive.add("clients.gradients.fp16", uint16s: s.clients.halfGradients)
        archive.add("clients.gradients.fp32", floats: s.clients.singleGradients)
        return archive
    }

    /// Writes the checkpoint atomically.
    public func write(to path: String) throws {
        try archive().write(to: path)
    }

    /// Reads a checkpoint; a truncated, damaged or foreign file is a one-line `UserError`.
    public static func read(from path: String) throws -> Checkpoint {
        let archive = try CheckpointArchive.read(from: path)
        let state = try archive.json("state", as: State.self)
        let clients = ClientStoreSnapshot(
            hasGradient: state.hasGradient, hasMask: state.hasMask, hasLocal: state.hasLocal,
            maskWords: try archive.uint64s("clients.masks"), localValues: try archive.floats("clients.local"),
            halfGradients: try archive.uint16s("clients.gradients.fp16"),
            singleGradients: try archive.floats("clients.gradients.fp32"))
        let snapshot = SimulationSnapshot(
            nextRound: state.nextRound, global: try archive.floats("global.parameters"),
            globalStatistics: try archive.floats("global.statistics"),
            reference: try archive.floats("reference.parameters"), clients: clients)
        return Checkpoint(snapshot: snapshot, rounds: state.rounds, layers: state.layers)
    }
}
