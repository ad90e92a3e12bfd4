import Foundation

/// A run's state after a finished round: the simulation snapshot plus the metrics rows so far, in
/// one `CheckpointArchive` written atomically (`checkpoint.bin`), so a resume never pairs weights
/// of one round with metrics of another.
///
/// A run across MPI ranks keeps its client state sharded: each rank writes the state of its own
/// clients to a shard file of its own (`shardName`), and rank 0 writes `checkpoint.bin` last, with
/// no client state but the names of the shards (`shards`). A shard lists the clients it holds, so
/// any rank count can read any set of shards: a rank keeps the clients it owns.
public struct Checkpoint: Sendable {
    public var snapshot: SimulationSnapshot
    public var rounds: [RoundMetrics]
    public var layers: [LayerMetrics]
    /// The `clients.csv` rows so far (empty in checkpoints written before it existed).
    public var clients: [ClientMetrics]
    /// The shard files holding the client state, relative to the checkpoint's folder (empty when
    /// `snapshot` holds it).
    public var shards: [String]
    /// The run's config as `ExperimentConfig.identity()` writes it (the keys that decide the
    /// results), so a resume can refuse a config edited since; nil in checkpoints written before.
    public var configIdentity: String?

    public init(snapshot: SimulationSnapshot, rounds: [RoundMetrics], layers: [LayerMetrics], clients: [ClientMetrics] = [],
                shards: [String] = [], configIdentity: String? = nil) {
        self.snapshot = snapshot
        self.rounds = rounds
        self.layers = layers
        self.clients = clients
        self.shards = shards
        self.configIdentity = configIdentity
    }

    /// The small part, as JSON: the round, per-client flags and the metrics rows.
    struct State: Codable {
        var nextRound: Int
        /// The clients whose flags and sections follow (absent before issue 15: all of them).
        var clients: [Int]?
        var hasGradient: [Bool]
        var hasMask: [Bool]
        var hasLocal: [Bool]
        var rounds: [RoundMetrics]
        var layers: [LayerMetrics]
        var shards: [String]?
        var config: String?
    }

    /// The archive: `state` (JSON) and one section per array, named after what it holds.
    public func archive() throws -> CheckpointArchive {
        let s = snapshot
        var archive = CheckpointArchive()
        try archive.add("state", json: State(nextRound: s.nextRound, clients: s.clients.clients,
                                             hasGradient: s.clients.hasGradient, hasMask: s.clients.hasMask,
                                             hasLocal: s.clients.hasLocal, rounds: rounds, layers: layers,
                                             shards: shards.isEmpty ? nil : shards, config: configIdentity))
        archive.add("global.parameters", floats: s.global)
        archive.add("global.statistics", floats: s.globalStatistics)
        archive.add("reference.parameters", floats: s.reference)
        archive.add("server.momentum", floats: s.serverMomentum)
        archive.add("server.control", floats: s.serverControl)
        Checkpoint.addClientSections(s.clients, to: &archive)
        ClientMetricsSection.add(clients, to: &archive)
        return archive
    }

    private static func addClientSections(_ clients: ClientStoreSnapshot, to archive: inout CheckpointArchive) {
        archive.add("clients.masks", uint64s: clients.maskWords)
        archive.add("clients.local", floats: clients.localValues)
        archive.add("clients.controls", floats: clients.controlValues)
        archive.add("clients.gradients.fp16", uint16s: clients.halfGradients)
        archive.add("clients.gradients.fp32", floats: clients.singleGradients)
    }

    private static func clientSections(_ archive: CheckpointArchive, clients: [Int], hasGradient: [Bool],
                                       hasMask: [Bool], hasLocal: [Bool]) throws -> ClientStoreSnapshot {
        ClientStoreSnapshot(
            clients: clients, hasGradient: hasGradient, hasMask: hasMask, hasLocal: hasLocal,
            maskWords: try archive.uint64s("clients.masks"), localValues: try archive.floats("clients.local"),
            controlValues: try archive.floatsIfPresent("clients.controls"),
            halfGradients: try archive.uint16s("clients.gradients.fp16"),
            singleGradients: try archive.floats("clients.gradients.fp32"))
    }

    /// Writes the checkpoint atomically.
    public func write(to path: String) throws {
        try archive().write(to: path)
    }

    /// Reads a checkpoint; a truncated, damaged or foreign file is a one-line `UserError`. With
    /// `mergingShards`, the client state of every shard it names is read into `snapshot` too.
    public static func read(from path: String, mergingShards: Bool = false) throws -> Checkpoint {
        let archive = try CheckpointArchive.read(from: path)
        let state = try archive.json("state", as: State.self)
        var clients = try clientSections(archive, clients: state.clients ?? Array(state.hasGradient.indices),
                                         hasGradient: state.hasGradient, hasMask: state.hasMask, hasLocal: state.hasLocal)
        let shards = state.shards ?? []
        if mergingShards {
            for shard in shards {
                let part = try readShard(shardPath(shard, besides: path), round: state.nextRound)
                clients.clients += part.clients
                clients.hasGradient += part.hasGradient
                clients.hasMask += part.hasMask
                clients.hasLocal += part.hasLocal
                clients.maskWords += part.maskWords
                clients.localValues += part.localValues
                clients.controlValues += part.controlValues
                clients.halfGradients += part.halfGradients
                clients.singleGradients += part.singleGradients
            }
        }
        let snapshot = SimulationSnapshot(
            nextRound: state.nextRound, global: try archive.floats("global.parameters"),
            globalStatistics: try archive.floats("global.statistics"),
            reference: try archive.floats("reference.parameters"),
            serverMomentum: try archive.floatsIfPresent("server.momentum"),
            serverControl: try archive.floatsIfPresent("server.control"), clients: clients)
        return Checkpoint(snapshot: snapshot, rounds: state.rounds, layers: state.layers,
                          clients: try ClientMetricsSection.read(archive),
                          shards: mergingShards ? [] : shards, configIdentity: state.config)
    }

    // MARK: Shards

    /// The folder of the shard files, next to `checkpoint.bin`.
    public static let shardFolder = "checkpoint.shards"

    /// The shard of rank `rank` of `ranks` after round `nextRound` − 1, relative to the run folder.
    /// The round is in the name so that a new set of shards never overwrites the set the current
    /// `checkpoint.bin` names.
    public static func shardName(nextRound: Int, rank: Int, ranks: Int) -> String {
        "\(shardFolder)/next\(nextRound)-rank\(rank)of\(ranks).bin"
    }

    static func shardPath(_ name: String, besides checkpointPath: String) -> String {
        ((checkpointPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
    }

    /// The sharded part of a checkpoint's state: the shard's round and the flags of its clients.
    struct ShardState: Codable {
        var nextRound: Int
        var clients: [Int]
        var hasGradient: [Bool]
        var hasMask: [Bool]
        var hasLocal: [Bool]
    }

    /// Writes one rank's client state (after round `nextRound` − 1) atomically to `path`.
    public static func writeShard(_ clients: ClientStoreSnapshot, nextRound: Int, to path: String) throws {
        var archive = CheckpointArchive()
        try archive.add("shard", json: ShardState(nextRound: nextRound, clients: clients.clients,
                                                  hasGradient: clients.hasGradient, hasMask: clients.hasMask,
                                                  hasLocal: clients.hasLocal))
        addClientSections(clients, to: &archive)
        try archive.write(to: path)
    }

    /// Reads a shard written for round `round` (the one its `checkpoint.bin` names); a shard of
    /// another round is a one-line `UserError`.
    public static func readShard(_ path: String, round: Int) throws -> ClientStoreSnapshot {
        guard FileManager.default.fileExists(atPath: path) else {
            throw UserError("\(path): checkpoint shard missing (the run folder must be the same shared folder on every rank)")
        }
        let archive = try CheckpointArchive.read(from: path)
        let state = try archive.json("shard", as: ShardState.self)
        guard state.nextRound == round else {
            throw UserError("\(path): shard of round \(state.nextRound - 1), the checkpoint is of round \(round - 1)")
        }
        return try clientSections(archive, clients: state.clients, hasGradient: state.hasGradient,
                                  hasMask: state.hasMask, hasLocal: state.hasLocal)
    }
}
