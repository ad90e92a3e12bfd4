/// A simulation's state between two rounds: enough to continue bitwise as if never stopped.
/// (Every random stream is named by seed, round and client, so no generator state is needed.)
public struct SimulationSnapshot: Sendable, Equatable {
    /// The round that runs next.
    public var nextRound: Int
    public var global: [Float]
    public var globalStatistics: [Float]
    /// Global weights after the reference round; empty before it.
    public var reference: [Float]
    public var clients: ClientStoreSnapshot
}

extension Simulation {
    /// The state after the last finished round. Stored gradients are included only with partial
    /// participation, where a client's next mask may come from a gradient of an earlier round.
    public func snapshot() -> SimulationSnapshot {
        var clients = store.snapshot(includingGradients: config.participation < 1)
        clients.hasMask = sparsifier.hasMask.array
        clients.maskWords = sparsifier.words.array
        return SimulationSnapshot(nextRound: nextRound, global: global.array, globalStatistics: globalStatistics.array,
                                  reference: reference?.array ?? [], clients: clients)
    }

    /// Continues from `snapshot`, taken from a run of the same config. Throws a `UserError` when
    /// the snapshot does not fit this model and client count.
    public func restore(_ snapshot: SimulationSnapshot) throws {
        guard snapshot.global.count == global.count, snapshot.globalStatistics.count == globalStatistics.count,
              snapshot.reference.isEmpty || snapshot.reference.count == global.count,
              snapshot.nextRound >= 0 else {
            throw UserError("checkpoint does not match model \(model.name) (\(global.count) parameters)")
        }
        if let problem = sparsifier.restore(hasMask: snapshot.clients.hasMask, words: snapshot.clients.maskWords)
            ?? store.restore(snapshot.clients) {
            throw UserError("checkpoint: \(problem)")
        }
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
}
