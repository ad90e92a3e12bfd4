import Foundation

/// One YAML key of `ExperimentConfig`: its name, a one-line meaning, how to read it from a parsed
/// YAML value and how to write it back as YAML text.
struct ConfigKey: Sendable {
    let name: String
    let help: String
    /// Runtime keys change speed and safety, never results, so they are not part of a run's identity.
    let isRuntime: Bool
    /// Keys added after runs were made leave `identity()` while at their default, so a checkpoint
    /// recorded before them still resumes.
    var identityOmitsDefault = false
    let read: @Sendable (inout ExperimentConfig, ConfigValue) throws -> Void
    let write: @Sendable (ExperimentConfig) -> String
}

extension ExperimentConfig {
    /// Every key, in the order `yaml()` writes them.
    static let keys: [ConfigKey] = [
        // Data
        .text("dataset", \.dataset, DatasetCatalog.names.joined(separator: " | "),
              canonical: { canonicalName($0, among: DatasetCatalog.names) }),
        .optionalText("data_dir", \.dataDirectory, "dataset folder; null for its default"),
        .choice("partition", \.partition, "dirichlet | pathological | iid"),
        .number("alpha", \.alpha, "Dirichlet concentration (partition dirichlet)"),
        .integer("classes_per_client", \.classesPerClient, "classes per client (partition pathological)"),
        .integer("clients", \.clients, "number of clients"),
        .integer("train_num", \.trainPerClient, "train samples per client"),
        .integer("test_num", \.testPerClient, "test samples per client"),
        .optionalText("split_file", \.splitFile, "JSON split to run on instead of drawing one (lips data split); null to draw"),
        .optionalText("split_sha256", \.splitSHA256, "SHA-256 of split_file, recorded when the run starts; null to take the file as it is"),
        .numbers("normalize_mean", \.normalizeMean, "per-channel mean after x/255; [] for none"),
        .numbers("normalize_std", \.normalizeStd, "per-channel std; [] for none"),
        .flag("flip", \.horizontalFlip, "random horizontal flip (training)"),
        .number("rotation", \.rotationDegrees, "random rotation within ±degrees (training); 0 for none"),
        .integer("crop_padding", \.cropPadding, "random crop after zero padding (training); 0 for none"),
        .text("synthetic_shape", \.syntheticShape, "synthetic data: CxHxW", canonical: { $0.lowercased() }),
        .integer("synthetic_classes", \.syntheticClasses, "synthetic data: classes"),
        .integer("synthetic_train", \.syntheticTrain, "synthetic data: train samples"),
        .integer("synthetic_test", \.syntheticTest, "synthetic data: test samples"),
        // Model and local training
        .text("model", \.model, Model.architectureNames.joined(separator: " | "),
              canonical: { canonicalName($0, among: Model.architectureNames) }),
        .optionalText("init_from", \.initFrom, "initial global model from a .safetensors file (PyTorch state_dict names); null = seeded init"),
        .optionalText("init_sha256", \.initSHA256, "SHA-256 of init_from, recorded when the run starts; a resume with another file is refused"),
        .integer("rounds", \.rounds, "communication rounds"),
        .integer("local_epochs", \.localEpochs, "local epochs per round"),
        .integer("batch_size", \.batchSize, "local mini-batch size"),
        .flag("shuffle", \.shuffle, "shuffle local samples each epoch; false: split order, no augmentation"),
        .number("lr", \.learningRate, "SGD learning rate"),
        .number("momentum", \.momentum, "SGD momentum"),
        .number("weight_decay", \.weightDecay, "SGD weight decay"),
        .number("participation", \.participation, "fraction of clients per round (seeded); 1 = all"),
        .integer("aggregation_block", \.aggregationBlock,
                 "FedAvg sums blocks of this many consecutive clients, then the blocks, in order (§5)"),
        // Algorithm: the local and server rules (docs/semantics.md §12); LIPS masks with any of them
        .choice("algorithm", \.algorithm, "fedavg | fedprox (mu) | scaffold (control variates) | fedavgm (server_momentum)")
            .addedLater,
        .number("mu", \.proximalWeight, "FedProx proximal weight μ (algorithm fedprox)").addedLater,
        .number("server_lr", \.serverLearningRate, "server step on x − x̄ (1 with server_momentum 0: the plain average)")
            .addedLater,
        .number("server_momentum", \.serverMomentum, "server momentum β (fedavgm needs > 0; any algorithm may use it)")
            .addedLater,
        // Method
        .choice("method", \.method, "fedavg (dense) | lips (transient sparsity, with any algorithm)"),
        .number("update_d", \.updateDensity, "LIPS initial density d0 in (0, 1]"),
        .integer("update_freq", \.updateFrequency, "LIPS masks every this many rounds"),
        .optionalInteger("horizon", \.horizon, "LIPS schedule horizon R; null = rounds"),
        .choice("criterion", \.criterion, "grad_weight (|g·w|) | weight (|w|)"),
        .choice("bn", \.batchNorm, "received | local (BN parameters, biases and statistics stay on clients)"),
        .choice("grad_precision", \.gradientPrecision, "fp16 | fp32 (stored last-step gradients)"),
        // Evaluation
        .integer("eval_every", \.evalEvery, "evaluate every this many rounds (and the last)"),
        .flag("global_test", \.globalTest, "also score the global model on the whole test set"),
        .integer("reference_round", \.referenceRound, "round whose weights the L1/L2/cosine metrics compare to"),
        // Run
        .unsigned("seed", \.seed, "every random stream derives from it"),
        .integer("workers", \.workers, "worker threads; 0 = one per core (runtime: results do not depend on it)",
                 runtime: true),
        .integer("checkpoint_every", \.checkpointEvery, "rounds between checkpoints; 0 = only at the end and on Ctrl-C (runtime)",
                 runtime: true),
        .integer("save_global_every", \.saveGlobalEvery,
                 "write models/global-rN.safetensors every this many rounds (and the last); 0 = never (runtime)",
                 runtime: true),
    ]

    /// `text` lowercased, or the catalog name it spells with other separators ("tiny-imagenet" →
    /// "tinyimagenet", "vgg11_bn" → "vgg11bn"); unknown names stay as written for `validate()` to report.
    static func canonicalName(_ text: String, among names: [String]) -> String {
        let lowered = text.lowercased()
        func squeezed(_ s: String) -> String { s.filter { $0 != "-" && $0 != "_" } }
        return names.first { squeezed($0) == squeezed(lowered) } ?? lowered
    }
}

// MARK: - Key constructors, one per value type

private extension ConfigKey {
    /// This key, left out of `identity()` while at its default.
    var addedLater: ConfigKey {
        var key = self
        key.identityOmitsDefault = true
        return key
    }
}

private typealias Path<T> = WritableKeyPath<ExperimentConfig, T> & Sendable

private extension ConfigKey {
    static func make<T>(_ name: String, _ path: Path<T>, _ help: String, runtime: Bool = false,
                        read: @escaping @Sendable (ConfigValue) throws -> T,
                        write: @escaping @Sendable (T) -> String) -> ConfigKey {
        ConfigKey(name: name, help: help, isRuntime: runtime,
                  read: { config, value in config[keyPath: path] = try read(value) },
                  write: { config in write(config[keyPath: path]) })
    }

    static func integer(_ name: String, _ path: Path<Int>, _ help: String, runtime: Bool = false) -> ConfigKey {
        make(name, path, help, runtime: runtime, read: { try $0.int() }, write: { "\($0)" })
    }
    static func optionalInteger(_ name: String, _ path: Path<Int?>, _ help: String) -> ConfigKey {
        make(name, path, help, read: { try $0.optionalInt() }, write: { $0.map { "\($0)" } ?? "null" })
    }
    static func unsigned(_ name: String, _ path: Path<UInt64>, _ help: String) -> ConfigKey {
        make(name, path, help, read: { try $0.unsigned() }, write: { "\($0)" })
    }
    static func number(_ name: String, _ path: Path<Double>, _ help: String) -> ConfigKey {
        make(name, path, help, read: { try $0.double() }, write: YAMLText.number)
    }
    static func numbers(_ name: String, _ path: Path<[Double]>, _ help: String) -> ConfigKey {
        make(name, path, help, read: { try $0.doubles() }, write: YAMLText.numbers)
    }
    static func flag(_ name: String, _ path: Path<Bool>, _ help: String) -> ConfigKey {
        make(name, path, help, read: { try $0.bool() }, write: { "\($0)" })
    }
    static func text(_ name: String, _ path: Path<String>, _ help: String,
                     canonical: @escaping @Sendable (String) -> String) -> ConfigKey {
        make(name, path, help, read: { canonical(try $0.string()) }, write: { YAMLText.string($0) })
    }
    static func optionalText(_ name: String, _ path: Path<String?>, _ help: String) -> ConfigKey {
        make(name, path, help, read: { try $0.optionalString() }, write: YAMLText.string)
    }
    static func choice<E: RawRepresentable & CaseIterable & Sendable>(_ name: String, _ path: Path<E>, _ help: String) -> ConfigKey
    where E.RawValue == String {
        make(name, path, help, read: { try $0.choice(E.self) }, write: { $0.rawValue })
    }
}
