/// What the server keeps besides the global model (docs/semantics.md §12): the momentum buffer v
/// of the server rule (FedAvgM, or any algorithm with `server_momentum`), and SCAFFOLD's control
/// variate c with the sum of the round's client updates Δc_k.
///
/// The server rule treats d = x − x̄ (x the global parameters before the round, x̄ the FedAvg
/// average) as a gradient for PyTorch's SGD: v ← β·v + d (v = d on the first step), x ← x − η·v.
/// With η = 1 and β = 0 the new model is x̄ itself, copied, so FedAvg stays bitwise what it was.
/// BN statistics are never stepped: the global ones are always the average.
///
/// Sendable by use: while clients train in parallel, workers only read c, and `controlSum` is
/// added to inside the ordered turn, one client at a time, as the FedAvg sum is.
final class ServerState: @unchecked Sendable {
    let learningRate: Float
    let momentumFactor: Float
    let usesRule: Bool
    /// v, when β > 0.
    let momentum: Arena?
    /// c, with SCAFFOLD.
    let control: Arena?
    /// Σ (1/N)·Δc_k over the round's clients, summed by aggregation blocks like the FedAvg sum.
    let controlSum: FedAvgSum?
    /// 1/N, the weight of each Δc_k in c's update (N: every client, not the round's).
    let controlWeight: Float

    init(config: ExperimentConfig, model: Model, keepsBlocks: Bool) {
        learningRate = Float(config.serverLearningRate)
        momentumFactor = Float(config.serverMomentum)
        usesRule = config.usesServerRule
        momentum = config.serverMomentum > 0 ? model.makeParameters() : nil
        let scaffold = config.algorithm == .scaffold
        control = scaffold ? model.makeParameters() : nil
        controlSum = scaffold ? FedAvgSum(model: model, blockSize: config.aggregationBlock, keepsBlocks: keepsBlocks) : nil
        controlWeight = Float(1.0 / Double(config.clients))
    }

    /// The new global parameters from the old ones (`global`, overwritten) and the average.
    func step(global: Arena, average: Arena) {
        guard usesRule else {
            global.copy(from: average)
            return
        }
        let x = global.base, mean = average.base, lr = learningRate, beta = momentumFactor
        if let v = momentum?.base {
            for i in 0..<global.count {
                v[i] = beta * v[i] + (x[i] - mean[i])
                x[i] -= lr * v[i]
            }
        } else {
            for i in 0..<global.count { x[i] -= lr * (x[i] - mean[i]) }
        }
    }

    /// c ← c + Σ (1/N)·Δc_k, once the round's `controlSum` is complete.
    func updateControl() {
        guard let control, let controlSum else { return }
        axpy(1, controlSum.parameters.base, control.base, count: control.count)
    }

    /// Restores v and c from a checkpoint (empty arrays: none saved, all zeros); a reason when they
    /// do not fit.
    func restore(momentum savedMomentum: [Float], control savedControl: [Float]) -> String? {
        for (arena, saved, name) in [(momentum, savedMomentum, "server momentum"), (control, savedControl, "SCAFFOLD control variate")] {
            guard let arena else {
                if !saved.isEmpty { return "it holds a \(name), which this run's algorithm does not use" }
                continue
            }
            if saved.isEmpty {
                arena.fill(0)
            } else if saved.count == arena.count {
                arena.set(saved, at: 0)
            } else {
                return "its \(name) does not match this model"
            }
        }
        return nil
    }
}
