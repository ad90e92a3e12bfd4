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
/// - SCAFFOLD (docs/semantics.md §12) also sends each training client the server's control variate
///   c with its model and receives the client's Δc_k with its trained model: `controlValues` (as many
///   as the parameters) more Float32 values each way per client, always dense.
///
/// All the arithmetic of the two metrics is here; an algorithm that sends something more per client
/// adds its term to `uplinkPerClient` and `receivedModelBytes`.
public struct Traffic: Sendable, Equatable {
    /// Values of one dense model: parameters plus BN running statistics.
    public let modelValues: Int
    /// Weights of the maskable tensors (docs/semantics.md §3), a part of the parameters.
    public let maskableWeights: Int
    /// Values of the control variate sent each way with each model (SCAFFOLD: the parameters; else 0).
    public let controlValues: Int

    public init(modelValues: Int, maskableWeights: Int, controlValues: Int = 0) {
        precondition(maskableWeights >= 0 && maskableWeights <= modelValues && controlValues >= 0,
                     "Traffic: \(maskableWeights) maskable weights of \(modelValues) values, \(controlValues) control values")
        self.modelValues = modelValues
        self.maskableWeights = maskableWeights
        self.controlValues = controlValues
    }

    static let valueBytes = MemoryLayout<Float>.size

    /// One dense model.
    public var denseModelBytes: Int { modelValues * Traffic.valueBytes }

    /// What one training client receives, its model's maskable tensors holding `maskableNonzeros`
    /// non-zero values: the model in the cheaper of dense and sparse (values outside the maskable
    /// tensors, the non-zero maskable values, and ⌈maskable weights / 8⌉ bytes of bitmask), plus the
    /// control variate.
    public func receivedModelBytes(maskableNonzeros: Int) -> Int {
        let sparse = (modelValues - maskableWeights + maskableNonzeros) * Traffic.valueBytes + (maskableWeights + 7) / 8
        return min(denseModelBytes, sparse) + controlValues * Traffic.valueBytes
    }

    /// What one training client sends: its trained model, dense, and its control variate's change.
    public var uplinkPerClient: Int { denseModelBytes + controlValues * Traffic.valueBytes }

    /// A round's uplink: what `clients` training clients send.
    public func uplink(clients: Int) -> Int {
        clients * uplinkPerClient
    }

    /// A round's downlink: one received model per training client, given each one's maskable non-zeros.
    public func downlink(maskableNonzeros: [Int]) -> Int {
        maskableNonzeros.reduce(0) { $0 + receivedModelBytes(maskableNonzeros: $1) }
    }
}
