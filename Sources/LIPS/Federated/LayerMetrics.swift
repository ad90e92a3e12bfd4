/// One row of `layers.csv`: the layer-wise inertia of one weight tensor in one round
/// (docs/semantics.md §10). Distances to the reference round are nil before that round has been
/// reached.
public struct LayerMetrics: Sendable, Equatable, Codable {
    public var round: Int
    /// The `state_dict` name, e.g. `layer2.0.conv1.weight`.
    public var layer: String
    /// ‖W_{r+1} − W_r‖₂ / ‖W_r‖₂ of the global weights across this round's aggregation.
    public var relativeUpdate: Double
    public var l1ToReference: Double?
    public var l2ToReference: Double?
    public var cosineToReference: Double?
    /// Mean over the round's clients of ‖g_k‖₂ (last local step).
    public var gradientNorm: Double
    /// Mean over the round's clients of ‖g_k − ḡ‖₂, ḡ the clients' mean gradient.
    public var gradientDiversity: Double
    /// Mean fraction of non-zeros received by the clients in this layer (1 for unmasked layers and rounds).
    public var receivedDensity: Double

    public init(round: Int, layer: String, relativeUpdate: Double, l1ToReference: Double?, l2ToReference: Double?,
                cosineToReference: Double?, gradientNorm: Double, gradientDiversity: Double, receivedDensity: Double) {
        self.round = round
        self.layer = layer
        self.relativeUpdate = relativeUpdate
        self.l1ToReference = l1ToReference
        self.l2ToReference = l2ToReference
        self.cosineToReference = cosineToReference
        self.gradientNorm = gradientNorm
        self.gradientDiversity = gradientDiversity
        self.receivedDensity = receivedDensity
    }
}

extension LayerMetrics {
    /// The rows of round `round`, one per tracked tensor (every conv and linear weight) in layout
    /// order, once the round's aggregation is done and its masks are cut: the global weights'
    /// update from `previous` and distances to `reference`, the norm and diversity of the stored
    /// gradients of the round's clients `selected`, and the density the clients `received`.
    ///
    /// Tensors run in parallel, one per task, with the worker's scratch for a loaded gradient, a
    /// block sum and the mean gradient. Every sum has a fixed order — ḡ by aggregation blocks as
    /// FedAvg (§5), the per-client norms in client order, the reductions' lanes — so the rows depend
    /// on neither the worker count nor, across ranks (`blocks` and `communicator`), the rank count:
    /// each rank measures the clients whose gradients it holds and the rest is gathered.
    static func measure(round: Int, selected: [Int], global: Arena, previous: Arena, reference: Arena?,
                        received: LIPSSparsifier.Received, masks: LIPSSparsifier, store: ClientStore,
                        pool: WorkerPool, slots: [WorkerSlot], blocks: GradientBlocks?,
                        communicator: Communicator) -> [LayerMetrics] {
        let tracked = store.tracked
        let ownership = store.ownership
        let mine = selected.filter { ownership.owns($0) }
        let scaleBy = 1 / Float(selected.count)
        let allGroups = groups(selected, blockSize: ownership.blockSize)

        if let blocks {
            let myGroups = groups(mine, blockSize: ownership.blockSize)
            pool.forEach(tracked.count) { index, worker in
                for group in myGroups {
                    let position = blocks.blocks.firstIndex(of: group.block)!
                    sumBlock(group.clients, tracked: index, store: store,
                             into: blocks.sums.base + position * store.trackedCount + store.trackedStart[index],
                             scratch: slots[worker].values.base)
                }
            }
            let parts = communicator.allGather(blocks.encoded(blocksWithClients: Set(myGroups.map(\.block))))
            let entries = blocks.index(parts)
            pool.forEach(tracked.count) { index, _ in
                let start = store.trackedStart[index], count = tracked[index].count
                let mean = blocks.mean.base + start
                for (order, entry) in entries.enumerated() {
                    parts[entry.part].withUnsafeBytes { raw in
                        let block = (raw.baseAddress! + entry.offset).assumingMemoryBound(to: Float.self) + start
                        if order == 0 { mean.update(from: block, count: count) } else { axpy(1, block, mean, count: count) }
                    }
                }
                scale(mean, by: scaleBy, count: count)
            }
        }

        // Each of this rank's clients' ‖g_k‖ and ‖g_k − ḡ‖ per tensor, at [position · tensors + index].
        let norms = OwnedBuffer<Double>(repeating: 0, count: mine.count * tracked.count)
        let diversities = OwnedBuffer<Double>(repeating: 0, count: mine.count * tracked.count)
        pool.forEach(tracked.count) { index, worker in
            let count = tracked[index].count
            let gradient = slots[worker].values.base
            let mean: UnsafeMutablePointer<Float>
            if let blocks {
                mean = blocks.mean.base + store.trackedStart[index]
            } else {
                // ḡ: each block from zeros in client order, the first block's sum then each later one added.
                mean = slots[worker].work.base
                let blockSum = slots[worker].scores.base
                for (order, group) in allGroups.enumerated() {
                    sumBlock(group.clients, tracked: index, store: store, into: order == 0 ? mean : blockSum, scratch: gradient)
                    if order > 0 { axpy(1, blockSum, mean, count: count) }
                }
                scale(mean, by: scaleBy, count: count)
            }
            for (position, client) in mine.enumerated() {
                store.loadGradient(client, tracked: index, into: gradient)
                norms[position * tracked.count + index] = sumOfSquares(gradient, count: count).squareRoot()
                diversities[position * tracked.count + index] = sumOfSquaredDifferences(gradient, mean, count: count).squareRoot()
            }
        }
        let perClient = gatherPerClient(mine, norms: norms, diversities: diversities, tensors: tracked.count,
                                        communicator: communicator)

        let rows = OwnedBuffer<LayerMetrics?>(repeating: nil, count: tracked.count)
        pool.forEach(tracked.count) { index, _ in
            let entry = tracked[index]
            let count = entry.count
            let weights = global.pointer(to: entry)
            var normSum = 0.0, diversitySum = 0.0
            for client in perClient {
                normSum += client.norms[index]
                diversitySum += client.diversities[index]
            }
            let toReference = reference.map { distances(weights, reference: $0.pointer(to: entry), count: count) }
            let maskable = masks.trackedIndex.firstIndex(of: index)
            rows[index] = LayerMetrics(
                round: round, layer: entry.name,
                relativeUpdate: relativeUpdate(new: weights, old: previous.pointer(to: entry), count: count),
                l1ToReference: toReference?.l1, l2ToReference: toReference?.l2, cosineToReference: toReference?.cosine,
                gradientNorm: normSum / Double(selected.count), gradientDiversity: diversitySum / Double(selected.count),
                receivedDensity: maskable.map { received.density(layer: $0) } ?? 1)
        }
        return rows.array.compactMap { $0 }
    }

    /// `clients` (increasing) by aggregation block, in block order.
    private static func groups(_ clients: [Int], blockSize: Int) -> [(block: Int, clients: [Int])] {
        var groups: [(block: Int, clients: [Int])] = []
        for client in clients {
            if groups.last?.block == client / blockSize { groups[groups.count - 1].clients.append(client) }
            else { groups.append((client / blockSize, [client])) }
        }
        return groups
    }

    /// Σ of `clients`' stored gradients of tracked tensor `index`, from zeros in client order.
    private static func sumBlock(_ clients: [Int], tracked index: Int, store: ClientStore,
                                 into sum: UnsafeMutablePointer<Float>, scratch gradient: UnsafeMutablePointer<Float>) {
        let count = store.tracked[index].count
        fill(sum, 0, count: count)
        for client in clients {
            store.loadGradient(client, tracked: index, into: gradient)
            axpy(1, gradient, sum, count: count)
        }
    }

    /// Every rank's per-client norms and diversities, in client order.
    private static func gatherPerClient(_ mine: [Int], norms: OwnedBuffer<Double>, diversities: OwnedBuffer<Double>,
                                        tensors: Int, communicator: Communicator)
        -> [(client: Int, norms: [Double], diversities: [Double])] {
        let local = mine.enumerated().map { position, client in
            (client, norms.values(position * tensors ..< (position + 1) * tensors),
             diversities.values(position * tensors ..< (position + 1) * tensors))
        }
        guard communicator.size > 1 else { return local }
        var writer = WireWriter()
        for (client, norms, diversities) in local {
            writer.append(Int64(client))
            for value in norms + diversities { writer.append(value) }
        }
        var all: [(client: Int, norms: [Double], diversities: [Double])] = []
        for part in communicator.allGather(writer.bytes) {
            var reader = WireReader(part)
            while !reader.atEnd {
                let client = Int(reader.read(Int64.self))
                let values = (0..<2 * tensors).map { _ in reader.read(Double.self) }
                all.append((client, Array(values[..<tensors]), Array(values[tensors...])))
            }
        }
        return all.sorted { $0.client < $1.client }
    }

    /// ‖new − old‖₂ / ‖old‖₂ (0 when old is all zeros).
    static func relativeUpdate(new: UnsafePointer<Float>, old: UnsafePointer<Float>, count: Int) -> Double {
        let norm = sumOfSquares(old, count: count)
        return norm > 0 ? (sumOfSquaredDifferences(new, old, count: count) / norm).squareRoot() : 0
    }

    /// L1 and L2 distance and cosine similarity between `weights` and `reference`.
    static func distances(_ weights: UnsafePointer<Float>, reference: UnsafePointer<Float>, count: Int)
        -> (l1: Double, l2: Double, cosine: Double) {
        let normW = sumOfSquares(weights, count: count), normR = sumOfSquares(reference, count: count)
        let cosine = normW > 0 && normR > 0
            ? dot(weights, reference, count: count) / (normW.squareRoot() * normR.squareRoot()) : 0
        return (sumOfAbsoluteDifferences(weights, reference, count: count),
                sumOfSquaredDifferences(weights, reference, count: count).squareRoot(), cosine)
    }
}
