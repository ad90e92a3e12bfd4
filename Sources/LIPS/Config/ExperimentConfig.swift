/// Everything that defines a federated run (the defaults of docs/semantics.md; the paper presets change some).
///
/// A run is a pure function of this config minus its *runtime* keys (`workers`, `save_global_every`,
/// `checkpoint_every`), which change speed and safety, never results. YAML keys are the
/// snake_case names in `ExperimentConfig.keys`; `ConfigLoader` reads, validates and writes them.
public struct ExperimentConfig: Sendable, Equatable {
    // MARK: Data
    /// One of `DatasetCatalog.names`.
    public var dataset = "fashion-mnist"
    /// Folder of the dataset; nil for its default folder.
    public var dataDirectory: String? = nil
    public var partition: PartitionKind = .dirichlet
    /// Dirichlet concentration (partition `dirichlet`).
    public var alpha = 0.1
    /// Classes per client (partition `pathological`).
    public var classesPerClient = 2
    public var clients = 100
    /// Train and test samples per client.
    public var trainPerClient = 100
    public var testPerClient = 400
    /// A JSON split (`SplitFile`) to run on instead of drawing one from `partition` (docs/semantics.md §2).
    public var splitFile: String? = nil
    /// SHA-256 of `splitFile`'s bytes; filled in when a run starts, then checked on every resume.
    public var splitSHA256: String? = nil
    /// Per-channel normalisation after x/255; empty for none.
    public var normalizeMean: [Double] = []
    public var normalizeStd: [Double] = []
    /// Training-time augmentation (docs/semantics.md §1).
    public var horizontalFlip = false
    public var rotationDegrees = 0.0
    public var cropPadding = 0
    /// Synthetic data only: image shape "CxHxW", classes and sample counts.
    public var syntheticShape = "3x32x32"
    public var syntheticClasses = 10
    public var syntheticTrain = 60_000
    public var syntheticTest = 10_000

    // MARK: Model and local training
    /// One of `Model.architectureNames`.
    public var model = "resnet8"
    /// A `.safetensors` file (PyTorch `state_dict` names) whose weights replace the seeded
    /// initialisation of the global model; nil for the seeded init. Relative to the working folder.
    public var initFrom: String? = nil
    /// The SHA-256 of `initFrom`, filled in by `Experiment` when the run starts; a resume whose
    /// file no longer has it is refused.
    public var initSHA256: String? = nil
    public var rounds = 30
    public var localEpochs = 5
    public var batchSize = 100
    /// Shuffle each client's samples before every local epoch; false trains in split order,
    /// without augmentation (docs/semantics.md §4).
    public var shuffle = true
    public var learningRate = 0.1
    public var momentum = 0.9
    public var weightDecay = 0.0
    /// Fraction of clients selected per round (seeded); 1 = all (the paper).
    public var participation = 1.0
    /// Clients per aggregation block: the FedAvg sum adds each block's clients in order, then the
    /// block sums in order (docs/semantics.md §5), so that it does not depend on how clients are spread.
    public var aggregationBlock = 10

    // MARK: Algorithm (docs/semantics.md §12)
    /// The local and server rule; LIPS (`method`) masks with any of them.
    public var algorithm: Algorithm = .fedavg
    /// FedProx's μ: each local step adds μ·(w − a) to the gradient, a the model the client received.
    public var proximalWeight = 0.01
    /// The server rule on the pseudo-gradient d = x − x̄: v ← β·v + d, x ← x − server_lr·v.
    /// With server_lr 1 and β 0 the new global model is the FedAvg average itself.
    public var serverLearningRate = 1.0
    public var serverMomentum = 0.0

    /// Whether the server steps on the pseudo-gradient instead of taking the average.
    public var usesServerRule: Bool { serverLearningRate != 1 || serverMomentum != 0 }

    // MARK: Method
    public var method: Method = .fedavg
    /// LIPS initial density d0 and masking period.
    public var updateDensity = 0.5
    public var updateFrequency = 5
    /// Horizon R of the density schedule d_r = d0 + (1 − d0)·r / R; nil means `rounds`.
    public var horizon: Int? = nil
    public var criterion: MaskCriterion = .gradientTimesWeight
    /// Whether clients receive BN parameters, biases and statistics (`received`) or keep theirs (`local`).
    public var batchNorm: BatchNormMode = .received
    /// Precision of each client's stored last-step gradient.
    public var gradientPrecision: GradientPrecision = .half

    // MARK: Evaluation
    public var evalEvery = 1
    /// Also score the dense global model on the whole test set.
    public var globalTest = false
    /// The round whose global weights the L1/L2/cosine inertia metrics compare against.
    public var referenceRound = 2

    // MARK: Run
    public var seed: UInt64 = 2
    /// Worker threads; 0 = one per core. Runtime only: results do not depend on it.
    public var workers = 0
    /// Rounds between checkpoints; 0 = only at the end and on interruption. Runtime only.
    public var checkpointEvery = 10
    /// Rounds between writes of the global model as `models/global-rN.safetensors`; 0 = never.
    /// Runtime only: it adds files, never changes results.
    public var saveGlobalEvery = 0

    public init() {}

    /// The LIPS horizon actually used.
    public var effectiveHorizon: Int { horizon ?? rounds }

    public enum PartitionKind: String, Sendable, CaseIterable { case dirichlet, pathological, iid }
    public enum Method: String, Sendable, CaseIterable { case fedavg, lips }
    public enum Algorithm: String, Sendable, CaseIterable { case fedavg, fedprox, scaffold, fedavgm }
    public enum MaskCriterion: String, Sendable, CaseIterable {
        /// |g ⊙ w| (the paper).
        case gradientTimesWeight = "grad_weight"
        /// |w| (magnitude pruning, for ablations).
        case weight
    }
    public enum BatchNormMode: String, Sendable, CaseIterable { case received, local }
    public enum GradientPrecision: String, Sendable, CaseIterable {
        case half = "fp16"
        case single = "fp32"
    }

    /// The partition scheme this config asks for.
    public var partitionScheme: PartitionScheme {
        switch partition {
        case .dirichlet: return .dirichlet(alpha: alpha)
        case .pathological: return .pathological(classesPerClient: classesPerClient)
        case .iid: return .iid
        }
    }
}
