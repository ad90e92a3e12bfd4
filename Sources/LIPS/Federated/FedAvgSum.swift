/// The FedAvg sum (docs/semantics.md §5): Σ_k (n_k / n) · θ_k over the round's clients, for the
/// parameters and the BN statistics alike, in a fixed order that does not depend on how clients are
/// spread over workers (or, later, ranks): clients form blocks of `blockSize` consecutive client
/// indices; each block's sum starts from zeros and adds its clients in increasing index; the total
/// is the first block's sum, then each later block's sum added in block order. Callers add clients
/// in increasing index (the scheduler's `OrderedTurn`) and call `finish()` after the last.
public final class FedAvgSum: @unchecked Sendable {
    /// The total, complete after `finish()`.
    public let parameters: Arena
    public let statistics: Arena
    /// Clients per aggregation block (`aggregation_block`).
    public let blockSize: Int
    private let blockParameters: Arena
    private let blockStatistics: Arena
    /// The block being summed, and whether the total holds a block yet.
    private var openBlock: Int?
    private var totalStarted = false

    public init(model: Model, blockSize: Int) {
        precondition(blockSize >= 1, "FedAvgSum: block size \(blockSize)")
        self.blockSize = blockSize
        parameters = model.makeParameters()
        statistics = model.makeStatistics()
        blockParameters = model.makeParameters()
        blockStatistics = model.makeStatistics()
    }

    /// Starts a new round's sum.
    public func reset() {
        openBlock = nil
        totalStarted = false
    }

    /// Adds client `client`'s model with weight n_k / n. Clients in increasing index; call only from
    /// one thread at a time.
    public func add(client: Int, weight: Float, parameters clientParameters: Arena, statistics clientStatistics: Arena) {
        let block = client / blockSize
        if block != openBlock {
            precondition(openBlock.map { block > $0 } ?? true, "FedAvgSum: client \(client) after block \(openBlock ?? -1)")
            closeBlock()
            blockParameters.fill(0)
            blockStatistics.fill(0)
            openBlock = block
        }
        axpy(weight, clientParameters.base, blockParameters.base, count: blockParameters.count)
        axpy(weight, clientStatistics.base, blockStatistics.base, count: blockStatistics.count)
    }

    /// Ends the round's sum: the last block joins the total.
    public func finish() {
        closeBlock()
        precondition(totalStarted, "FedAvgSum: a round without clients")
    }

    private func closeBlock() {
        guard openBlock != nil else { return }
        if totalStarted {
            add(blockParameters, into: parameters)
            add(blockStatistics, into: statistics)
        } else {
            parameters.copy(from: blockParameters)
            statistics.copy(from: blockStatistics)
            totalStarted = true
        }
        openBlock = nil
    }

    /// total += block, element by element in Float.
    private func add(_ block: Arena, into total: Arena) {
        axpy(1, block.base, total.base, count: total.count)
    }
}
