import Foundation
import Testing
@testable import LIPS

/// Reading, writing and validating configs, and every error a user can make.
@Suite struct ConfigErrorTests {
    @Test func defaultsAreSPECs() {
        let config = ExperimentConfig()
        #expect(config.clients == 100 && config.trainPerClient == 100 && config.testPerClient == 400)
        #expect(config.alpha == 0.1 && config.seed == 2 && config.localEpochs == 5 && config.batchSize == 100)
        #expect(config.learningRate == 0.1 && config.momentum == 0.9 && config.batchNorm == .received)
        #expect(config.gradientPrecision == .half && config.criterion == .gradientTimesWeight && config.evalEvery == 1)
    }

    @Test func yamlRoundTripsAndPresetsMatchTheirFiles() throws {
        var config = ExperimentConfig()
        config.normalizeMean = [0.5, 0.25, 0.125]
        config.normalizeStd = [1, 2, 3]
        config.horizon = 300
        config.dataDirectory = "data/my folder"
        config.method = .lips
        #expect(try ExperimentConfig.load(yaml: config.yaml(), source: "t") == config)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for name in Presets.names {
            let preset = try Presets.config(named: name)
            try preset.validate()
            let file = root.appendingPathComponent("configs/\(name).yaml").path
            #expect(try ExperimentConfig.load(file: file) == preset, "configs/\(name).yaml differs from the preset")
        }
        #expect(try Presets.config(named: "fmnist-resnet8-lips").method == .lips)
        #expect(try Presets.config(named: "cifar100-resnet8-lips").updateDensity == 0.3)
        expectUserError("unknown preset", "fmnist-resnet8-lips") { _ = try Presets.config(named: "nope") }
    }

    @Test func settingsParseAsYAMLScalars() throws {
        var config = ExperimentConfig()
        try config.apply(setting: "rounds=7")
        try config.apply(setting: "alpha=0.5")
        try config.apply(setting: "flip=true")
        try config.apply(setting: "normalize_mean=[0.5,0.5,0.5]")
        try config.apply(setting: "horizon=null")
        try config.apply(setting: "method=lips")
        try config.apply(setting: "bn=local")
        #expect(config.rounds == 7 && config.alpha == 0.5 && config.horizontalFlip && config.normalizeMean == [0.5, 0.5, 0.5])
        #expect(config.horizon == nil && config.method == .lips && config.batchNorm == .local)
        expectUserError("key=value") { try config.apply(setting: "rounds") }
        expectUserError("unknown key 'learning_rate'", "'lr'") { try config.apply(setting: "learning_rate=0.1") }
        expectUserError("'clients' must be an integer", "many") { try config.apply(setting: "clients=many") }
        expectUserError("'method' must be one of fedavg, lips") { try config.apply(setting: "method=fedprox") }
        expectUserError("'flip' must be true or false") { try config.apply(setting: "flip=3") }
        expectUserError("cfg.yaml", "unknown key 'roundz'", "'rounds'") { _ = try ExperimentConfig.load(yaml: "roundz: 3", source: "cfg.yaml") }
        expectUserError("cfg.yaml", "mapping") { _ = try ExperimentConfig.load(yaml: "- 1\n- 2", source: "cfg.yaml") }
        expectUserError("missing.yaml", "not found") { _ = try ExperimentConfig.load(file: "/nonexistent/missing.yaml") }
    }

    @Test(arguments: [
        ("update_d=0", "update_d"), ("update_d=1.5", "update_d"), ("alpha=0", "alpha"), ("alpha=-1", "alpha"),
        ("rounds=0", "rounds"), ("batch_size=0", "batch_size"), ("clients=0", "clients"), ("local_epochs=0", "local_epochs"),
        ("train_num=0", "train_num"), ("test_num=-1", "test_num"), ("eval_every=0", "eval_every"),
        ("update_freq=0", "update_freq"), ("participation=0", "participation"), ("participation=1.5", "participation"),
        ("lr=0", "lr"), ("momentum=1", "momentum"), ("weight_decay=-1", "weight_decay"), ("horizon=0", "horizon"),
        ("reference_round=-1", "reference_round"), ("workers=-1", "workers"), ("checkpoint_every=-1", "checkpoint_every"),
        ("rotation=-5", "rotation"), ("crop_padding=-1", "crop_padding"), ("dataset=imagenet", "dataset"),
        ("model=resnet9", "model"), ("normalize_mean=[0.5]", "normalize_std"),
    ])
    func invalidValuesAreOneLineErrorsNamingTheKey(setting: String, key: String) throws {
        var config = ExperimentConfig()
        try config.apply(setting: setting)
        expectUserError("'\(key)'") { try config.validate() }
    }

    @Test func identityIgnoresOnlyRuntimeKeys() {
        var a = ExperimentConfig(), b = ExperimentConfig()
        b.workers = 7
        b.checkpointEvery = 1
        #expect(a.identity() == b.identity())
        a.seed = 3
        #expect(a.identity() != b.identity())
        #expect(a.value(forKey: "seed") == "3" && a.value(forKey: "nope") == nil)
    }
}
