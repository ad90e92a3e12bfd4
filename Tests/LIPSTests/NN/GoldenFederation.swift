import Foundation
@testable import LIPS

/// The `federation` golden op (Tests/Golden/README.md): a whole small federation run by the
/// engine's `Simulation` on the case's data, split, config and initial model, compared after
/// every round with PyTorch's global parameters, BN statistics, masks, per-client accuracies and
/// train loss. The engine must also train the clients the case lists for each round.
extension GoldenTests {
    static func federation(_ g: GoldenCase) throws -> [Check] {
        guard let settings = g.attributes["config"] as? [String: Any],
              let split = g.attributes["split"] as? [String: Any],
              let imageShape = g.attributes["image_shape"] as? [Int], imageShape.count == 3,
              let rounds = g.attributes["clients"] as? [[Int]] else {
            throw GoldenError("\(g.name): attrs need config, split, image_shape [C, H, W] and clients (one list per round)")
        }
        let classes = try g.int("classes")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lips-golden-\(g.name)-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let splitPath = folder.appendingPathComponent("split.json").path
        try JSONSerialization.data(withJSONObject: split).write(to: URL(fileURLWithPath: splitPath))

        // Each value as its JSON text, which is also YAML: quoted strings, true/false, numbers.
        var yaml = ""
        for key in settings.keys.sorted() {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: [settings[key]!]), as: UTF8.self)
            yaml += "\(key): \(text.dropFirst().dropLast())\n"
        }
        var config = try ExperimentConfig.load(yaml: yaml, source: "\(g.name) config")
        config.splitFile = splitPath

        let shape = Shape(channels: imageShape[0], height: imageShape[1], width: imageShape[2])
        func dataset(_ part: String) throws -> Dataset {
            Dataset(name: "\(g.name) \(part)", imageShape: shape, classes: classes,
                    pixels: try g.tensor("\(part)_pixels").map { UInt8($0) },
                    labels: try g.tensor("\(part)_labels").map { Int32($0) })
        }
        let data = DatasetPair(train: try dataset("train"), test: try dataset("test"))
        let simulation = try Simulation(config: config, data: data, workers: 2)
        let model = simulation.model
        var parameters = [Float](repeating: 0, count: model.parameterLayout.count)
        var statistics = [Float](repeating: 0, count: model.statisticsLayout.count)
        for entry in model.parameterLayout.entries {
            parameters.replaceSubrange(entry.range, with: try g.tensor("param:\(entry.name)"))
        }
        for entry in model.statisticsLayout.entries {
            statistics.replaceSubrange(entry.range, with: try g.tensor("buffer:\(entry.name)"))
        }
        simulation.setInitialModel(parameters: parameters, statistics: statistics)

        var checks: [Check] = []
        var maskKeys = Set<String>()
        for (round, clients) in rounds.enumerated() {
            let (metrics, _) = simulation.runRound()
            guard metrics.clients == clients else {
                throw GoldenError("\(g.name): round \(round) trained clients \(metrics.clients ?? []), PyTorch \(clients) (semantics §8)")
            }
            let prefix = "r\(round)/"
            for entry in model.parameterLayout.entries {
                checks.append(Check(key: prefix + "param:\(entry.name)", got: simulation.global.values(entry.range),
                                    want: try g.tensor(prefix + "param:\(entry.name)")))
            }
            for entry in model.statisticsLayout.entries {
                checks.append(Check(key: prefix + "buffer:\(entry.name)", got: simulation.globalStatistics.values(entry.range),
                                    want: try g.tensor(prefix + "buffer:\(entry.name)")))
            }
            checks.append(Check(key: prefix + "train_loss", got: [Float(metrics.trainLoss)], want: try g.tensor(prefix + "train_loss")))
            guard let accuracies = simulation.clientAccuracies else {
                throw GoldenError("\(g.name): round \(round) was not evaluated")
            }
            checks.append(Check(key: prefix + "personalized", got: accuracies.personalized.map { Float($0 ?? -1) },
                                want: try g.tensor(prefix + "personalized")))
            checks.append(Check(key: prefix + "dense", got: accuracies.dense.map { Float($0 ?? -1) },
                                want: try g.tensor(prefix + "dense")))
            let sparsifier = simulation.sparsifier
            for client in 0..<config.clients {
                for (layer, entry) in sparsifier.layers.enumerated() {
                    let key = prefix + "mask:\(client):\(entry.name)"
                    let mask = sparsifier.mask(client, layer: layer)
                    guard g.has(key) == (mask != nil) else {
                        throw GoldenError("\(g.name): round \(round): client \(client) \(mask == nil ? "receives no mask, PyTorch masks it" : "is masked, PyTorch sends it the dense model")")
                    }
                    if let mask {
                        checks.append(Check(key: key, got: mask, want: try g.tensor(key)))
                        maskKeys.insert(key)
                    }
                }
            }
        }
        // A mask PyTorch sent for a tensor the engine does not mask would otherwise go unchecked.
        let unchecked = g.keys.filter { $0.contains("/mask:") }.subtracting(maskKeys)
        guard unchecked.isEmpty else {
            throw GoldenError("\(g.name): masks the engine does not have: \(unchecked.sorted().prefix(3).joined(separator: ", "))")
        }
        return checks
    }
}
