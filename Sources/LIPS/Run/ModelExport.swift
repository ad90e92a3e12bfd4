import Foundation

/// `lips export`: a run's model from its last checkpoint as a safetensors file with PyTorch's
/// `state_dict` names (`StateDict`), which `model.load_state_dict(safetensors.torch.load_file(path))`
/// loads into `reference/models.py`'s model of the same name.
public enum ModelExport {
    /// What was written, for the command's one-line report.
    public struct Summary: Sendable {
        public let round: Int
        public let tensors: Int
        public let model: String
    }

    /// Writes the global model after the last checkpointed round, or with `client` the model that
    /// client received from it (its LIPS mask applied; its own BN state with `bn: local`), to
    /// `path` (atomically). The file's `__metadata__` says which (`format: pt`, `model`, `round`,
    /// `source`). One-line `UserError`s: no run folder, no checkpoint, client out of range.
    @discardableResult
    public static func export(runDirectory: String, client: Int?, to path: String) throws -> Summary {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: runDirectory, isDirectory: &isFolder), isFolder.boolValue else {
            throw UserError("\(runDirectory): no such run folder")
        }
        let config = try Experiment(directory: runDirectory, config: nil, checkingInitFile: false).config
        let checkpointPath = (runDirectory as NSString).appendingPathComponent(Experiment.checkpointFile)
        guard FileManager.default.fileExists(atPath: checkpointPath) else {
            throw UserError("\(runDirectory) holds no checkpoint (\(Experiment.checkpointFile)) yet; a run writes one every checkpoint_every rounds, at its end and on Ctrl-C")
        }
        if let client, !(0..<config.clients).contains(client) {
            throw UserError("--client \(client) is out of range: \(runDirectory) has clients 0..<\(config.clients)")
        }
        let snapshot = try Checkpoint.read(from: checkpointPath, mergingShards: client != nil).snapshot
        guard let (imageShape, classes) = try DatasetCatalog.imageShapeAndClasses(
            config.dataset, directory: config.dataDirectory, syntheticShape: try Shape.parse(config.syntheticShape), syntheticClasses: config.syntheticClasses) else {
            throw UserError("\(runDirectory): unknown dataset '\(config.dataset)'")
        }
        let model = try Model.named(config.model, classes: classes, input: BatchAssembler.inputShape(for: imageShape))
        let weights: (parameters: [Float], statistics: [Float])
        if let client {
            weights = try Simulation.receivedModel(client: client, model: model, config: config, snapshot: snapshot)
        } else {
            guard snapshot.global.count == model.parameterLayout.count,
                  snapshot.globalStatistics.count == model.statisticsLayout.count else {
                throw UserError("\(checkpointPath): does not match model \(model.name) (\(model.parameterLayout.count) parameters)")
            }
            weights = (snapshot.global, snapshot.globalStatistics)
        }
        let round = snapshot.nextRound - 1
        return try write(model: model, parameters: weights.parameters, statistics: weights.statistics, round: round,
                         source: client.map { "client \($0) received model" } ?? "global model", to: path)
    }

    /// Writes one model's weights as a PyTorch-loadable safetensors file (atomically), with the
    /// `__metadata__` of `export`.
    @discardableResult
    static func write(model: Model, parameters: [Float], statistics: [Float], round: Int, source: String,
                      to path: String) throws -> Summary {
        let tensors = StateDict.tensors(model: model, parameters: parameters, statistics: statistics)
        let metadata = ["format": "pt", "model": model.name, "round": "\(round)", "source": source]
        try Safetensors(tensors: tensors, metadata: metadata).write(to: path)
        return Summary(round: round, tensors: tensors.count, model: model.name)
    }
}
