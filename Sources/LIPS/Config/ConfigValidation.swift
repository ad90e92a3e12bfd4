extension ExperimentConfig {
    /// Throws a one-line `UserError` ("config: 'KEY' must be EXPECTED, found VALUE") for the
    /// first key, in table order, whose value cannot make a run. Whether the data exists and
    /// holds enough samples is checked when it is loaded, not here.
    /// (Names in other spellings, such as `tiny-imagenet` or `vgg11_bn`, are accepted, as their loaders do.)
    public func validate() throws {
        // Data
        try require(DatasetCatalog.names.contains(Self.canonicalName(dataset, among: DatasetCatalog.names)), "dataset", "one of \(DatasetCatalog.names.joined(separator: ", "))", "'\(dataset)'")
        if partition == .dirichlet { try require(alpha > 0 && alpha.isFinite, "alpha", "> 0", alpha) }
        try require(classesPerClient >= 1, "classes_per_client", "≥ 1", classesPerClient)
        try require(clients >= 1 && clients <= 10_000_000, "clients", "between 1 and 10,000,000", clients)
        try require(trainPerClient >= 1 && trainPerClient <= 100_000_000, "train_num", "between 1 and 100,000,000", trainPerClient)
        try require(testPerClient >= 0 && testPerClient <= 100_000_000, "test_num", "between 0 and 100,000,000", testPerClient)
        try require(normalizeMean.allSatisfy(\.isFinite), "normalize_mean", "finite numbers", normalizeMean)
        try require(normalizeMean.count == normalizeStd.count, "normalize_std",
                    "one value per normalize_mean value (\(normalizeMean.count))", normalizeStd.count)
        try require(normalizeStd.allSatisfy { $0 > 0 && $0.isFinite }, "normalize_std", "positive numbers", normalizeStd)
        try require(rotationDegrees >= 0 && rotationDegrees <= 180, "rotation", "between 0 and 180 (degrees)", rotationDegrees)
        try require(cropPadding >= 0 && cropPadding <= 1024, "crop_padding", "between 0 and 1024", cropPadding)
        if let splitFile { try require(!splitFile.isEmpty, "split_file", "a file name (or null)", "''") }
        if let splitSHA256 {
            try require(splitSHA256.count == 64 && splitSHA256.allSatisfy { "0123456789abcdef".contains($0) },
                        "split_sha256", "64 lowercase hex digits (or null)", "'\(splitSHA256)'")
        }
        if (try? Shape.parse(syntheticShape)) == nil {
            throw UserError("config: 'synthetic_shape' must be CxHxW with positive integers, at most \(Shape.maximumChannels) channels and \(Shape.maximumSide)x\(Shape.maximumSide) pixels (e.g. 3x32x32), found '\(syntheticShape)'")
        }
        try require(syntheticClasses >= 2 && syntheticClasses <= Model.maximumClasses, "synthetic_classes",
                    "between 2 and \(Model.maximumClasses)", syntheticClasses)
        try require(syntheticTrain >= 1 && syntheticTrain <= 100_000_000, "synthetic_train", "between 1 and 100,000,000", syntheticTrain)
        try require(syntheticTest >= 0 && syntheticTest <= 100_000_000, "synthetic_test", "between 0 and 100,000,000", syntheticTest)
        // Model and local training
        try require(Model.architectureNames.contains(Self.canonicalName(model, among: Model.architectureNames)), "model", "one of \(Model.architectureNames.joined(separator: ", "))", "'\(model)'")
        if let initFrom { try require(!initFrom.isEmpty, "init_from", "a .safetensors file (or null)", "''") }
        if let initSHA256 {
            try require(initFrom != nil, "init_sha256", "null without init_from", "'\(initSHA256)'")
            try require(initSHA256.count == 64 && initSHA256.allSatisfy(\.isHexDigit), "init_sha256",
                        "64 hex digits (or null)", "'\(initSHA256)'")
        }
        try require(rounds >= 1, "rounds", "≥ 1", rounds)
        try require(localEpochs >= 1, "local_epochs", "≥ 1", localEpochs)
        try require(batchSize >= 1 && batchSize <= trainPerClient, "batch_size", "between 1 and train_num (\(trainPerClient))", batchSize)
        if !shuffle && (horizontalFlip || rotationDegrees > 0 || cropPadding > 0) {
            throw UserError("config: 'shuffle: false' trains in split order without augmentation; set flip: false, rotation: 0, crop_padding: 0")
        }
        try require(learningRate > 0 && learningRate.isFinite, "lr", "> 0", learningRate)
        try require(momentum >= 0 && momentum < 1, "momentum", "in [0, 1)", momentum)
        try require(weightDecay >= 0 && weightDecay.isFinite, "weight_decay", "≥ 0", weightDecay)
        try require(participation > 0 && participation <= 1, "participation", "in (0, 1]", participation)
        try require(aggregationBlock >= 1, "aggregation_block", "≥ 1", aggregationBlock)
        // Algorithm
        try require(proximalWeight >= 0 && proximalWeight.isFinite, "mu", "≥ 0", proximalWeight)
        try require(serverLearningRate > 0 && serverLearningRate.isFinite, "server_lr", "> 0", serverLearningRate)
        try require(serverMomentum >= 0 && serverMomentum < 1, "server_momentum", "in [0, 1)", serverMomentum)
        if algorithm == .fedavgm && serverMomentum == 0 {
            throw UserError("config: 'algorithm: fedavgm' needs server momentum: set server_momentum (e.g. 0.9)")
        }
        // Method
        try require(updateDensity > 0 && updateDensity <= 1, "update_d", "in (0, 1]", updateDensity)
        try require(updateFrequency >= 1, "update_freq", "≥ 1", updateFrequency)
        if let horizon { try require(horizon >= 1, "horizon", "≥ 1 (or null for rounds)", horizon) }
        // Evaluation and run
        try require(evalEvery >= 1, "eval_every", "≥ 1", evalEvery)
        try require(referenceRound >= 0, "reference_round", "≥ 0", referenceRound)
        try require(workers >= 0 && workers <= WorkerPool.maximumWorkers, "workers",
                    "between 0 (one per core) and \(WorkerPool.maximumWorkers)", workers)
        try require(checkpointEvery >= 0, "checkpoint_every", "≥ 0 (0 = only at the end)", checkpointEvery)
        try require(saveGlobalEvery >= 0, "save_global_every", "≥ 0 (0 = never)", saveGlobalEvery)
    }

    private func require(_ condition: Bool, _ key: String, _ expected: String, _ found: Any) throws {
        if !condition { throw UserError("config: '\(key)' must be \(expected), found \(found)") }
    }
}
