/// Everything one worker owns: its trainer (workspace, gradient and momentum arenas), the
/// model it is training or evaluating, and scratch for masks and metrics. Allocated once per run.
///
/// Sendable by ownership: only the worker with index i touches slot i during a parallel section.
final class WorkerSlot: @unchecked Sendable {
    let trainer: ClientTrainer
    let parameters: Arena
    let statistics: Arena
    /// Three scratch vectors as long as the largest tensor: a stored gradient (or a mask), its
    /// scores (or the clients' mean gradient) and top-k work.
    let values: OwnedBuffer<Float>
    let scores: OwnedBuffer<Float>
    let work: OwnedBuffer<Float>
    /// FedProx and SCAFFOLD: the model the client received this round, kept while it trains.
    let anchor: Arena?
    /// SCAFFOLD: c − c_k while the client trains, then its Δc_k.
    let correction: Arena?

    init(model: Model, options: LocalTrainingOptions, algorithm: ExperimentConfig.Algorithm = .fedavg) {
        trainer = ClientTrainer(model: model, options: options)
        parameters = model.makeParameters()
        statistics = model.makeStatistics()
        let count = max(1, model.parameterLayout.entries.map(\.count).max() ?? 1)
        values = OwnedBuffer(repeating: 0, count: count)
        scores = OwnedBuffer(repeating: 0, count: count)
        work = OwnedBuffer(repeating: 0, count: count)
        anchor = algorithm == .fedprox || algorithm == .scaffold ? model.makeParameters() : nil
        correction = algorithm == .scaffold ? model.makeParameters() : nil
    }

    /// Overwrites the slot's model with the one client `client` receives after the last
    /// aggregation: the global model, with its LIPS mask applied (docs/semantics.md §6) and its
    /// local BN state laid over (§7).
    func receive(_ client: Int, global: Arena, globalStatistics: Arena, masks: LIPSSparsifier, store: ClientStore) {
        WorkerSlot.receive(client, global: global, globalStatistics: globalStatistics, masks: masks, store: store,
                           into: parameters, statistics: statistics)
    }

    /// `receive` into any pair of arenas (also `lips export --client`, outside a simulation).
    static func receive(_ client: Int, global: Arena, globalStatistics: Arena, masks: LIPSSparsifier, store: ClientStore,
                        into parameters: Arena, statistics: Arena) {
        parameters.copy(from: global)
        statistics.copy(from: globalStatistics)
        if masks.hasMask[client] { masks.apply(client, to: parameters) }
        if store.keepsLocalState { store.applyLocal(client, parameters: parameters, statistics: statistics) }
    }
}
