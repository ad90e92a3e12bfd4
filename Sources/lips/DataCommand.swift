import ArgumentParser
import Foundation
import LIPS

/// `lips data …`: inspect datasets and client partitions.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Check datasets, prepare Tiny-ImageNet or your own image folders, and show or export client partitions.",
        subcommands: [DataStats.self, DataSplit.self, DataCheck.self, DataPrepare.self])
}

/// `lips data stats`: per-client sample and class counts as CSV, then a summary.
struct DataStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Per-client sample and class counts of a partition, as CSV on stdout, and a summary on stderr.")

    @Option(help: "Dataset: \(DatasetCatalog.names.joined(separator: ", ")).")
    var dataset = "fashion-mnist"

    @Option(help: "Dataset folder (default: the dataset's usual place, e.g. /usr/share/datasets/fashion-mnist).")
    var dataDir: String?

    @Option(help: "Partition: dirichlet(ALPHA), pathological(K) or iid.")
    var partition = "dirichlet(0.1)"

    @Option(parsing: .unconditional, help: "Number of clients.")
    var clients = 100

    @Option(parsing: .unconditional, help: "Train samples per client.")
    var trainNum = 100

    @Option(parsing: .unconditional, help: "Test samples per client.")
    var testNum = 400

    @Option(parsing: .unconditional, help: "Seed of the partition.")
    var seed: UInt64 = 2

    func run() throws {
        try reportingUserErrors {
            let scheme = try PartitionScheme.parse(partition)
            guard clients >= 1, clients <= 10_000_000 else { throw UserError("--clients must be between 1 and 10,000,000, got \(clients)") }
            let data = try DatasetCatalog.load(dataset, directory: dataDir, seed: seed)
            // The same bounds as a run's, so stats never describe a split a run would refuse.
            try Simulation.requireSamples(trainPerClient: trainNum, testPerClient: testNum, data: data)
            let split = try ClientPartition.make(scheme, clients: clients, trainPerClient: trainNum, testPerClient: testNum,
                                                 data: data, seed: seed)
            let classes = data.train.classes
            var lines = ["client,train,test,classes," + (0..<classes).map { "train_class_\($0)" }.joined(separator: ",")]
            var classesPerClient: [Int] = []
            var perClass = [[Int]](repeating: [], count: classes)
            for client in 0..<clients {
                var counts = [Int](repeating: 0, count: classes)
                for index in split.train[client] { counts[Int(data.train.labels[index])] += 1 }
                let present = counts.filter { $0 > 0 }.count
                classesPerClient.append(present)
                for c in 0..<classes { perClass[c].append(counts[c]) }
                lines.append("\(client),\(split.train[client].count),\(split.test[client].count),\(present),"
                    + counts.map(String.init).joined(separator: ","))
            }
            print(lines.joined(separator: "\n"))
            let mean = Double(classesPerClient.reduce(0, +)) / Double(clients)
            let totals = perClass.map { $0.reduce(0, +) }
            FileHandle.standardError.writeIgnoringErrors(Data(String(format: """
                %@ %@, %d clients × %d train / %d test, seed %llu: %.2f classes per client on average (min %d, max %d); \
                per class %d–%d train samples in total

                """, dataset, scheme.description, clients, trainNum, testNum, seed, mean,
                classesPerClient.min() ?? 0, classesPerClient.max() ?? 0, totals.min() ?? 0, totals.max() ?? 0).utf8))
        }
    }
}

/// `lips data check DIR`: verifies a dataset folder.
struct DataCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify a dataset folder: files, sizes, record counts, label ranges, published MD5 sums.")

    @Argument(help: "The dataset folder, e.g. data/cifar-10-batches-bin or /usr/share/datasets/fashion-mnist.")
    var directory: String

    func run() throws {
        try reportingUserErrors {
            for line in try DatasetCheck.check(directory: directory) { print(line) }
        }
    }
}

/// `lips data split --out FILE`: the split a run would draw, as a JSON file.
struct DataSplit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Write the client split a run would draw, as JSON (the input of the config key split_file).",
        discussion: """
        The settings start from the defaults, a --preset or a --config file; --set and the options below \
        override them, as for `lips run`. The file holds the dataset's name, train/test sizes and class count, \
        clients, train_num, test_num, and per client its train and test indices, positions in the dataset's \
        official order from 0 (format: docs/semantics.md §2). A run with `split_file: FILE` and the same \
        settings trains on exactly this split; another framework can load it to train on the same one.

        Examples:
          lips data split --preset fmnist-resnet8-lips --out split.json
          lips data split --dataset cifar10 --partition dirichlet --alpha 0.5 --clients 20 --out cifar-a05.json
          lips data split --partition 'pathological(2)' --seed 3 --out patho.json
        """)

    @Option(name: .long, help: ArgumentHelp("A YAML config file to start from.", valueName: "file")) var config: String?
    @Option(name: .long, help: ArgumentHelp("A built-in preset to start from.", valueName: "name")) var preset: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override one key, e.g. --set alpha=0.5 (repeatable).", valueName: "key=value"))
    var settings: [String] = []
    @Option(help: "Dataset: \(DatasetCatalog.names.joined(separator: ", ")).") var dataset: String?
    @Option(help: "Dataset folder (default: the dataset's usual place).") var dataDir: String?
    @Option(help: "Partition: dirichlet, pathological or iid (or dirichlet(ALPHA), pathological(K)).") var partition: String?
    @Option(parsing: .unconditional, help: "Dirichlet concentration (partition dirichlet).") var alpha: Double?
    @Option(parsing: .unconditional, help: "Classes per client (partition pathological).") var classesPerClient: Int?
    @Option(parsing: .unconditional, help: "Number of clients.") var clients: Int?
    @Option(parsing: .unconditional, help: "Train samples per client.") var trainNum: Int?
    @Option(parsing: .unconditional, help: "Test samples per client.") var testNum: Int?
    @Option(parsing: .unconditional, help: "Seed of the run (the partition's streams derive from it).") var seed: UInt64?
    @Option(help: ArgumentHelp("The JSON file to write (replaced atomically).", valueName: "file")) var out: String

    func run() throws {
        try reportingUserErrors {
            guard config == nil || preset == nil else { throw UserError("give --config or --preset, not both") }
            var resolved = try preset.map { try Presets.config(named: $0) }
                ?? config.map { try ExperimentConfig.load(file: $0) } ?? ExperimentConfig()
            for setting in settings { try resolved.apply(setting: setting) }
            var options: [String] = []
            if let dataset { options.append("dataset=\(dataset)") }
            if let partition {
                if ExperimentConfig.PartitionKind(rawValue: partition.lowercased()) != nil {
                    options.append("partition=\(partition)")
                } else {
                    switch try PartitionScheme.parse(partition) {
                    case .dirichlet(let alpha): options += ["partition=dirichlet", "alpha=\(alpha)"]
                    case .pathological(let k): options += ["partition=pathological", "classes_per_client=\(k)"]
                    case .iid: options.append("partition=iid")
                    }
                }
            }
            if let alpha { options.append("alpha=\(alpha)") }
            if let classesPerClient { options.append("classes_per_client=\(classesPerClient)") }
            if let clients { options.append("clients=\(clients)") }
            if let trainNum { options.append("train_num=\(trainNum)") }
            if let testNum { options.append("test_num=\(testNum)") }
            if let seed { options.append("seed=\(seed)") }
            for option in options { try resolved.apply(setting: option) }
            if let dataDir { resolved.dataDirectory = dataDir }
            try resolved.validate()
            let data = try Experiment.loadData(resolved)
            try AtomicFile.write(try Experiment.splitJSON(resolved, data: data), to: out)
            FileHandle.standardError.writeIgnoringErrors(Data("""
                \(out): \(resolved.dataset) \(resolved.partitionScheme), \(resolved.clients) clients × \
                \(resolved.trainPerClient) train / \(resolved.testPerClient) test, seed \(resolved.seed)

                """.utf8))
        }
    }
}
