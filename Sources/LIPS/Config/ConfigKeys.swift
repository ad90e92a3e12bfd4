import Foundation

/// One YAML key of `ExperimentConfig`: how to read it from a parsed YAML value and how to write it.
struct ConfigKey: Sendable {
    let name: String
    let help: String
    /// Runtime keys change speed and safety, never results, so they are not part of a run's identity.
    let isRuntime: Bool
    let read: @Sendable (inout ExperimentConfig, ConfigValue) throws -> Void
    let write: @Sendable (ExperimentConfig) -> String
}

/// A parsed YAML value with typed accessors that say what they expected.
struct ConfigValue {
    let raw: Any?

    /// YAML's null arrives as NSNull inside collections and at the top level alike.
    init(raw: Any?) {
        self.raw = raw is NSNull ? nil : raw
    }
    struct Mismatch: Error { let expected: String }

    func int() throws -> Int {
        if let value = raw as? Int { return value }
        if let text = raw as? String, let value = Int(text) { return value }
        throw Mismatch(expected: "an integer")
    }
    func double() throws -> Double {
        if let value = raw as? Double { return value }
        if let value = raw as? Int { return Double(value) }
        if let text = raw as? String, let value = Double(text) { return value }
        throw Mismatch(expected: "a number")
    }
    func bool() throws -> Bool {
        if let value = raw as? Bool { return value }
        throw Mismatch(expected: "true or false")
    }
    func string() throws -> String {
        if let value = raw as? String { return value }
        if let value = raw as? Int { return String(value) }
        if let value = raw as? Double { return String(value) }
        throw Mismatch(expected: "a string")
    }
    func optionalString() throws -> String? { raw == nil ? nil : try string() }
    func optionalInt() throws -> Int? { raw == nil ? nil : try int() }
    func doubles() throws -> [Double] {
        guard let items = raw as? [Any?] else { throw Mismatch(expected: "a list of numbers, e.g. [0.5, 0.5, 0.5]") }
        var values: [Double] = []
        for item in items {
            guard let value = try? ConfigValue(raw: item).double() else { throw Mismatch(expected: "a list of numbers") }
            values.append(value)
        }
        return values
    }
    func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws -> E where E.RawValue == String {
        if let text = raw as? String, let value = E(rawValue: text.lowercased()) { return value }
        throw Mismatch(expected: "one of " + E.allCases.map(\.rawValue).joined(separator: ", "))
    }
}

/// YAML text of a value, as `ExperimentConfig.yaml()` writes it.
private func yamlNumber(_ value: Double) -> String { "\(value)" }
private func yamlString(_ value: String?) -> String {
    guard let value else { return "null" }
    let plain = value.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) } && !value.isEmpty
        && Double(value) == nil && !["null", "true", "false", "yes", "no", "on", "off", "~"].contains(value.lowercased())
    return plain ? value : "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
private func yamlList(_ values: [Double]) -> String { "[" + values.map(yamlNumber).joined(separator: ", ") + "]" }

extension ExperimentConfig {
    /// Every key, in the order `yaml()` writes them.
    static let keys: [ConfigKey] = [
        ConfigKey(name: "dataset", help: DatasetCatalog.names.joined(separator: " | "), isRuntime: false,
                  read: { $0.dataset = try $1.string().lowercased() }, write: { yamlString($0.dataset) }),
        ConfigKey(name: "data_dir", help: "dataset folder; null for the default", isRuntime: false,
                  read: { $0.dataDirectory = try $1.optionalString() }, write: { yamlString($0.dataDirectory) }),
        ConfigKey(name: "partition", help: "dirichlet | pathological | iid", isRuntime: false,
                  read: { $0.partition = try $1.choice(PartitionKind.self) }, write: { $0.partition.rawValue }),
        ConfigKey(name: "alpha", help: "Dirichlet concentration", isRuntime: false,
                  read: { $0.alpha = try $1.double() }, write: { yamlNumber($0.alpha) }),
        ConfigKey(name: "classes_per_client", help: "pathological partition only", isRuntime: false,
                  read: { $0.classesPerClient = try $1.int() }, write: { "\($0.classesPerClient)" }),
        ConfigKey(name: "clients", help: "number of clients", isRuntime: false,
                  read: { $0.clients = try $1.int() }, write: { "\($0.clients)" }),
        ConfigKey(name: "train_num", help: "train samples per client", isRuntime: false,
                  read: { $0.trainPerClient = try $1.int() }, write: { "\($0.trainPerClient)" }),
        ConfigKey(name: "test_num", help: "test samples per client", isRuntime: false,
                  read: { $0.testPerClient = try $1.int() }, write: { "\($0.testPerClient)" }),
        ConfigKey(name: "normalize_mean", help: "per-channel mean after x/255; [] for none", isRuntime: false,
                  read: { $0.normalizeMean = try $1.doubles() }, write: { yamlList($0.normalizeMean) }),
        ConfigKey(name: "normalize_std", help: "per-channel std; [] for none", isRuntime: false,
                  read: { $0.normalizeStd = try $1.doubles() }, write: { yamlList($0.normalizeStd) }),
        ConfigKey(name: "flip", help: "random horizontal flip (training)", isRuntime: false,
                  read: { $0.horizontalFlip = try $1.bool() }, write: { "\($0.horizontalFlip)" }),
        ConfigKey(name: "rotation", help: "random rotation in ±degrees (training); 0 for none", isRuntime: false,
                  read: { $0.rotationDegrees = try $1.double() }, write: { yamlNumber($0.rotationDegrees) }),
        ConfigKey(name: "crop_padding", help: "random crop after zero padding (training); 0 for none", isRuntime: false,
                  read: { $0.cropPadding = try $1.int() }, write: { "\($0.cropPadding)" }),
        ConfigKey(name: "synthetic_shape", help: "synthetic data: CxHxW", isRuntime: false,
                  read: { $0.syntheticShape = try $1.string() }, write: { yamlString($0.syntheticShape) }),
        ConfigKey(name: "synthetic_classes", help: "synthetic data: classes", isRuntime: false,
                  read: { $0.syntheticClasses = try $1.int() }, write: { "\($0.syntheticClasses)" }),
        ConfigKey(name: "synthetic_train", help: "synthetic data: train samples", isRuntime: false,
                  read: { $0.syntheticTrain = try $1.int() }, write: { "\($0.syntheticTrain)" }),
        ConfigKey(name: "synthetic_test", help: "synthetic data: test samples", isRuntime: false,
                  read: { $0.syntheticTest = try $1.int() }, write: { "\($0.syntheticTest)" }),
        ConfigKey(name: "model", help: Model.architectureNames.joined(separator: " | "), isRuntime: false,
                  read: { $0.model = try $1.string().lowercased() }, write: { yamlString($0.model) }),
        ConfigKey(name: "rounds", help: "communication rounds", isRuntime: false,
                  read: { $0.rounds = try $1.int() }, write: { "\($0.rounds)" }),
        ConfigKey(name: "local_epochs", help: "local epochs per round", isRuntime: false,
                  read: { $0.localEpochs = try $1.int() }, write: { "\($0.localEpochs)" }),
        ConfigKey(name: "batch_size", help: "local mini-batch size", isRuntime: false,
                  read: { $0.batchSize = try $1.int() }, write: { "\($0.batchSize)" }),
        ConfigKey(name: "lr", help: "SGD learning rate", isRuntime: false,
                  read: { $0.learningRate = try $1.double() }, write: { yamlNumber($0.learningRate) }),
        ConfigKey(name: "momentum", help: "SGD momentum", isRuntime: false,
                  read: { $0.momentum = try $1.double() }, write: { yamlNumber($0.momentum) }),
        ConfigKey(name: "weight_decay", help: "SGD weight decay", isRuntime: false,
                  read: { $0.weightDecay = try $1.double() }, write: { yamlNumber($0.weightDecay) }),
        ConfigKey(name: "participation", help: "fraction of clients per round (seeded); 1 = all", isRuntime: false,
                  read: { $0.participation = try $1.double() }, write: { yamlNumber($0.participation) }),
        ConfigKey(name: "method", help: "fedavg | lips", isRuntime: false,
                  read: { $0.method = try $1.choice(Method.self) }, write: { $0.method.rawValue }),
        ConfigKey(name: "update_d", help: "LIPS initial density d0 in (0, 1]", isRuntime: false,
                  read: { $0.updateDensity = try $1.double() }, write: { yamlNumber($0.updateDensity) }),
        ConfigKey(name: "update_freq", help: "LIPS masks every this many rounds", isRuntime: false,
                  read: { $0.updateFrequency = try $1.int() }, write: { "\($0.updateFrequency)" }),
        ConfigKey(name: "horizon", help: "LIPS schedule horizon R; null = rounds", isRuntime: false,
                  read: { $0.horizon = try $1.optionalInt() }, write: { $0.horizon.map { "\($0)" } ?? "null" }),
        ConfigKey(name: "criterion", help: "grad_weight (|g·w|) | weight (|w|)", isRuntime: false,
                  read: { $0.criterion = try $1.choice(MaskCriterion.self) }, write: { $0.criterion.rawValue }),
        ConfigKey(name: "bn", help: "received | local (BN parameters, biases and statistics stay on clients)", isRuntime: false,
                  read: { $0.batchNorm = try $1.choice(BatchNormMode.self) }, write: { $0.batchNorm.rawValue }),
        ConfigKey(name: "grad_precision", help: "fp16 | fp32 (stored last-step gradients)", isRuntime: false,
                  read: { $0.gradientPrecision = try $1.choice(GradientPrecision.self) }, write: { $0.gradientPrecision.rawValue }),
        ConfigKey(name: "eval_every", help: "evaluate every this many rounds (and the last)", isRuntime: false,
                  read: { $0.evalEvery = try $1.int() }, write: { "\($0.evalEvery)" }),
        ConfigKey(name: "global_test", help: "also score the global model on the whole test set", isRuntime: false,
                  read: { $0.globalTest = try $1.bool() }, write: { "\($0.globalTest)" }),
        ConfigKey(name: "reference_round", help: "round whose weights the L1/L2/cosine metrics compare to", isRuntime: false,
                  read: { $0.referenceRound = try $1.int() }, write: { "\($0.referenceRound)" }),
        ConfigKey(name: "seed", help: "every random stream derives from it", isRuntime: false,
                  read: { let v = try $1.int(); guard v >= 0 else { throw ConfigValue.Mismatch(expected: "a non-negative integer") }; $0.seed = UInt64(v) },
                  write: { "\($0.seed)" }),
        ConfigKey(name: "workers", help: "worker threads; 0 = one per core (results do not depend on it)", isRuntime: true,
                  read: { $0.workers = try $1.int() }, write: { "\($0.workers)" }),
        ConfigKey(name: "checkpoint_every", help: "rounds between checkpoints; 0 = only at the end and on Ctrl-C", isRuntime: true,
                  read: { $0.checkpointEvery = try $1.int() }, write: { "\($0.checkpointEvery)" }),
    ]
}
