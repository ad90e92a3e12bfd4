/// The bytes of one round's communication as a deployment would send them (docs/semantics.md
/// §10, `bytes_uplink` and `bytes_downlink`): every value as Float32, nothing compressed but LIPS's
/// masked weights.
///
/// - Uplink: each client that trains sends its whole trained model, parameters and BN running
///   statistics, dense.
/// - Downlink: each client that trains first receives its model (the global model, masked on
///   LIPS's masking rounds), in the cheaper of two encodings: dense, or sparse — every value outside
///   the maskable tensors dense, the maskable tensors as their non-zero values plus a bitmask with
///   one bit per maskable weight (set where a value is sent), the bitmask rounded up to whole bytes.
///   A model with fewer zeros than one in 32 maskable weights is sent dense.
///
/// All the arithmetic of the two metrics is here. An algorithm that sends more per client (SCAFFOLD's
/// control variates: as many values as the parameters, each way) adds its term to `uplink` and
/// `downlink`.
public struct Traffic: Sendable, Equatable {
    /// Values of one dense model: parameters plus BN running statistics.
    public let modelValues: Int
    /// Weights of the maskable tensors (docs/semantics.md §3), a part of the parameters.
    public let maskableWeights: Int

    public init(modelValues: Int, maskableWeights: Int) {
        precondition(maskableWeights >= 0 && maskableWeights <= modelValues, "Traffic: \(maskableWeights) maskable weights of \(modelValues) values")
        self.modelValues = modelValues
        self.maskableWeights = maskableWeights
    }

    static let valueBytes = MemoryLayout<Float>.size

    /// One dense model.
    public var denseModelBytes: Int { modelValues * Traffic.valueBytes }

    /// One received model whose maskable tensors hold `maskableNonzeros` non-zero values: the
    /// cheaper of dense and sparse (values outside the maskable tensors, the non-zero maskable
    /// values, and ⌈maskable weights / 8⌉ bytes of bitmask).
    public func receivedModelBytes(maskableNonzeros: Int) -> Int {
        let sparse = (modelValues - maskableWeights + maskableNonzeros) * Traffic.valueBytes + (maskableWeights + 7) / 8
        return min(denseModelBytes, sparse)
    }

    /// A round's uplink: `clients` trained models, dense.
    public func uplink(clients: Int) -> Int {
        clients * denseModelBytes
    }

    /// A round's downlink: one received model per training client, given each one's maskable non-zeros.
    public func downlink(maskableNonzeros: [Int]) -> Int {
        maskableNonzeros.reduce(0) { $0 + receivedModelBytes(maskableNonzeros: $1) }
    }
}
