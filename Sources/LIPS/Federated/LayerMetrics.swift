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
    /// Tensors run in parallel, one per task, with the worker's scratch for a loaded gradient and
    /// the mean gradient. Every sum has a fixed order (clients in index order, the reductions'
    /// lanes), so the rows do not depend on the worker count.
    static func measure(round: Int, selected: [Int], global: Arena, previous: Arena, reference: Arena?,
                        received: LIPSSparsifier.Received, masks: LIPSSparsifier, store: ClientStore,
                        pool: WorkerPool, slots: [WorkerSlot]) -> [LayerMetrics] {
        let rows = OwnedBuffer<LayerMetrics?>(repeating: nil, count: store.tracked.count)
        pool.forEach(store.tracked.count) { index, worker in
            let entry = store.tracked[index]
            let count = entry.count
            let weights = global.pointer(to: entry)
            let gradient = slots[worker].values.base, mean = slots[worker].scores.base

            // ḡ: the clients' gradients summed in client order, then scaled, in Float.
            fill(mean, 0, count: count)
            for client in selected {
                store.loadGradient(client, tracked: index, into: gradient)
                axpy(1, gradient, mean, count: count)
            }
            scale(mean, by: 1 / Float(selected.count), count: count)
            var normSum = 0.0, diversitySum = 0.0
            for client in selected {
                store.loadGradient(client, tracked: index, into: gradient)
                normSum += sumOfSquares(gradient, count: count).squareRoot()
                diversitySum += sumOfSquaredDifferences(gradient, mean, count: count).squareRoot()
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
