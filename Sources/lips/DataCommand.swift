import ArgumentParser
import Foundation
import LIPS

/// `lips data …`: inspect datasets and client partitions.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Check datasets, prepare Tiny-ImageNet, and show client partitions.",
        subcommands: [DataStats.self, DataCheck.self, DataPrepare.self])
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

    @Option(help: "Number of clients.")
    var clients = 100

    @Option(help: "Train samples per client.")
    var trainNum = 100

    @Option(help: "Test samples per client.")
    var testNum = 400

    @Option(help: "Seed of the partition.")
    var seed: UInt64 = 2

    func run() throws {
        try reportingUserErrors {
            let scheme = try PartitionScheme.parse(partition)
            let data = try DatasetCatalog.load(dataset, directory: dataDir, seed: seed)
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
            FileHandle.standardError.write(Data(String(format: """
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
