/// The FedAvg sum (docs/semantics.md §5): Σ_k (n_k / n) · θ_k over the round's clients, for the
/// parameters and the BN statistics alike, in a fixed order that does not depend on how clients are
/// spread over workers (or, later, ranks): clients form blocks of `blockSize` consecutive client
/// indices; each block's sum starts from zeros and adds its clients in increasing index; the total
/// is the first block's sum, then each later block's sum added in block order. Callers add clients
/// in increasing index (the scheduler's `OrderedTurn`) and call `finish()` after the last.
///
/// Across ranks each rank sums the blocks it owns with `keepsBlocks`: `finish()` then leaves the
/// block sums apart, `encodedBlocks()` hands them to the communicator, and `fold(parts:)` on the
/// gathered parts forms the same total, bit for bit, as one process summing every block.
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
    /// Whether closed blocks are kept apart (a rank's share) instead of added to the total.
    public let keepsBlocks: Bool
    /// The kept block sums of this round, in block order, and spare arenas from earlier rounds.
    private var kept: [(block: Int, parameters: Arena, statistics: Arena)] = []
    private var spare: [(parameters: Arena, statistics: Arena)] = []
    private let model: Model

    public init(model: Model, blockSize: Int, keepsBlocks: Bool = false) {
        precondition(blockSize >= 1, "FedAvgSum: block size \(blockSize)")
        self.blockSize = blockSize
        self.keepsBlocks = keepsBlocks
        self.model = model
        parameters = model.makeParameters()
        statistics = model.makeStatistics()
        blockParameters = model.makeParameters()
        blockStatistics = model.makeStatistics()
    }

    /// Starts a new round's sum.
    public func reset() {
        openBlock = nil
        totalStarted = false
        spare += kept.map { ($0.parameters, $0.statistics) }
        kept.removeAll(keepingCapacity: true)
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

    /// Ends the round's sum: the last block joins the total (or the kept blocks).
    public func finish() {
        closeBlock()
        precondition(totalStarted || keepsBlocks, "FedAvgSum: a round without clients")
    }

    private func closeBlock() {
        guard let block = openBlock else { return }
        if keepsBlocks {
            let arenas = spare.popLast() ?? (model.makeParameters(), model.makeStatistics())
            arenas.parameters.copy(from: blockParameters)
            arenas.statistics.copy(from: blockStatistics)
            kept.append((block, arenas.parameters, arenas.statistics))
        } else {
            joinTotal()
        }
        openBlock = nil
    }

    /// The block arenas join the total: the first block is copied, each later one added element by
    /// element in Float.
    private func joinTotal() {
        if totalStarted {
            axpy(1, blockParameters.base, parameters.base, count: parameters.count)
            axpy(1, blockStatistics.base, statistics.base, count: statistics.count)
        } else {
            parameters.copy(from: blockParameters)
            statistics.copy(from: blockStatistics)
            totalStarted = true
        }
    }

    // MARK: Across ranks

    /// The kept block sums as bytes: per block its index (Int64) then its parameters and statistics
    /// (Float, this machine's byte order; every rank of a run runs the same binary).
    public func encodedBlocks() -> [UInt8] {
        precondition(keepsBlocks, "FedAvgSum.encodedBlocks: the blocks were added to the total")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(kept.count * blockBytes)
        for block in kept {
            withUnsafeBytes(of: Int64(block.block)) { bytes += $0 }
            bytes += UnsafeRawBufferPointer(start: block.parameters.base, count: block.parameters.count * 4)
            bytes += UnsafeRawBufferPointer(start: block.statistics.base, count: block.statistics.count * 4)
        }
        return bytes
    }

    private var blockBytes: Int { 8 + 4 * (blockParameters.count + blockStatistics.count) }

    /// The total from every rank's `encodedBlocks()`: the blocks in increasing index, the first
    /// copied, each later one added, as `finish()` does when one process owns every block.
    public func fold(parts: [[UInt8]]) {
        var blocks: [(block: Int, part: Int, offset: Int)] = []
        for (index, part) in parts.enumerated() {
            precondition(part.count % blockBytes == 0, "FedAvgSum.fold: part \(index) holds \(part.count) bytes")
            for offset in stride(from: 0, to: part.count, by: blockBytes) {
                let block = part.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
                blocks.append((block, index, offset))
            }
        }
        blocks.sort { $0.block < $1.block }
        precondition(zip(blocks, blocks.dropFirst()).allSatisfy { $0.block < $1.block }, "FedAvgSum.fold: a block twice")
        precondition(!blocks.isEmpty, "FedAvgSum.fold: a round without clients")
        let parameterBytes = 4 * blockParameters.count, statisticBytes = 4 * blockStatistics.count
        totalStarted = false
        for entry in blocks {
            parts[entry.part].withUnsafeBytes { raw in
                UnsafeMutableRawPointer(blockParameters.base).copyMemory(from: raw.baseAddress! + entry.offset + 8, byteCount: parameterBytes)
                UnsafeMutableRawPointer(blockStatistics.base).copyMemory(from: raw.baseAddress! + entry.offset + 8 + parameterBytes,
                                                                         byteCount: statisticBytes)
            }
            joinTotal()
        }
    }
}
