extension ExperimentConfig {
    /// Throws a one-line `UserError` naming the first key whose value cannot make a run.
    /// (Whether the data exists and holds enough samples is checked when it is loaded.)
    public func validate() throws {
        func require(_ condition: Bool, _ key: String, _ expected: String, _ found: Any) throws {
            if !condition { throw UserError("config: '\(key)' must be \(expected), found \(found)") }
        }
        try require(DatasetCatalog.names.contains(dataset) || dataset == "tiny-imagenet", "dataset",
                    "one of \(DatasetCatalog.names.joined(separator: ", "))", "'\(dataset)'")
        try require(Model.architectureNames.contains(model.replacingOccurrences(of: "_", with: "").replacingOccurrences(of: "-", with: "")),
                    "model", "one of \(Model.architectureNames.joined(separator: ", "))", "'\(model)'")
        if partition == .dirichlet { try require(alpha > 0 && alpha.isFinite, "alpha", "> 0", alpha) }
        if partition == .pathological { try require(classesPerClient >= 1, "classes_per_client", "≥ 1", classesPerClient) }
        for (key, value) in [("clients", clients), ("train_num", trainPerClient), ("rounds", rounds),
                             ("local_epochs", localEpochs), ("batch_size", batchSize), ("eval_every", evalEvery),
                             ("update_freq", updateFrequency)] {
            try require(value >= 1, key, "≥ 1", value)
        }
        try require(testPerClient >= 0, "test_num", "≥ 0", testPerClient)
        try require(updateDensity > 0 && updateDensity <= 1, "update_d", "in (0, 1]", updateDensity)
        if let horizon { try require(horizon >= 1, "horizon", "≥ 1 (or null for rounds)", horizon) }
        try require(participation > 0 && participation <= 1, "participation", "in (0, 1]", participation)
        try require(learningRate > 0 && learningRate.isFinite, "lr", "> 0", learningRate)
        try require(momentum >= 0 && momentum < 1, "momentum", "in [0, 1)", momentum)
        try require(weightDecay >= 0, "weight_decay", "≥ 0", weightDecay)
        try require(referenceRound >= 0, "reference_round", "≥ 0", referenceRound)
        try require(workers >= 0, "workers", "≥ 0 (0 = one per core)", workers)
        try require(checkpointEvery >= 0, "checkpoint_every", "≥ 0", checkpointEvery)
        try require(rotationDegrees >= 0, "rotation", "≥ 0", rotationDegrees)
        try require(cropPadding >= 0, "crop_padding", "≥ 0", cropPadding)
        try require(normalizeMean.count == normalizeStd.count, "normalize_std",
                    "as long as normalize_mean (\(normalizeMean.count) values)", "\(normalizeStd.count) values")
        try require(normalizeStd.allSatisfy { $0 > 0 }, "normalize_std", "positive", normalizeStd)
        if dataset == "synthetic" {
            do { _ = try Shape.parse(syntheticShape) } catch {
                throw UserError("config: 'synthetic_shape' must be CxHxW with positive integers, found '\(syntheticShape)'")
            }
            try require(syntheticClasses >= 2, "synthetic_classes", "≥ 2", syntheticClasses)
            try require(syntheticTrain >= 1, "synthetic_train", "≥ 1", syntheticTrain)
            try require(syntheticTest >= 0, "synthetic_test", "≥ 0", syntheticTest)
        }
    }
}
