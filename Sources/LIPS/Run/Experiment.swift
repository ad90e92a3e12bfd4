import Foundation

/// A run folder and the loop that fills it: `config.yaml` (the resolved config), `metrics.jsonl`,
/// `metrics.csv`, `layers.csv`, `clients.csv` and `checkpoint.bin`. Every file is replaced atomically after each
/// round, and running into a folder that holds a checkpoint continues from it, ending bitwise
/// where an uninterrupted run would.
public final class Experiment {
    public let directory: String
    public private(set) var config: ExperimentConfig

    public static let configFile = "config.yaml"
    public static let checkpointFile = "checkpoint.bin"

    /// How a call to `run` ended.
    public enum Outcome: Equatable, Sendable {
        /// Every round is done (`resumedFrom` > 0 when it continued an earlier run).
        case finished(rounds: Int, resumedFrom: Int)
        /// Stopped by SIGINT/SIGTERM after saving a checkpoint; `round` runs next on resume.
        case interrupted(round: Int)
    }

    /// Opens `directory` for `config`: a new folder gets the config; a folder holding a run must
    /// hold the same run (runtime keys such as `workers` may differ). With `config` nil the
    /// folder's own config is used, so `lips run --out DIR` resumes. An `init_from` file is hashed
    /// and must match the recorded SHA-256 (`checkingInitFile` false skips this, for readers
    /// such as `lips export`).
    public init(directory: String, config: ExperimentConfig?, checkingInitFile: Bool = true) throws {
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent(Experiment.configFile)
        if FileManager.default.fileExists(atPath: configPath) {
            let existing = try Experiment.pinningSplit(try ExperimentConfig.load(file: configPath))
            if var config {
                // A config given again without the hashes adopts the recorded ones; the files are checked below.
                if config.splitSHA256 == nil && config.splitFile == existing.splitFile {
                    config.splitSHA256 = existing.splitSHA256
                }
                if config.initFrom != nil, config.initFrom == existing.initFrom, config.initSHA256 == nil {
                    config.initSHA256 = existing.initSHA256
                }
                config = try Experiment.pinningSplit(config)
                guard try config.identity() == existing.identity() || Experiment.extends(existing, to: config, in: directory) else {
                    throw UserError("\(directory) holds a different run (\(Experiment.firstDifference(existing, config))); choose another --out folder or remove it")
                }
                self.config = config
            } else {
                self.config = existing
            }
        } else {
            guard let config else {
                throw UserError("\(directory) holds no run (no \(Experiment.configFile)); give --config or --preset to start one")
            }
            self.config = try Experiment.pinningSplit(config)
        }
        try self.config.validate()
        if checkingInitFile, let file = self.config.initFrom {
            let hash = sha256Hex(try Experiment.readInitFile(file))
            if let recorded = self.config.initSHA256, recorded != hash {
                throw UserError("init_from \(file) has changed since \(directory) started (SHA-256 now \(hash.prefix(12))…, recorded \(recorded.prefix(12))…); restore that file or start a new run")
            }
            self.config.initSHA256 = hash
        }
    }

    /// The bytes of an `init_from` file, or a one-line error.
    static func readInitFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UserError("init_from \(path): cannot read the file (missing or unreadable)")
        }
        return [UInt8](data)
    }

    /// `config` with `split_sha256` set to the SHA-256 of its `split_file` (docs/semantics.md §2);
    /// a file whose bytes no longer match a recorded sum is refused.
    static func pinningSplit(_ config: ExperimentConfig) throws -> ExperimentConfig {
        guard let path = config.splitFile else { return config }
        let sha256 = sha256Hex(try FileReading.bytes(path))
        if let recorded = config.splitSHA256, recorded != sha256 {
            throw SplitFile.changed(path, sha256: sha256, recorded: recorded)
        }
        var config = config
        config.splitSHA256 = sha256
        return config
    }

    /// Names the first key whose value differs between two configs, for the error message.
    /// More rounds (with the horizon pinned) may extend a run, so a run asked with more rounds is
    /// named by its other difference.
    static func firstDifference(_ a: ExperimentConfig, _ b: ExperimentConfig) -> String {
        var b = b
        if b.rounds > a.rounds {
            var sameRounds = b
            (sameRounds.rounds, sameRounds.horizon) = (a.rounds, a.horizon)
            if sameRounds.identity() != a.identity() { b = sameRounds }
        }
        let (x, y) = firstDifferingLines(a.identity(), b.identity())
        return "it has \(x), asked \(y)"
    }

    /// The first line ("key: value") on which two `identity()` texts differ.
    static func firstDifferingLines(_ a: String, _ b: String) -> (String, String) {
        let left = a.split(separator: "\n"), right = b.split(separator: "\n")
        for (x, y) in zip(left, right) where x != y {
            return (x.trimmingCharacters(in: .whitespaces), y.trimmingCharacters(in: .whitespaces))
        }
        return ("another config", "this one")
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    /// The folder's lock while this experiment holds it (`lock()`), released when it is freed.
    private var folderLock: RunFolderLock?

    /// Takes the run folder's lock for this process, so no other process runs it meanwhile;
    /// returns the holder's pid (nil if unknown) in `.held` when another one does. `run` takes it
    /// itself; a caller that would rather skip a busy folder than fail (a sweep) takes it first.
    @discardableResult
    public func lock() throws -> FolderLockResult {
        if folderLock != nil { return .acquired }
        let (lock, holder) = try RunFolderLock.acquire(directory)
        guard let lock else { return .held(holder: holder) }
        folderLock = lock
        return .acquired
    }

    public enum FolderLockResult: Equatable, Sendable {
        case acquired
        case held(holder: Int32?)
    }

    /// Loads the data the config names.
    public static func loadData(_ config: ExperimentConfig) throws -> DatasetPair {
        try DatasetCatalog.load(config.dataset, directory: config.dataDirectory, seed: config.seed,
                                syntheticShape: try Shape.parse(config.syntheticShape),
                                syntheticClasses: config.syntheticClasses,
                                syntheticCounts: (config.syntheticTrain, config.syntheticTest))
    }

    /// The split a run of `config` draws (its `split_file` ignored), as the JSON of `SplitFile`:
    /// what `lips data split` writes.
    public static func splitJSON(_ config: ExperimentConfig, data: DatasetPair) throws -> String {
        var config = config
        config.splitFile = nil
        config.splitSHA256 = nil
        let partition = try Simulation.partition(config: config, data: data)
        return SplitFile.json(partition, dataset: config.dataset, data: data, scheme: config.partitionScheme, seed: config.seed)
    }

    /// Runs (or continues) the experiment to its last round. `report` receives one progress line
    /// per round. Stops cleanly after the round in which `shouldStop` turns true (by default,
    /// after Ctrl-C or SIGTERM; tests pass their own flag).
    ///
    /// Across MPI ranks (`communicator`) every rank runs this with the same folder (a shared file
    /// system): rank 0 writes the config, metrics and models, every rank its checkpoint shard; a
    /// stop asked on any rank is agreed at the round's end, so all ranks stop after the same round.
    @discardableResult
    public func run(data given: DatasetPair? = nil, workers: Int? = nil, communicator: Communicator = SingleProcess(),
                    report: ((String) -> Void)? = nil, shouldStop: () -> Bool = { StopSignal.requested }) throws -> Outcome {
        let leads = communicator.rank == 0
        // One process writes the folder: rank 0 holds its lock for every rank.
        if leads, case .held(let holder) = try lock() { throw RunFolderLock.inUse(directory, holder: holder) }
        if leads {
            // What a process killed mid-write left; no one else writes here now (other ranks only
            // write after this rank's first collective).
            for folder in [directory, path(Experiment.modelsFolder), path(Checkpoint.shardFolder)] {
                AtomicFile.removeLeftovers(in: folder)
            }
        }
        let data = try given ?? Experiment.loadData(config)
        let simulation = try Simulation(config: config, data: data, workers: workers, communicator: communicator)
        let report = leads ? report : nil
        var rounds: [RoundMetrics] = [], layers: [LayerMetrics] = [], clients: [ClientMetrics] = []
        if FileManager.default.fileExists(atPath: path(Experiment.checkpointFile)) {
            if leads { try AtomicFile.write(config.yaml(), to: path(Experiment.configFile)) }
            let checkpoint = try Checkpoint.read(from: path(Experiment.checkpointFile))
            if let recorded = checkpoint.configIdentity, recorded != config.identity(),
               !((try? ExperimentConfig.load(yaml: recorded, source: "checkpoint")).map {
                   (try? Experiment.extends($0, to: config, in: directory)) == true } ?? false) {
                let (made, now) = Experiment.firstDifferingLines(recorded, config.identity())
                throw UserError("\(path(Experiment.configFile)) was changed since its checkpoint (made with \(made), now \(now)); put it back, or start a new run in another folder")
            }
            try simulation.restore(checkpoint.snapshot)
            for shard in checkpoint.shards {
                try simulation.restoreClients(Checkpoint.readShard(path(shard), round: checkpoint.snapshot.nextRound))
            }
            rounds = checkpoint.rounds
            layers = checkpoint.layers
            clients = checkpoint.clients
        } else {
            if let file = config.initFrom {
                // The weights come from the bytes whose hash the config records.
                let bytes = try Experiment.readInitFile(file)
                guard sha256Hex(bytes) == config.initSHA256 else {
                    throw UserError("init_from \(file) changed while the run was starting; run again")
                }
                let values = try StateDict.values(from: try Safetensors.decode(bytes, source: "init_from \(file)"),
                                                  source: "init_from \(file)", model: simulation.model)
                simulation.setInitialModel(parameters: values.parameters, statistics: values.statistics)
            }
            if leads { try AtomicFile.write(config.yaml(), to: path(Experiment.configFile)) }
        }
        let resumedFrom = simulation.nextRound
        if communicator.size > 1 {
            let round = Int64(resumedFrom)
            let (latest, earliest) = (communicator.maximum(round), -communicator.maximum(-round))
            guard latest == earliest else {
                throw UserError("ranks disagree on the round to start from (\(earliest) to \(latest)) in \(directory): every rank must see the same run folder, on a file system they share")
            }
        }
        let ranks = communicator.size > 1 ? String(format: " × %d ranks", communicator.size) : ""
        report?(String(format: "lips: %@: %@ on %@, %d clients%@, %@, %d worker%@%@; server state %.1f MB per client%@",
                       directory, config.model, config.dataset, config.clients,
                       config.splitFile.map { " (split \($0))" } ?? "", Experiment.methodDescription(config),
                       simulation.pool.workers, simulation.pool.workers == 1 ? "" : "s", ranks,
                       Double(simulation.clientStateBytes) / 1e6,
                       resumedFrom > 0 && resumedFrom < config.rounds
                           ? ", resuming with \(Experiment.roundName(resumedFrom, of: config.rounds))" : ""))
        // Provenance is written beside the results, never read by them (a session that trains nothing adds none).
        let provenance = leads && resumedFrom < config.rounds
            ? try ProvenanceLog(directory: directory, session: Provenance.currentSession(
                workers: simulation.pool.workers, ranks: communicator.size, firstRound: resumedFrom))
            : nil
        do {
            let outcome = try runRounds(simulation, rounds: &rounds, layers: &layers, clients: &clients, resumedFrom: resumedFrom,
                                        report: report, shouldStop: shouldStop)
            let ended: String
            switch outcome {
            case .finished: ended = "finished"
            case .interrupted: ended = "stopped"
            }
            try provenance?.end(ended, roundsDone: simulation.nextRound)
            return outcome
        } catch {
            try? provenance?.end("error", roundsDone: simulation.nextRound)
            throw error
        }
    }

    /// The rounds from `resumedFrom` to the last, or to a stop; see `run`.
    private func runRounds(_ simulation: Simulation, rounds: inout [RoundMetrics], layers: inout [LayerMetrics],
                           clients: inout [ClientMetrics], resumedFrom: Int, report: ((String) -> Void)?, shouldStop: () -> Bool) throws -> Outcome {
        let communicator = simulation.communicator, leads = communicator.rank == 0
        var lastCheckpoint = resumedFrom
        while simulation.nextRound < config.rounds {
            let (row, layerRows) = simulation.runRound()
            rounds.append(row)
            layers += layerRows
            clients += simulation.clientMetrics
            if leads { try MetricsFiles.write(rounds: rounds, layers: layers, clients: clients, to: directory) }
            if let problem = simulation.divergence(row) {
                // The diverged round stays in the metrics files for a look; no checkpoint or model holds it.
                let kept = lastCheckpoint > 0 ? "the checkpoint after round \(lastCheckpoint - 1) is kept" : "no checkpoint was written"
                throw UserError("round \(row.round) diverged (\(problem)); stopped, \(kept). Lower lr (\(config.learningRate)) and start a new run in another folder")
            }
            if leads { try saveGlobalModel(simulation, round: row.round) }
            report?(Experiment.progressLine(row, rounds: rounds, total: config.rounds))
            let done = simulation.nextRound
            let periodic = config.checkpointEvery > 0 && done % config.checkpointEvery == 0
            let stopping = communicator.maximum(shouldStop() ? 1 : 0) > 0
            if periodic || done == config.rounds || stopping {
                try writeCheckpoint(simulation, rounds: rounds, layers: layers, clients: clients)
                lastCheckpoint = done
            }
            if stopping && done < config.rounds {
                report?("lips: stopped after \(Experiment.roundName(done - 1, of: config.rounds)); checkpoint saved, rerun with --out \(directory) to continue")
                return .interrupted(round: lastCheckpoint)
            }
        }
        return .finished(rounds: config.rounds, resumedFrom: resumedFrom)
    }

    /// Writes `checkpoint.bin` after the last finished round. Across ranks every rank first writes
    /// its shard; once all have (or any has failed, then every rank throws), rank 0 writes
    /// `checkpoint.bin` naming them and removes the shards of earlier checkpoints.
    private func writeCheckpoint(_ simulation: Simulation, rounds: [RoundMetrics], layers: [LayerMetrics],
                                 clients: [ClientMetrics]) throws {
        let communicator = simulation.communicator
        var snapshot = simulation.snapshot()
        guard communicator.size > 1 else {
            try Checkpoint(snapshot: snapshot, rounds: rounds, layers: layers, clients: clients, configIdentity: config.identity())
                .write(to: path(Experiment.checkpointFile))
            // Shards of an earlier run across ranks, now that checkpoint.bin holds every client.
            if FileManager.default.fileExists(atPath: path(Checkpoint.shardFolder)) {
                removeShards(except: [])
                try? FileManager.default.removeItem(atPath: path(Checkpoint.shardFolder))
            }
            return
        }
        let names = (0..<communicator.size).map {
            Checkpoint.shardName(nextRound: snapshot.nextRound, rank: $0, ranks: communicator.size)
        }
        var failure: Error?
        do {
            try Checkpoint.writeShard(snapshot.clients, nextRound: snapshot.nextRound, to: path(names[communicator.rank]))
        } catch {
            failure = error
        }
        let shardsFailed = communicator.maximum(failure == nil ? 0 : 1) > 0
        if let failure { throw failure }
        guard !shardsFailed else { throw UserError("another rank could not write its checkpoint shard (see its error)") }
        failure = nil
        if communicator.rank == 0 {
            snapshot.clients = ClientStoreSnapshot(clients: [], hasGradient: [], hasMask: [], hasLocal: [], maskWords: [],
                                                   localValues: [], halfGradients: [], singleGradients: [])
            do {
                try Checkpoint(snapshot: snapshot, rounds: rounds, layers: layers, clients: clients, shards: names,
                               configIdentity: config.identity())
                    .write(to: path(Experiment.checkpointFile))
                removeShards(except: Set(names))
            } catch {
                failure = error
            }
        }
        let manifestFailed = communicator.maximum(failure == nil ? 0 : 1) > 0
        if let failure { throw failure }
        guard !manifestFailed else { throw UserError("rank 0 could not write \(Experiment.checkpointFile) (see its error)") }
    }

    /// Removes shard files that `checkpoint.bin` no longer names (best effort: a leftover costs
    /// disk space, never correctness, as shards carry their round).
    private func removeShards(except kept: Set<String>) {
        let folder = path(Checkpoint.shardFolder)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let relative = "\(Checkpoint.shardFolder)/\(name)"
            if !kept.contains(relative) { try? FileManager.default.removeItem(atPath: path(relative)) }
        }
    }

    /// The folder of `save_global_every`'s files.
    public static let modelsFolder = "models"

    /// Writes `models/global-rN.safetensors` after round N when `save_global_every` asks for it
    /// (every that many rounds, and the last).
    private func saveGlobalModel(_ simulation: Simulation, round: Int) throws {
        let every = config.saveGlobalEvery
        guard every > 0, (round + 1) % every == 0 || round == config.rounds - 1 else { return }
        let folder = path(Experiment.modelsFolder)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw UserError("cannot create \(folder): \(error.localizedDescription)")
        }
        try ModelExport.write(model: simulation.model, parameters: simulation.global.array,
                              statistics: simulation.globalStatistics.array, round: round, source: "global model",
                              to: (folder as NSString).appendingPathComponent("global-r\(round).safetensors"))
    }

    static func methodDescription(_ config: ExperimentConfig) -> String {
        let bn = config.batchNorm == .local ? ", BN local" : ""
        let algorithm: String
        switch config.algorithm {
        case .fedavg: algorithm = "FedAvg"
        case .fedprox: algorithm = "FedProx (mu \(config.proximalWeight))"
        case .scaffold: algorithm = "SCAFFOLD"
        case .fedavgm: algorithm = "FedAvgM"
        }
        switch config.method {
        case .fedavg: return "\(algorithm)\(bn)"
        case .lips:
            return "\(algorithm) with LIPS (d0 \(config.updateDensity), every \(config.updateFrequency) rounds, R \(config.effectiveHorizon)\(bn))"
        }
    }

    /// A setting that runs but is known to go wrong: `lips run` and `lips sweep` print it as a note
    /// whether or not they show progress.
    public static func caution(_ config: ExperimentConfig) -> String? {
        guard config.algorithm == .scaffold, config.momentum > 0 else { return nil }
        // Option II's control variate is the distance travelled over K·lr, which momentum lengthens.
        return "scaffold with momentum \(config.momentum): its control variates come out about \(String(format: "%.3g", 1 / (1 - config.momentum))) times too large and may diverge (docs/semantics.md §12); momentum 0 is SCAFFOLD as published"
    }

    /// "round 12/30 (metrics round 11)  acc 0.7340 (dense 0.5120)  loss 0.4100  41.2 s/round  ETA 0:12:20":
    /// rounds count from 1 of the total here, and from 0 in the files (`round` in metrics.jsonl),
    /// so the line names both.
    static func progressLine(_ row: RoundMetrics, rounds: [RoundMetrics], total: Int) -> String {
        let recent = rounds.suffix(5)
        let perRound = recent.reduce(0) { $0 + $1.seconds } / Double(recent.count)
        let remaining = perRound * Double(total - row.round - 1)
        var line = "\(roundName(row.round, of: total))"
        if let accuracy = row.personalizedAccuracy { line += String(format: "  acc %.4f", accuracy) }
        if let dense = row.denseAccuracy, dense != row.personalizedAccuracy { line += String(format: " (dense %.4f)", dense) }
        if let global = row.globalAccuracy { line += String(format: "  global %.4f", global) }
        if row.density < 1 { line += String(format: "  density %.3f", row.density) }
        line += String(format: "  loss %.4f  %.1f s/round  ETA ", row.trainLoss, perRound) + duration(remaining)
        return line
    }

    /// "round 3/20 (metrics round 2)": the 1-based count of the total, and the 0-based number the
    /// metrics files, checkpoints and messages use.
    static func roundName(_ round: Int, of total: Int) -> String {
        "round \(round + 1)/\(total) (metrics round \(round))"
    }

    /// Seconds as h:mm:ss ("0:04:05", "27:00:00"); "?" when not finite.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "?" }
        let whole = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", whole / 3600, whole / 60 % 60, whole % 60)
    }
}
