/// One row of `metrics.jsonl` / `metrics.csv`: what a round did (docs/semantics.md §9, §10).
/// Accuracies are nil on rounds that are not evaluated; `seconds*` are the only fields that vary
/// between identical runs.
public struct RoundMetrics: Sendable, Equatable, Codable {
    public var round: Int
    public var method: String
    /// Density d_r the masks were cut at after this round's aggregation (1 when nothing was masked).
    public var density: Double
    /// Fraction of non-zeros actually received in the maskable layers, over all clients.
    public var receivedDensity: Double
    public var clientsTrained: Int
    /// The clients that trained, ascending (docs/semantics.md §8); nil in rows read from files
    /// without the field (and from `metrics.csv`, which leaves the list out).
    public var clients: [Int]?
    /// Sample-weighted means over the round's clients, over all local steps.
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// Mean over clients of the accuracy of the model each client receives (masked on masking rounds).
    public var personalizedAccuracy: Double?
    /// Mean over clients of the dense global model's accuracy on each client's test set.
    public var denseAccuracy: Double?
    /// Dense global model on the whole test set (config `global_test`).
    public var globalAccuracy: Double?
    /// Bytes the round's clients uploaded (their parameters and BN statistics as Float32).
    public var bytesUplinked: Int
    public var secondsTraining: Double
    public var secondsEvaluation: Double
    public var seconds: Double

    public init(round: Int, method: String, density: Double, receivedDensity: Double, clientsTrained: Int,
                clients: [Int]? = nil, trainLoss: Double, trainAccuracy: Double, personalizedAccuracy: Double?, denseAccuracy: Double?,
                globalAccuracy: Double?, bytesUplinked: Int, secondsTraining: Double, secondsEvaluation: Double,
                seconds: Double) {
        self.round = round
        self.method = method
        self.density = density
        self.receivedDensity = receivedDensity
        self.clientsTrained = clientsTrained
        self.clients = clients
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.personalizedAccuracy = personalizedAccuracy
        self.denseAccuracy = denseAccuracy
        self.globalAccuracy = globalAccuracy
        self.bytesUplinked = bytesUplinked
        self.secondsTraining = secondsTraining
        self.secondsEvaluation = secondsEvaluation
        self.seconds = seconds
    }
}
