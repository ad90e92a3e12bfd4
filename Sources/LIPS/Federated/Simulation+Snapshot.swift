/// A simulation's state between two rounds: enough to continue bitwise as if never stopped.
/// (Every random stream is named by seed, round and client, so no generator state is needed.)
public struct SimulationSnapshot: Sendable, Equatable {
    /// The round that runs next.
    public var nextRound: Int
    public var global: [Float]
    public var globalStatistics: [Float]
    /// Global weights after the reference round; empty before it.
    public var reference: [Float]
    /// The server's momentum buffer v and SCAFFOLD's control variate c (§12); empty when unused.
    public var serverMomentum: [Float] = []
    public var serverControl: [Float] = []
    public var clients: ClientStoreSnapshot
}

extension Simulation {
    /// The state after the last finished round, with the state of the clients this rank owns
    /// (all of them on one process). Stored gradients are included only with partial
    /// participation, where a client's next mask may come from a gradient of an earlier round.
    public func snapshot() -> SimulationSnapshot {
        var clients = store.snapshot(includingGradients: config.participation < 1)
        (clients.hasMask, clients.maskWords) = sparsifier.snapshot()
        return SimulationSnapshot(nextRound: nextRound, global: global.array, globalStatistics: globalStatistics.array,
                                  reference: reference?.array ?? [], serverMomentum: server.momentum?.array ?? [],
                                  serverControl: server.control?.array ?? [], clients: clients)
    }

    /// Continues from `snapshot`, taken from a run of the same config; of its client state only
    /// the clients this rank owns are kept (`restoreClients` adds more, e.g. other ranks' shards).
    /// Throws a `UserError` when the snapshot does not fit this model and client count.
    public func restore(_ snapshot: SimulationSnapshot) throws {
        guard snapshot.global.count == global.count, snapshot.globalStatistics.count == globalStatistics.count,
              snapshot.reference.isEmpty || snapshot.reference.count == global.count,
              snapshot.nextRound >= 0 else {
            throw UserError("checkpoint does not match model \(model.name) (\(global.count) parameters)")
        }
        if let problem = server.restore(momentum: snapshot.serverMomentum, control: snapshot.serverControl) {
            throw UserError("checkpoint: \(problem)")
        }
        try restoreClients(snapshot.clients)
        global.set(snapshot.global, at: 0)
        globalStatistics.set(snapshot.globalStatistics, at: 0)
        if snapshot.reference.isEmpty {
            reference = nil
        } else {
            let arena = model.makeParameters()
            arena.set(snapshot.reference, at: 0)
            reference = arena
        }
        setNextRound(snapshot.nextRound)
    }

    /// Restores the state of the clients this rank owns among `clients` (any subset of the run's
    /// clients, such as one checkpoint shard).
    public func restoreClients(_ clients: ClientStoreSnapshot) throws {
        if let problem = sparsifier.restore(clients: clients.clients, hasMask: clients.hasMask, words: clients.maskWords)
            ?? store.restore(clients) {
            throw UserError("checkpoint: \(problem)")
        }
    }
}

extension Simulation {
    /// Replaces the seeded initial global model with `parameters` and `statistics` (laid out by
    /// `model.parameterLayout` and `model.statisticsLayout`), before the first round: how
    /// `init_from` starts a run from given weights.
    public func setInitialModel(parameters: [Float], statistics: [Float]) {
        precondition(nextRound == 0, "Simulation.setInitialModel: round \(nextRound) already started")
        precondition(parameters.count == global.count && statistics.count == globalStatistics.count,
                     "Simulation.setInitialModel: \(parameters.count)/\(statistics.count) values for \(global.count)/\(globalStatistics.count)")
        global.set(parameters, at: 0)
        globalStatistics.set(statistics, at: 0)
        previousGlobal.copy(from: global)
    }
}

extension Simulation {
    /// The model client `client` receives after the round `snapshot` was taken (its LIPS mask
    /// applied, its local BN state laid over with `bn: local`), built as `WorkerSlot.receive`
    /// builds it but without data or workers: what `lips export --client` writes. Throws a
    /// `UserError` when the snapshot does not fit `model` and `config`.
    public static func receivedModel(client: Int, model: Model, config: ExperimentConfig,
                                     snapshot: SimulationSnapshot) throws -> (parameters: [Float], statistics: [Float]) {
        precondition(client >= 0 && client < config.clients, "Simulation.receivedModel: client \(client) outside 0..<\(config.clients)")
        guard snapshot.global.count == model.parameterLayout.count,
              snapshot.globalStatistics.count == model.statisticsLayout.count else {
            throw UserError("checkpoint does not match model \(model.name) (\(model.parameterLayout.count) parameters)")
        }
        let ownership = ClientOwnership.all(config.clients)
        let store = ClientStore(model: model, ownership: ownership, precision: config.gradientPrecision,
                                keepsLocalState: config.batchNorm == .local, keepsControls: config.algorithm == .scaffold)
        let masks = LIPSSparsifier(tracked: store.tracked, ownership: ownership)
        guard snapshot.clients.clients.contains(client) else {
            throw UserError("checkpoint holds no state of client \(client)")
        }
        if let problem = masks.restore(clients: snapshot.clients.clients, hasMask: snapshot.clients.hasMask,
                                       words: snapshot.clients.maskWords)
            ?? store.restore(snapshot.clients) {
            throw UserError("checkpoint: \(problem)")
        }
        let global = model.makeParameters(), globalStatistics = model.makeStatistics()
        global.set(snapshot.global, at: 0)
        globalStatistics.set(snapshot.globalStatistics, at: 0)
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        WorkerSlot.receive(client, global: global, globalStatistics: globalStatistics, masks: masks, store: store,
                           into: parameters, statistics: statistics)
        return (parameters.array, statistics.array)
    }
}
