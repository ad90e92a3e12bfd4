/// What the ranks of one run exchange during a round, and how each exchange is folded back into
/// the values one process would have computed: every part is tagged with its clients (or chunks),
/// the parts are put back in client order, and only then summed. With one process every exchange
/// is the identity.

/// One client's local-training outcome, as the round's loss and accuracy need it.
struct ClientResult: Sendable {
    var client = 0
    var loss = 0.0
    var correct = 0
    var samples = 0

    init() {}

    init(client: Int, result: LocalTrainingResult) {
        self.client = client
        loss = result.loss
        correct = result.correct
        samples = result.samples
    }

    /// Every rank's results, in client order (each rank passes its own, in client order).
    static func gathered(_ mine: [ClientResult], communicator: Communicator) -> [ClientResult] {
        guard communicator.size > 1 else { return mine }
        var writer = WireWriter()
        for result in mine {
            writer.append(Int64(result.client))
            writer.append(result.loss)
            writer.append(Int64(result.correct))
            writer.append(Int64(result.samples))
        }
        var all: [ClientResult] = []
        for part in communicator.allGather(writer.bytes) {
            var reader = WireReader(part)
            while !reader.atEnd {
                var result = ClientResult()
                result.client = Int(reader.read(Int64.self))
                result.loss = reader.read(Double.self)
                result.correct = Int(reader.read(Int64.self))
                result.samples = Int(reader.read(Int64.self))
                all.append(result)
            }
        }
        return all.sorted { $0.client < $1.client }
    }
}

extension LIPSSparsifier.Received {
    /// The rows of every client, each from the rank that owns it (this one's rows are this rank's clients').
    func gathered(ownership: ClientOwnership, communicator: Communicator) -> Self {
        guard communicator.size > 1 else { return self }
        let layers = layerCounts.count
        var writer = WireWriter()
        for client in ownership.owned {
            writer.append(Int64(client))
            for layer in 0..<layers { writer.append(Int64(nonzeros[client * layers + layer])) }
        }
        var rows = nonzeros
        for part in communicator.allGather(writer.bytes) {
            var reader = WireReader(part)
            while !reader.atEnd {
                let client = Int(reader.read(Int64.self))
                for layer in 0..<layers { rows[client * layers + layer] = Int(reader.read(Int64.self)) }
            }
        }
        return Self(clients: clients, layerCounts: layerCounts, nonzeros: rows)
    }
}

/// One client's score at an evaluation: the accuracy and mean loss of the model it receives.
struct ClientScore: Sendable {
    var client = 0
    var accuracy = 0.0
    var loss = 0.0
}

extension Simulation {
    /// Fills `correct` (one byte per distinct test sample) and `losses` (one Double each) with
    /// every rank's chunks: rank r scored chunks r, r + R, r + 2R, … of `chunkSize` samples.
    func gatherChunks(_ correct: OwnedBuffer<UInt8>, losses: OwnedBuffer<Double>, chunkSize: Int) {
        let (rank, ranks) = (communicator.rank, communicator.size)
        let count = correct.count
        func ranges(of rank: Int) -> [Range<Int>] {
            stride(from: rank * chunkSize, to: count, by: ranks * chunkSize).map { $0 ..< min(count, $0 + chunkSize) }
        }
        var writer = WireWriter()
        for range in ranges(of: rank) {
            writer.append(contentsOf: UnsafeBufferPointer(start: correct.base + range.lowerBound, count: range.count))
            writer.append(contentsOf: UnsafeBufferPointer(start: losses.base + range.lowerBound, count: range.count))
        }
        for (other, part) in communicator.allGather(writer.bytes).enumerated() where other != rank {
            var reader = WireReader(part)
            for range in ranges(of: other) {
                reader.read(range.count, into: correct.base + range.lowerBound)
                reader.read(range.count, into: losses.base + range.lowerBound)
            }
        }
    }

    /// Every rank's scores, for the clients each scored, in client order.
    func gatherScores(_ mine: [ClientScore]) -> [ClientScore] {
        guard communicator.size > 1 else { return mine }
        var writer = WireWriter()
        for score in mine {
            writer.append(Int64(score.client))
            writer.append(score.accuracy)
            writer.append(score.loss)
        }
        var all: [ClientScore] = []
        for part in communicator.allGather(writer.bytes) {
            var reader = WireReader(part)
            while !reader.atEnd {
                all.append(ClientScore(client: Int(reader.read(Int64.self)), accuracy: reader.read(Double.self),
                                       loss: reader.read(Double.self)))
            }
        }
        return all.sorted { $0.client < $1.client }
    }
}

/// Across ranks, the mean gradient ḡ of the layer metrics (docs/semantics.md §10) is summed as
/// FedAvg is: each rank sums the stored gradients of its blocks' selected clients (from zeros, in
/// client order), the block sums are gathered, and every rank joins them in block order (first
/// copied, each later one added). Room for this rank's blocks and the joined sum, allocated once.
final class GradientBlocks: @unchecked Sendable {
    /// This rank's blocks, increasing, and their sums (`trackedCount` floats each, in that order).
    let blocks: [Int]
    let sums: OwnedBuffer<Float>
    /// The joined sum over all blocks, then ḡ once scaled.
    let mean: OwnedBuffer<Float>
    let trackedCount: Int

    init(store: ClientStore, ownership: ClientOwnership) {
        blocks = Array(Set(ownership.owned.map { $0 / ownership.blockSize })).sorted()
        trackedCount = store.trackedCount
        sums = OwnedBuffer(repeating: 0, count: blocks.count * store.trackedCount)
        mean = OwnedBuffer(repeating: 0, count: store.trackedCount)
    }

    /// This rank's sums of the blocks among `blocksWithClients`, tagged with their block, as bytes.
    func encoded(blocksWithClients: Set<Int>) -> [UInt8] {
        var writer = WireWriter()
        for (position, block) in blocks.enumerated() where blocksWithClients.contains(block) {
            writer.append(Int64(block))
            writer.append(contentsOf: UnsafeBufferPointer(start: sums.base + position * trackedCount, count: trackedCount))
        }
        return writer.bytes
    }

    /// Every rank's block sums from `parts`, in block order: (block, part, byte offset of its floats).
    func index(_ parts: [[UInt8]]) -> [(block: Int, part: Int, offset: Int)] {
        let blockBytes = 8 + 4 * trackedCount
        var entries: [(block: Int, part: Int, offset: Int)] = []
        for (index, part) in parts.enumerated() {
            precondition(part.count % blockBytes == 0, "GradientBlocks: part \(index) holds \(part.count) bytes")
            for offset in stride(from: 0, to: part.count, by: blockBytes) {
                let block = part.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
                entries.append((block, index, offset + 8))
            }
        }
        return entries.sorted { $0.block < $1.block }
    }
}
