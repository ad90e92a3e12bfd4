/// What a local step adds to the loss gradient before the optimizer steps (docs/semantics.md §12).
/// The gradient arena keeps the sum, so the last step's gradient that LIPS stores is the one the
/// optimizer received (before weight decay, which `SGD` adds on the fly).
public enum LocalRule {
    /// FedAvg and FedAvgM: the loss gradient alone.
    case plain
    /// FedProx: g ← g + μ·(w − a), a the model the client received this round (a frozen copy).
    case proximal(mu: Float, anchor: Arena)
    /// SCAFFOLD: g ← g + (c − c_k), the server's and the client's control variates, precomputed
    /// once per client and round.
    case controlVariates(correction: Arena)

    /// Adds the rule's term to `gradients` for the current `parameters`.
    func correct(_ gradients: Arena, parameters: Arena) {
        let g = gradients.base, count = gradients.count
        switch self {
        case .plain:
            return
        case .proximal(let mu, let anchor):
            let w = parameters.base, a = anchor.base
            for i in 0..<count { g[i] += mu * (w[i] - a[i]) }
        case .controlVariates(let correction):
            let d = correction.base
            for i in 0..<count { g[i] += d[i] }
        }
    }
}
