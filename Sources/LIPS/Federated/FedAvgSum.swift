/// The running FedAvg sum (docs/semantics.md §5): Σ_k (n_k / n) · θ_k over the round's clients, for
/// the parameters and the BN statistics alike. Callers add clients in client-index order (the
/// scheduler's `OrderedTurn`), which makes the Float sum — and so the new global model — the same
/// for any worker count.
public final class FedAvgSum: @unchecked Sendable {
    public let parameters: Arena
    public let statistics: Arena

    public init(model: Model) {
        parameters = model.makeParameters()
        statistics = model.makeStatistics()
    }

    /// Starts a new round's sum.
    public func reset() {
        parameters.fill(0)
        statistics.fill(0)
    }

    /// Adds one client's model with weight n_k / n. Call only from one thread at a time.
    public func add(weight: Float, parameters clientParameters: Arena, statistics clientStatistics: Arena) {
        axpy(weight, clientParameters.base, parameters.base, count: parameters.count)
        axpy(weight, clientStatistics.base, statistics.base, count: statistics.count)
    }
}
