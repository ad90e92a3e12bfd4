/// One row of `clients.csv`: one client's scores at one evaluated round (docs/semantics.md §9,
/// §10), each on the client's own test samples in evaluation mode. Every evaluated round has one
/// row per client that holds test samples, in client order.
public struct ClientMetrics: Sendable, Equatable, Codable {
    public var round: Int
    public var client: Int
    /// The client's test samples (`test_num`).
    public var samples: Int
    /// Accuracy of the model the client receives (masked on masking rounds, its own BN state with
    /// `bn: local`); its dense accuracy when it receives the plain global model.
    public var personalizedAccuracy: Double
    /// Accuracy of the dense global model with the global BN statistics.
    public var denseAccuracy: Double
    /// Mean cross-entropy over the samples, of the same two models.
    public var personalizedLoss: Double
    public var denseLoss: Double

    public init(round: Int, client: Int, samples: Int, personalizedAccuracy: Double, denseAccuracy: Double,
                personalizedLoss: Double, denseLoss: Double) {
        self.round = round
        self.client = client
        self.samples = samples
        self.personalizedAccuracy = personalizedAccuracy
        self.denseAccuracy = denseAccuracy
        self.personalizedLoss = personalizedLoss
        self.denseLoss = denseLoss
    }
}
