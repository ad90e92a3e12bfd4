// weights, gradients, scores, work, mask: n floats each, one maskable layer's contiguous slice
// of an arena (or of a worker's scratch). A client's mask: one bit per maskable weight, the
// layers' bits one after another in layout order.

/// LIPS's sparsifier (docs/semantics.md §6), all of it: the score |g ⊙ w| of every weight of a
/// maskable layer (g the client's stored last-step gradient, w the new global weights), the cut
/// that keeps the `floor(n·d)` largest scores of each layer (ties to the lower index), every
/// client's mask as bits between rounds, and its application to the model the client receives.
///
/// Cost per client: one bit per maskable weight, held by the rank that owns the client.
///
/// Sendable by ownership: during a parallel section client k's bits and flag are touched only by
/// the task that handles client k; between sections only the simulation touches them.
final class LIPSSparsifier: @unchecked Sendable {
    let clients: Int
    /// The clients whose masks this sparsifier cuts and holds.
    let ownership: ClientOwnership
    /// The maskable tensors (every conv weight but the stem's), in layout order.
    let layers: [ParameterEntry]
    /// Where the `ClientStore` keeps each maskable tensor's gradient (an index into its `tracked`).
    let trackedIndex: [Int]
    /// Each layer's first bit in a client's mask.
    let bitStart: [Int]
    /// Maskable weights in all: the bits of one client's mask.
    let bitsPerClient: Int
    let wordsPerClient: Int
    /// Every owned client's mask, `wordsPerClient` words each; a set bit keeps its weight.
    let words: OwnedBuffer<UInt64>
    /// Whether client k receives a masked model after the last aggregation (meaningful for the
    /// owned clients).
    let hasMask: OwnedBuffer<Bool>

    /// Masks for the maskable tensors among `tracked` (the tensors whose gradients the
    /// `ClientStore` keeps), for the clients of `ownership`, none of them masked yet.
    init(tracked: [ParameterEntry], ownership: ClientOwnership) {
        let clients = ownership.clients
        self.clients = clients
        self.ownership = ownership
        trackedIndex = tracked.indices.filter { tracked[$0].maskable }
        layers = trackedIndex.map { tracked[$0] }
        var starts: [Int] = [], bit = 0
        for entry in layers {
            starts.append(bit)
            bit += entry.count
        }
        bitStart = starts
        bitsPerClient = bit
        wordsPerClient = (bit + 63) / 64
        words = OwnedBuffer(repeating: 0, count: ownership.owned.count * wordsPerClient)
        hasMask = OwnedBuffer(repeating: false, count: clients)
    }

    // MARK: One layer

    /// How many of `count` weights a density keeps: `floor(count·density)`.
    static func keepCount(_ count: Int, density: Double) -> Int {
        precondition(density >= 0 && density <= 1, "LIPSSparsifier: density \(density) outside [0, 1]")
        return min(count, Int((Double(count) * density).rounded(.down)))
    }

    /// The scores of one layer's `n` weights: |g·w|, or |w| when `gradients` is nil (the magnitude
    /// criterion). `scores` may be the `gradients` buffer.
    static func score(weights: UnsafePointer<Float>, gradients: UnsafePointer<Float>?, count n: Int,
                      into scores: UnsafeMutablePointer<Float>) {
        if let gradients {
            for i in 0..<n { scores[i] = abs(gradients[i] * weights[i]) }
        } else {
            for i in 0..<n { scores[i] = abs(weights[i]) }
        }
    }

    /// Writes the 0/1 mask of one layer's `n` weights into `mask`: 1 for the `keepCount(n, density)`
    /// largest scores |g·w| (|w| when `gradients` is nil), lower index first among equal scores.
    /// `scores` and `work` are `n` floats of scratch; `mask` may be the `gradients` buffer.
    static func cut(weights: UnsafePointer<Float>, gradients: UnsafePointer<Float>?, count n: Int, density: Double,
                    scores: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>) {
        score(weights: weights, gradients: gradients, count: n, into: scores)
        topKMask(scores: scores, count: n, keep: keepCount(n, density: density), work: work, mask: mask)
    }

    /// The 0/1 mask of `weights` and `gradients` (same length) at `density`: `cut` on arrays.
    static func mask(weights: [Float], gradients: [Float], density: Double) -> [Float] {
        precondition(weights.count == gradients.count, "LIPSSparsifier: \(weights.count) weights, \(gradients.count) gradients")
        let n = weights.count
        let scores = OwnedBuffer<Float>(repeating: 0, count: n), work = OwnedBuffer<Float>(repeating: 0, count: n)
        let mask = OwnedBuffer<Float>(repeating: 0, count: n)
        weights.withUnsafeBufferPointer { w in
            gradients.withUnsafeBufferPointer { g in
                guard let w = w.baseAddress, let g = g.baseAddress else { return }
                cut(weights: w, gradients: g, count: n, density: density, scores: scores.base, work: work.base, mask: mask.base)
            }
        }
        return mask.array
    }

    // MARK: Every client

    /// What the clients receive in the maskable layers after one aggregation: the non-zeros of
    /// each client's model in each maskable layer. The round's and the layers' received density
    /// come from it.
    struct Received: Sendable, Equatable {
        let clients: Int
        /// Weights per maskable layer.
        let layerCounts: [Int]
        /// Non-zeros of client k in layer l at `nonzeros[k · layerCounts.count + l]`.
        let nonzeros: [Int]

        /// Non-zeros client `client` receives, summed over the maskable layers.
        func nonzeros(client: Int) -> Int {
            let layers = layerCounts.count
            return nonzeros[(client * layers)..<((client + 1) * layers)].reduce(0, +)
        }

        /// Non-zeros of layer `layer`, summed over the clients.
        func nonzeros(layer: Int) -> Int {
            (0..<clients).reduce(0) { $0 + nonzeros[$1 * layerCounts.count + layer] }
        }

        /// Fraction of layer `layer`'s weights that are non-zero, over all clients.
        func density(layer: Int) -> Double {
            Double(nonzeros(layer: layer)) / Double(clients * layerCounts[layer])
        }

        /// Fraction of all maskable weights that are non-zero, over all clients (1 without any).
        var density: Double {
            let weights = layerCounts.reduce(0, +)
            return weights == 0 ? 1 : Double(nonzeros.reduce(0, +)) / Double(weights * clients)
        }
    }

    /// Cuts every owned client's mask at `density` from the new global weights `global` and the
    /// client's stored gradient; with the |w| criterion no gradient is needed. A client that has
    /// never trained (no stored gradient) receives the dense model. Returns what each owned
    /// client receives (the rows of other ranks' clients are zero).
    func cut(density: Double, criterion: ExperimentConfig.MaskCriterion, global: Arena, store: ClientStore,
             pool: WorkerPool, slots: [WorkerSlot]) -> Received {
        let layers = layers
        let received = OwnedBuffer<Int>(repeating: 0, count: clients * layers.count)
        let byWeightOnly = criterion == .weight
        let owned = ownership.owned
        pool.forEach(owned.count) { position, worker in
            let client = owned[position]
            guard byWeightOnly || store.hasGradient[client] else {
                self.hasMask[client] = false
                for (layer, entry) in layers.enumerated() {
                    received[client * layers.count + layer] = nonzeroCount(global.pointer(to: entry), count: entry.count)
                }
                return
            }
            let slot = slots[worker]
            let values = slot.values.base
            for (layer, entry) in layers.enumerated() {
                let weights = global.pointer(to: entry)
                if !byWeightOnly { store.loadGradient(client, tracked: self.trackedIndex[layer], into: values) }
                Self.score(weights: weights, gradients: byWeightOnly ? nil : values, count: entry.count, into: values)
                received[client * layers.count + layer] =
                    self.setBits(client, layer: layer, scores: values, keep: Self.keepCount(entry.count, density: density),
                                 work: slot.work.base, weights: weights)
            }
            self.hasMask[client] = true
        }
        return Received(clients: clients, layerCounts: layers.map(\.count), nonzeros: received.array)
    }

    /// No client is masked after this aggregation: every one receives the dense `global`.
    func clear(global: Arena) -> Received {
        hasMask.fill(false)
        let dense = layers.map { nonzeroCount(global.pointer(to: $0), count: $0.count) }
        return Received(clients: clients, layerCounts: layers.map(\.count),
                        nonzeros: Array((0..<clients).map { _ in dense }.joined()))
    }

    /// What every owned client receives now from `global` and its mask, counted again rather than
    /// kept from the last `cut` or `clear` (after a restore): the same numbers they returned.
    func received(global: Arena, pool: WorkerPool) -> Received {
        let layers = layers
        let dense = layers.map { nonzeroCount(global.pointer(to: $0), count: $0.count) }
        let received = OwnedBuffer<Int>(repeating: 0, count: clients * layers.count)
        let owned = ownership.owned
        pool.forEach(owned.count) { position, _ in
            let client = owned[position]
            let clientWords = self.words.base + self.ownership.position(of: client) * self.wordsPerClient
            for (layer, entry) in layers.enumerated() {
                guard self.hasMask[client] else {
                    received[client * layers.count + layer] = dense[layer]
                    continue
                }
                let weights = global.pointer(to: entry)
                var kept = 0
                for start in stride(from: 0, to: entry.count, by: 64) {
                    let count = min(64, entry.count - start)
                    var nonzero: UInt64 = 0
                    for j in 0..<count { nonzero |= UInt64(weights[start + j] != 0 ? 1 : 0) << UInt64(j) }
                    kept += (Self.load(bits: count, at: self.bitStart[layer] + start, from: clientWords) & nonzero).nonzeroBitCount
                }
                received[client * layers.count + layer] = kept
            }
        }
        return Received(clients: clients, layerCounts: layers.map(\.count), nonzeros: received.array)
    }

    // MARK: Bits

    /// Sets client `client`'s bits of layer `layer` to the cut keeping the `keep` largest `scores`
    /// (lower index first among equal ones), 64 weights per word; returns how many kept weights
    /// are non-zero in `weights`. `work` is scratch for the selection.
    func setBits(_ client: Int, layer: Int, scores: UnsafePointer<Float>, keep: Int,
                 work: UnsafeMutablePointer<Float>, weights: UnsafePointer<Float>) -> Int {
        let clientWords = words.base + ownership.position(of: client) * wordsPerClient
        let n = layers[layer].count, first = bitStart[layer]
        let threshold: TopKThreshold? = keep == 0 || keep == n ? nil : topKThreshold(scores: scores, count: n, keep: keep, work: work)
        var tiesLeft = threshold?.tiesKept ?? 0
        var kept = 0
        for start in stride(from: 0, to: n, by: 64) {
            let count = min(64, n - start)
            let word: UInt64
            if let threshold {
                word = topKWord(scores + start, count: count, threshold: threshold, tiesLeft: &tiesLeft)
            } else {
                word = keep == 0 ? 0 : lowBits(count)
            }
            var nonzero: UInt64 = 0
            for j in 0..<count { nonzero |= UInt64(weights[start + j] != 0 ? 1 : 0) << UInt64(j) }
            kept += (word & nonzero).nonzeroBitCount
            Self.store(word, bits: count, at: first + start, in: clientWords)
        }
        return kept
    }

    /// Overwrites bits `bit ..< bit + count` (count ≤ 64) of `clientWords` with the low `count` bits of `word`.
    @inline(__always)
    private static func store(_ word: UInt64, bits count: Int, at bit: Int, in clientWords: UnsafeMutablePointer<UInt64>) {
        let index = bit >> 6, shift = UInt64(bit & 63)
        let region = lowBits(count)
        clientWords[index] = clientWords[index] & ~(region << shift) | word << shift
        if Int(shift) + count > 64 {
            clientWords[index + 1] = clientWords[index + 1] & ~(region >> (64 - shift)) | word >> (64 - shift)
        }
    }

    /// The `count` ≤ 64 bits of `clientWords` from `bit` on, as the low bits of a word.
    @inline(__always)
    private static func load(bits count: Int, at bit: Int, from clientWords: UnsafeMutablePointer<UInt64>) -> UInt64 {
        let index = bit >> 6, shift = UInt64(bit & 63)
        var word = clientWords[index] >> shift
        if Int(shift) + count > 64 { word |= clientWords[index + 1] << (64 - shift) }
        return word & lowBits(count)
    }

    /// Client `client`'s mask of maskable layer `layer` as 0/1 floats (1: kept); nil when the
    /// client receives no mask.
    func mask(_ client: Int, layer: Int) -> [Float]? {
        guard hasMask[client] else { return nil }
        let clientWords = words.base + ownership.position(of: client) * wordsPerClient
        let first = bitStart[layer]
        return (0..<layers[layer].count).map { i in Self.isKept(clientWords, bit: first + i) ? 1 : 0 }
    }

    /// Whether bit `bit` of one client's mask words is set (its weight kept).
    @inline(__always)
    private static func isKept(_ clientWords: UnsafeMutablePointer<UInt64>, bit: Int) -> Bool {
        clientWords[bit >> 6] & (UInt64(1) << UInt64(bit & 63)) != 0
    }

    /// Zeroes, in `parameters` (an arena with the model's parameter layout), the maskable weights
    /// client `client`'s mask drops.
    func apply(_ client: Int, to parameters: Arena) {
        let clientWords = words.base + ownership.position(of: client) * wordsPerClient
        for (layer, entry) in layers.enumerated() {
            let weights = parameters.pointer(to: entry)
            for start in stride(from: 0, to: entry.count, by: 64) {
                let count = min(64, entry.count - start)
                let word = Self.load(bits: count, at: bitStart[layer] + start, from: clientWords)
                if word.nonzeroBitCount == count { continue }
                // A dropped weight becomes +0 by clearing its bits: no branch on the mask.
                for j in 0..<count {
                    let keepBits = 0 &- UInt32(truncatingIfNeeded: word >> UInt64(j) & 1)
                    weights[start + j] = Float(bitPattern: weights[start + j].bitPattern & keepBits)
                }
            }
        }
    }

    // MARK: Snapshot (checkpoints)

    /// The owned clients' flags and bits, in `ownership.owned` order.
    func snapshot() -> (hasMask: [Bool], words: [UInt64]) {
        (ownership.owned.map { hasMask[$0] }, words.array)
    }

    /// Restores the flags and bits of the owned clients among a snapshot's `clients` (flags and
    /// `wordsPerClient` words per listed client); returns a reason when they do not fit.
    func restore(clients listed: [Int], hasMask flags: [Bool], words bits: [UInt64]) -> String? {
        guard flags.count == listed.count, bits.count == listed.count * wordsPerClient,
              listed.allSatisfy({ (0..<clients).contains($0) }) else {
            return "client state does not match this run's clients and model"
        }
        for (index, client) in listed.enumerated() where ownership.owns(client) {
            hasMask[client] = flags[index]
            words.set(Array(bits[index * wordsPerClient ..< (index + 1) * wordsPerClient]),
                      at: ownership.position(of: client) * wordsPerClient)
        }
        return nil
    }
}
