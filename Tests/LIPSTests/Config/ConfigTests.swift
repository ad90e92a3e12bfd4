import Foundation
import Testing
@testable import LIPS

/// Reading, writing and validating configs, the presets, and every error a user can make.
@Suite struct ConfigTests {
    /// The package root (this file is Tests/LIPSTests/Config/ConfigTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    // MARK: Defaults

    @Test func defaultsAreTheDocumentedOnes() throws {
        let c = ExperimentConfig()
        #expect(c.dataset == "fashion-mnist" && c.dataDirectory == nil && c.partition == .dirichlet && c.alpha == 0.1)
        #expect(c.classesPerClient == 2 && c.clients == 100 && c.trainPerClient == 100 && c.testPerClient == 400)
        #expect(c.normalizeMean.isEmpty && c.normalizeStd.isEmpty && !c.horizontalFlip && c.rotationDegrees == 0 && c.cropPadding == 0)
        #expect(c.syntheticShape == "3x32x32" && c.syntheticClasses == 10 && c.syntheticTrain == 60_000 && c.syntheticTest == 10_000)
        #expect(c.model == "resnet8" && c.rounds == 30 && c.localEpochs == 5 && c.batchSize == 100)
        #expect(c.learningRate == 0.1 && c.momentum == 0.9 && c.weightDecay == 0 && c.participation == 1 && c.aggregationBlock == 10)
        #expect(c.method == .fedavg && c.updateDensity == 0.5 && c.updateFrequency == 5 && c.horizon == nil)
        #expect(c.criterion == .gradientTimesWeight && c.batchNorm == .received && c.gradientPrecision == .half)
        #expect(c.evalEvery == 1 && !c.globalTest && c.referenceRound == 2 && c.seed == 2)
        #expect(c.workers == 0 && c.checkpointEvery == 10)
        try c.validate()
        #expect(try ExperimentConfig.load(yaml: "", source: "empty.yaml") == c)
        #expect(try ExperimentConfig.load(yaml: "# only a comment\n", source: "c.yaml") == c)
    }

    @Test func keyTableMatchesTheReadme() {
        #expect(ExperimentConfig.keyNames == [
            "dataset", "data_dir", "partition", "alpha", "classes_per_client", "clients", "train_num", "test_num",
            "split_file", "split_sha256", "normalize_mean", "normalize_std", "flip", "rotation", "crop_padding", "synthetic_shape",
            "synthetic_classes", "synthetic_train", "synthetic_test", "model", "init_from", "init_sha256", "rounds", "local_epochs",
            "batch_size", "shuffle", "lr", "momentum",
            "weight_decay", "participation", "aggregation_block", "algorithm", "mu", "server_lr", "server_momentum", "method", "update_d", "update_freq", "horizon", "criterion", "bn",
            "grad_precision", "eval_every", "global_test", "reference_round", "seed", "workers", "checkpoint_every",
            "save_global_every",
        ])
        #expect(ExperimentConfig.keys.filter(\.isRuntime).map(\.name) == ["workers", "checkpoint_every", "save_global_every"])
    }

    // MARK: Writing and reading back

    /// A config with every field away from its default, including values YAML could misread.
    static func unusual() -> ExperimentConfig {
        var c = ExperimentConfig()
        c.dataset = "cifar100"; c.dataDirectory = "data/my folder: #1"; c.partition = .pathological; c.alpha = 0.30000000000000004
        c.classesPerClient = 3; c.clients = 7; c.trainPerClient = 11; c.testPerClient = 0
        c.splitFile = "splits/a b: #1.json"; c.splitSHA256 = String(repeating: "0f", count: 32)
        c.shuffle = false
        c.normalizeMean = [0.507, 0.487, 0.441]; c.normalizeStd = [1e-05, 2, 0.25]; c.horizontalFlip = true
        c.rotationDegrees = 12.5; c.cropPadding = 4; c.syntheticShape = "1x8x9"; c.syntheticClasses = 3
        c.syntheticTrain = 50; c.syntheticTest = 20; c.model = "vgg11bn"
        c.initFrom = "weights/my: model #2.safetensors"; c.initSHA256 = String(repeating: "0f", count: 32); c.rounds = 300; c.localEpochs = 2
        c.batchSize = 32; c.learningRate = 1e-3; c.momentum = 0; c.weightDecay = 5e-4; c.participation = 0.25
        c.aggregationBlock = 3
        c.algorithm = .fedavgm; c.proximalWeight = 0.125; c.serverLearningRate = 0.75; c.serverMomentum = 0.5
        c.method = .lips; c.updateDensity = 0.3; c.updateFrequency = 4; c.horizon = 200; c.criterion = .weight
        c.batchNorm = .local; c.gradientPrecision = .single; c.evalEvery = 5; c.globalTest = true
        c.referenceRound = 0; c.seed = .max; c.workers = 3; c.checkpointEvery = 0
        return c
    }

    @Test func yamlRoundTrips() throws {
        for config in [ExperimentConfig(), Self.unusual()] {
            let text = config.yaml()
            #expect(try ExperimentConfig.load(yaml: text, source: "t.yaml") == config)
            #expect(text.hasPrefix("#"))
            // Every key once, in table order.
            #expect(Self.keysWritten(in: text) == ExperimentConfig.keyNames)
        }
    }

    /// The keys of a YAML text written one `key: value` per line, in order.
    static func keysWritten(in text: String) -> [String] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.prefix { $0 != ":" }) }
    }

    @Test(arguments: ["null", "~", "yes", "No", "0x1F", "1_000", "2001-12-14", ".inf", "3", "1e5", "", " padded ",
                      "a: b", "# not a comment", "quote \" and \\ backslash", "tab\tand\nnewline", "/data/ü-ß.bin", "[1, 2]"])
    func stringsThatLookLikeOtherYAMLRoundTrip(_ directory: String) throws {
        var config = ExperimentConfig()
        config.dataDirectory = directory
        #expect(try ExperimentConfig.load(yaml: config.yaml(), source: "t").dataDirectory == directory)
    }

    // MARK: Presets

    @Test func presetsLoadValidateAndHoldThePaperSetting() throws {
        #expect(Presets.names.count == 8)
        for name in Presets.names {
            let c = try Presets.config(named: name)
            try c.validate()
            #expect(c.clients == 100 && c.partition == .dirichlet && c.alpha == 0.1 && c.trainPerClient == 100, "\(name)")
            #expect(c.testPerClient == 400 && c.seed == 2 && c.localEpochs == 5 && c.batchSize == 100, "\(name)")
            #expect(c.learningRate == 0.1 && c.momentum == 0.9 && c.weightDecay == 0 && c.participation == 1, "\(name)")
            #expect(c.method == (name.hasSuffix("-lips") ? .lips : .fedavg), "\(name)")
            #expect(c.updateFrequency == 5 && c.horizon == nil, "\(name)")
            #expect(c.rounds == (name.hasPrefix("fmnist") ? 30 : 300), "\(name)")
            #expect(c.updateDensity == (name.hasPrefix("cifar100") || name.hasPrefix("tinyimagenet") ? 0.3 : 0.5), "\(name)")
            #expect(Self.keysWritten(in: try Presets.yaml(named: name)) == ExperimentConfig.keyNames,
                    "\(name) does not list every key in table order")
        }
        for family in ["fmnist-resnet8", "cifar10-vgg11bn", "cifar100-resnet8", "tinyimagenet-resnet10"] {
            var twin = try Presets.config(named: "\(family)-fedavg")
            try twin.apply(setting: "method=lips")
            #expect(twin == (try Presets.config(named: "\(family)-lips")), "\(family): FedAvg twin differs beyond method")
        }
    }

    @Test func presetsUseEachDatasetsModelAndAugmentation() throws {
        let norm = ([0.507, 0.487, 0.441], [0.267, 0.256, 0.276])
        for method in ["fedavg", "lips"] {
            let fmnist = try Presets.config(named: "fmnist-resnet8-\(method)")
            #expect(fmnist.dataset == "fashion-mnist" && fmnist.model == "resnet8")
            #expect(!fmnist.horizontalFlip && fmnist.rotationDegrees == 0 && fmnist.cropPadding == 0 && fmnist.normalizeMean.isEmpty)
            let cifar10 = try Presets.config(named: "cifar10-vgg11bn-\(method)")
            #expect(cifar10.dataset == "cifar10" && cifar10.model == "vgg11bn")
            #expect(!cifar10.horizontalFlip && cifar10.rotationDegrees == 0 && cifar10.cropPadding == 0 && cifar10.normalizeStd.isEmpty)
            let cifar100 = try Presets.config(named: "cifar100-resnet8-\(method)")
            #expect(cifar100.dataset == "cifar100" && cifar100.model == "resnet8")
            #expect(cifar100.horizontalFlip && cifar100.rotationDegrees == 15 && cifar100.cropPadding == 4)
            #expect(cifar100.normalizeMean == norm.0 && cifar100.normalizeStd == norm.1)
            let tiny = try Presets.config(named: "tinyimagenet-resnet10-\(method)")
            #expect(tiny.dataset == "tinyimagenet" && tiny.model == "resnet10")
            #expect(tiny.horizontalFlip && tiny.rotationDegrees == 15 && tiny.cropPadding == 0)
            #expect(tiny.normalizeMean == norm.0 && tiny.normalizeStd == norm.1)
        }
        expectUserError("unknown preset 'nope'", "fmnist-resnet8-lips", "tinyimagenet-resnet10-fedavg") {
            _ = try Presets.config(named: "nope")
        }
    }

    /// `configs/` is a relative symlink to the embedded folder, which holds exactly the listed presets.
    @Test func configsFolderIsTheEmbeddedPresets() throws {
        let configs = Self.root.appendingPathComponent("configs").path
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: configs) == "Sources/LIPS/Config/Presets")
        let folder = Self.root.appendingPathComponent("Sources/LIPS/Config/Presets").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(files == Presets.names.map { "\($0).yaml" }.sorted(), "Presets.names must list every file in Config/Presets")
        for name in Presets.names {
            let text = try String(contentsOfFile: "\(configs)/\(name).yaml", encoding: .utf8)
            #expect(text == (try Presets.yaml(named: name)), "configs/\(name).yaml differs from the embedded preset (rebuild)")
            #expect(try ExperimentConfig.load(file: "\(configs)/\(name).yaml") == (try Presets.config(named: name)))
        }
    }

    // MARK: --set and set(_:to:source:)

    @Test func settingsParseAsYAMLScalars() throws {
        var c = ExperimentConfig()
        for setting in ["rounds=7", "alpha=0.5", "flip=true", "normalize_mean=[0.5,0.5,0.5]", "horizon=12", "horizon=null",
                        "method=lips", "bn=local", "criterion=weight", "grad_precision=fp32", "lr=1e-3", "rotation=15",
                        "seed=18446744073709551615", "data_dir=/tmp/my data", "dataset=Tiny-ImageNet", "model=VGG11_BN",
                        "partition = iid", "synthetic_shape=1X28X28"] {
            try c.apply(setting: setting)
        }
        #expect(c.rounds == 7 && c.alpha == 0.5 && c.horizontalFlip && c.normalizeMean == [0.5, 0.5, 0.5] && c.horizon == nil)
        #expect(c.method == .lips && c.batchNorm == .local && c.criterion == .weight && c.gradientPrecision == .single)
        #expect(c.learningRate == 0.001 && c.rotationDegrees == 15 && c.seed == .max && c.dataDirectory == "/tmp/my data")
        #expect(c.dataset == "tinyimagenet" && c.model == "vgg11bn" && c.partition == .iid && c.syntheticShape == "1x28x28")
        try c.apply(setting: "data_dir=")
        #expect(c.dataDirectory == nil)
        // The method sweeps use: any parsed YAML value, under any source name.
        try c.set("rounds", to: 9, source: "grid")
        try c.set("normalize_std", to: [1, 0.5] as [Any], source: "grid")
        try c.set("horizon", to: nil, source: "grid")
        #expect(c.rounds == 9 && c.normalizeStd == [1, 0.5] && c.horizon == nil)
        expectUserError("grid", "'rounds' must be an integer", "'x'") { try c.set("rounds", to: "x", source: "grid") }
    }

    @Test(arguments: [
        ("rounds", "expected key=value"), ("=3", "expected key=value"),
        ("learning_rate=0.1", "unknown key 'learning_rate' (did you mean 'lr'?)"),
        ("roundz=3", "unknown key 'roundz' (did you mean 'rounds'?)"),
        ("clients=many", "'clients' must be an integer, found 'many'"),
        ("clients=2.5", "'clients' must be an integer, found '2.5'"),
        ("alpha=abc", "'alpha' must be a number, found 'abc'"),
        ("flip=3", "'flip' must be true or false, found '3'"),
        ("normalize_mean=0.5", "'normalize_mean' must be a list of numbers"),
        ("normalize_mean=[0.5, a]", "'normalize_mean' must be a list of numbers, e.g. [0.5, 0.5, 0.5], found '[0.5, a]'"),
        ("method=fedprox", "'method' must be one of fedavg, lips, found 'fedprox'"),
        ("partition=random", "'partition' must be one of dirichlet, pathological, iid"),
        ("bn=global", "'bn' must be one of received, local"),
        ("criterion=grad", "'criterion' must be one of grad_weight, weight"),
        ("grad_precision=fp64", "'grad_precision' must be one of fp16, fp32"),
        ("horizon=soon", "'horizon' must be an integer or null, found 'soon'"),
        ("seed=-1", "'seed' must be a non-negative integer, found '-1'"),
        ("rounds=null", "'rounds' must be an integer, found 'null'"),
        ("dataset=[a, b]", "'dataset' must be a string, found '[a, b]'"),
    ])
    func badSettingsAreOneLineErrors(setting: String, message: String) {
        var c = ExperimentConfig()
        expectUserError("--set", message) { try c.apply(setting: setting) }
    }

    // MARK: Files

    @Test func fileErrorsNameTheFileLineAndKey() throws {
        expectUserError("cfg.yaml:2: unknown key 'learning_rate' (did you mean 'lr'?)") {
            _ = try ExperimentConfig.load(yaml: "rounds: 3\nlearning_rate: 0.1\n", source: "cfg.yaml")
        }
        expectUserError("cfg.yaml:1: 'clients' must be an integer, found 'many'") {
            _ = try ExperimentConfig.load(yaml: "clients: many", source: "cfg.yaml")
        }
        expectUserError("cfg.yaml", "expected a mapping") { _ = try ExperimentConfig.load(yaml: "- 1\n- 2", source: "cfg.yaml") }
        expectUserError("cfg.yaml", "expected a mapping") { _ = try ExperimentConfig.load(yaml: "30", source: "cfg.yaml") }
        expectUserError("cfg.yaml: not valid YAML") { _ = try ExperimentConfig.load(yaml: "rounds: [3", source: "cfg.yaml") }
        expectUserError("cfg.yaml: not valid YAML", "rounds") { _ = try ExperimentConfig.load(yaml: "rounds: 3\nrounds: 4", source: "cfg.yaml") }
        expectUserError("/nonexistent/missing.yaml: config file not found") {
            _ = try ExperimentConfig.load(file: "/nonexistent/missing.yaml")
        }
        let folder = try TemporaryFolder()
        defer { folder.cleanup() }
        expectUserError(folder.path, "is a folder") { _ = try ExperimentConfig.load(file: folder.path) }
        let file = folder.url.appendingPathComponent("my.yaml")
        try "method: lips\nupdate_d: 0.25\nhorizon: ~\n".write(to: file, atomically: true, encoding: .utf8)
        let loaded = try ExperimentConfig.load(file: file.path)
        #expect(loaded.method == .lips && loaded.updateDensity == 0.25 && loaded.horizon == nil && loaded.rounds == 30)
        try "seed: x\n".write(to: file, atomically: true, encoding: .utf8)
        expectUserError("\(file.path):1: 'seed'") { _ = try ExperimentConfig.load(file: file.path) }
    }

    @Test func unknownKeysGetTheNearestSuggestion() {
        let cases: [(String, String?)] = [
            ("roundz", "rounds"), ("learning_rate", "lr"), ("batchsize", "batch_size"), ("Rounds", "rounds"),
            ("local-epochs", "local_epochs"), ("num_rounds", "rounds"), ("dirichlet_alpha", "alpha"), ("seeds", "seed"),
            ("x", nil), ("zzzzzzzzzz", nil),
        ]
        for (typo, expected) in cases {
            #expect(ExperimentConfig.nearestKey(to: typo) == expected, "\(typo)")
        }
    }

    // MARK: Validation

    @Test(arguments: [
        (["update_d=0"], "update_d"), (["update_d=1.5"], "update_d"), (["alpha=0"], "alpha"), (["alpha=-1"], "alpha"),
        (["rounds=0"], "rounds"), (["batch_size=0"], "batch_size"), (["clients=0"], "clients"),
        (["local_epochs=0"], "local_epochs"), (["train_num=0"], "train_num"), (["eval_every=0"], "eval_every"),
        (["update_freq=0"], "update_freq"), (["test_num=-1"], "test_num"), (["participation=0"], "participation"),
        (["participation=1.5"], "participation"), (["lr=0"], "lr"), (["lr=-0.1"], "lr"), (["momentum=1"], "momentum"),
        (["momentum=-0.1"], "momentum"), (["weight_decay=-1"], "weight_decay"), (["horizon=0"], "horizon"),
        (["reference_round=-1"], "reference_round"), (["workers=-1"], "workers"), (["checkpoint_every=-1"], "checkpoint_every"),
        (["normalize_mean=[0.5]"], "normalize_std"), (["normalize_std=[1, 1]", "normalize_mean=[0, 0, 0]"], "normalize_std"),
        (["normalize_mean=[0, 0]", "normalize_std=[1, 0]"], "normalize_std"), (["rotation=-5"], "rotation"),
        (["crop_padding=-1"], "crop_padding"), (["dataset=imagenet"], "dataset"), (["model=resnet9"], "model"),
        (["classes_per_client=0"], "classes_per_client"), (["synthetic_shape=3x32"], "synthetic_shape"),
        (["synthetic_shape=0x32x32"], "synthetic_shape"), (["synthetic_shape=big"], "synthetic_shape"),
        // Sizes that once crashed (overflow) or exhausted memory instead of a one-line error.
        (["clients=1000000000"], "clients"), (["batch_size=10000", "train_num=20"], "batch_size"),
        (["workers=100000"], "workers"), (["rotation=1e308"], "rotation"), (["crop_padding=4611686018427387904"], "crop_padding"),
        (["synthetic_shape=3x4294967296x4294967296"], "synthetic_shape"), (["synthetic_shape=3x100000x100000"], "synthetic_shape"),
        (["synthetic_classes=4611686018427387904"], "synthetic_classes"), (["synthetic_train=4611686018427387904"], "synthetic_train"),
    ])
    func invalidValuesAreOneLineErrorsNamingTheKey(settings: [String], key: String) throws {
        var c = ExperimentConfig()
        for setting in settings { try c.apply(setting: setting) }
        expectUserError("'\(key)'", "must be") { try c.validate() }
    }

    @Test func boundaryValuesAreValid() throws {
        var c = ExperimentConfig()
        for setting in ["update_d=1", "participation=1", "momentum=0", "test_num=0", "reference_round=0", "workers=0",
                        "checkpoint_every=0", "horizon=1", "weight_decay=0", "rotation=0", "crop_padding=0",
                        "normalize_mean=[0.5]", "normalize_std=[0.25]", "dataset=synthetic", "model=cnn", "update_freq=1"] {
            try c.apply(setting: setting)
        }
        try c.validate()
        try c.apply(setting: "partition=iid")
        try c.apply(setting: "alpha=0")  // alpha only matters for the Dirichlet partition
        try c.validate()
        c.dataset = "tiny-imagenet"; c.model = "vgg11_bn"  // other spellings, as the loaders accept them
        try c.validate()
    }

    // MARK: Identity and values

    @Test func identityIgnoresOnlyRuntimeKeys() throws {
        var a = ExperimentConfig(), b = ExperimentConfig()
        b.workers = 7
        b.checkpointEvery = 1
        b.saveGlobalEvery = 1
        #expect(a.identity() == b.identity())
        #expect(!a.identity().contains("workers") && !a.identity().contains("checkpoint_every"))
        a.seed = 3
        #expect(a.identity() != b.identity())
        for key in ExperimentConfig.keyNames where !["workers", "checkpoint_every", "save_global_every"].contains(key) {
            var changed = Self.unusual()
            try changed.apply(setting: "\(key)=\(ExperimentConfig().value(forKey: key) ?? "")")
            #expect(changed.identity() != Self.unusual().identity(), "identity ignores \(key)")
        }
    }

    @Test func valuesAsText() {
        var c = ExperimentConfig()
        c.seed = 3
        c.normalizeMean = [0.5, 0.25]
        c.method = .lips
        #expect(c.value(forKey: "seed") == "3" && c.value(forKey: "normalize_mean") == "[0.5, 0.25]")
        #expect(c.value(forKey: "method") == "lips" && c.value(forKey: "horizon") == "null" && c.value(forKey: "lr") == "0.1")
        #expect(c.value(forKey: "dataset") == "fashion-mnist" && c.value(forKey: "flip") == "false")
        #expect(c.value(forKey: "nope") == nil)
    }
}
