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
    /// Spread of the clients' personalised accuracies (`ClientSpread`): population standard
    /// deviation, minimum and 10th percentile (linear interpolation). nil on rounds that are not
    /// evaluated and in rows read from files written before these fields existed.
    public var personalizedAccuracyStd: Double?
    public var personalizedAccuracyMin: Double?
    public var personalizedAccuracyP10: Double?
    /// Mean over clients of the mean test cross-entropy of the model each receives, and of the
    /// dense global model (nil as the accuracies, and in older files).
    public var personalizedLoss: Double?
    public var denseLoss: Double?
    /// Bytes the round's clients uploaded (`bytes_uplink`: their parameters and BN statistics as
    /// Float32; `Traffic`). The Swift name is the one older checkpoints hold.
    public var bytesUplinked: Int
    /// Bytes the round's clients downloaded to train (`bytes_downlink`: the model each received,
    /// dense or sparse, whichever is smaller; `Traffic`); nil in rows written before it existed.
    public var bytesDownlinked: Int?
    public var secondsTraining: Double
    public var secondsEvaluation: Double
    public var seconds: Double

    public init(round: Int, method: String, density: Double, receivedDensity: Double, clientsTrained: Int,
                clients: [Int]? = nil, trainLoss: Double, trainAccuracy: Double, personalizedAccuracy: Double?, denseAccuracy: Double?,
                globalAccuracy: Double?, personalizedAccuracyStd: Double? = nil, personalizedAccuracyMin: Double? = nil,
                personalizedAccuracyP10: Double? = nil, personalizedLoss: Double? = nil, denseLoss: Double? = nil,
                bytesUplinked: Int, bytesDownlinked: Int? = nil, secondsTraining: Double, secondsEvaluation: Double,
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
        self.personalizedAccuracyStd = personalizedAccuracyStd
        self.personalizedAccuracyMin = personalizedAccuracyMin
        self.personalizedAccuracyP10 = personalizedAccuracyP10
        self.personalizedLoss = personalizedLoss
        self.denseLoss = denseLoss
        self.bytesUplinked = bytesUplinked
        self.bytesDownlinked = bytesDownlinked
        self.secondsTraining = secondsTraining
        self.secondsEvaluation = secondsEvaluation
        self.seconds = seconds
    }
}
