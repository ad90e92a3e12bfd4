import Foundation

/// How samples are dealt to clients (docs/semantics.md §2).
public enum PartitionScheme: Sendable, Equatable, CustomStringConvertible {
    /// One q ~ Dirichlet(alpha·1) per client, shared by the train and test split.
    case dirichlet(alpha: Double)
    /// Each client draws `classesPerClient` distinct classes and equal shares of each.
    case pathological(classesPerClient: Int)
    /// `train_num` samples uniformly at random.
    case iid

    public var description: String {
        switch self {
        case .dirichlet(let alpha): return "dirichlet(\(alpha))"
        case .pathological(let k): return "pathological(\(k))"
        case .iid: return "iid"
        }
    }

    /// Parses "dirichlet(0.1)", "dirichlet:0.1", "pathological(2)", "iid".
    public static func parse(_ text: String) throws -> PartitionScheme {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "iid" { return .iid }
        let parts = trimmed.split(whereSeparator: { "():".contains($0) }).map(String.init)
        guard parts.count == 2 else {
            throw UserError("partition '\(text)' is not one of dirichlet(ALPHA), pathological(K), iid")
        }
        switch parts[0] {
        case "dirichlet":
            guard let alpha = Double(parts[1]), alpha > 0, alpha.isFinite else {
                throw UserError("partition '\(text)': alpha must be a positive number")
            }
            return .dirichlet(alpha: alpha)
        case "pathological":
            guard let k = Int(parts[1]), k >= 1 else {
                throw UserError("partition '\(text)': classes per client must be a positive integer")
            }
            return .pathological(classesPerClient: k)
        default:
            throw UserError("partition '\(text)' is not one of dirichlet(ALPHA), pathological(K), iid")
        }
    }
}

/// Sample indices of every client in the train and the test split.
public struct ClientPartition: Sendable {
    /// `train[k]`: indices into the train dataset of client k.
    public let train: [[Int]]
    public let test: [[Int]]
    /// The class proportions each client was drawn with ([clients × classes]).
    public let proportions: [[Double]]

    /// Deals `trainPerClient` train and `testPerClient` test samples to each of `clients` clients.
    /// Every draw comes from streams named by the seed and purpose, so the same seed gives the same split.
    public static func make(_ scheme: PartitionScheme, clients: Int, trainPerClient: Int, testPerClient: Int,
                            data: DatasetPair, seed: UInt64) throws -> ClientPartition {
        guard clients >= 1 else { throw UserError("clients must be at least 1, got \(clients)") }
        guard trainPerClient >= 1 else { throw UserError("train samples per client must be at least 1, got \(trainPerClient)") }
        guard testPerClient >= 0 else { throw UserError("test samples per client must be non-negative, got \(testPerClient)") }
        let classes = data.train.classes
        let proportions: [[Double]]
        switch scheme {
        case .dirichlet(let alpha):
            guard alpha > 0 else { throw UserError("dirichlet alpha must be positive, got \(alpha)") }
            var random = RandomStream(seed: seed, purpose: "partition/dirichlet")
            proportions = (0..<clients).map { _ in dirichlet(alpha: alpha, count: classes, random: &random) }
        case .pathological(let k):
            guard k >= 1 && k <= classes else {
                throw UserError("pathological partition asks for \(k) classes per client, the data has \(classes)")
            }
            var random = RandomStream(seed: seed, purpose: "partition/pathological")
            proportions = (0..<clients).map { _ in
                var chosen = Array(0..<classes)
                partialShuffle(&chosen, first: k, random: &random)
                var q = [Double](repeating: 0, count: classes)
                for c in chosen.prefix(k) { q[c] = 1 / Double(k) }
                return q
            }
        case .iid:
            proportions = []
        }
        func deal(_ dataset: Dataset, perClient: Int, split: String) throws -> [[Int]] {
            if perClient == 0 { return [[Int]](repeating: [], count: clients) }
            if case .iid = scheme {
                guard perClient <= dataset.count else {
                    throw UserError("\(dataset.name): each client asks for \(perClient) samples, the split has \(dataset.count)")
                }
                return (0..<clients).map { client in
                    var random = RandomStream(seed: seed, purpose: "partition/\(split)/client \(client)")
                    var all = Array(0..<dataset.count)
                    partialShuffle(&all, first: perClient, random: &random)
                    return Array(all.prefix(perClient))
                }
            }
            let byClass = dataset.indicesByClass()
            return try (0..<clients).map { client in
                var random = RandomStream(seed: seed, purpose: "partition/\(split)/client \(client)")
                let counts = classCounts(proportions[client], total: perClient, scheme: scheme)
                var indices: [Int] = []
                indices.reserveCapacity(perClient)
                for (c, count) in counts.enumerated() where count > 0 {
                    let pool = byClass[c]
                    guard !pool.isEmpty else {
                        throw UserError("\(dataset.name): client \(client) needs \(count) samples of class \(c), which has none")
                    }
                    if count <= pool.count {
                        var copy = pool
                        partialShuffle(&copy, first: count, random: &random)
                        indices += copy.prefix(count)
                    } else {
                        // Fewer samples than asked: draw with replacement (docs/semantics.md §2).
                        for _ in 0..<count { indices.append(pool[random.nextInt(below: pool.count)]) }
                    }
                }
                return indices
            }
        }
        return ClientPartition(train: try deal(data.train, perClient: trainPerClient, split: "train"),
                               test: try deal(data.test, perClient: testPerClient, split: "test"),
                               proportions: proportions)
    }

    /// Samples per class for one client: `round(total·q[j])` capped by what is left for j < C−1,
    /// the last class the remainder (Dirichlet); equal shares with the remainder on the first
    /// classes (pathological).
    static func classCounts(_ q: [Double], total: Int, scheme: PartitionScheme) -> [Int] {
        var counts = [Int](repeating: 0, count: q.count)
        if case .pathological(let k) = scheme {
            var order = 0
            for (c, share) in q.enumerated() where share > 0 {
                counts[c] = total / k + (order < total % k ? 1 : 0)
                order += 1
            }
            return counts
        }
        var left = total
        for j in 0..<(q.count - 1) {
            let want = Int((Double(total) * q[j]).rounded())
            counts[j] = min(want, left)
            left -= counts[j]
        }
        counts[q.count - 1] = left
        return counts
    }

    /// A draw from Dirichlet(alpha·1) of `count` components, by normalised Gamma(alpha) draws.
    static func dirichlet(alpha: Double, count: Int, random: inout RandomStream) -> [Double] {
        var draws = (0..<count).map { _ in gamma(shape: alpha, random: &random) }
        var total = draws.reduce(0, +)
        if !(total > 0) {
            // Every draw underflowed (tiny alpha): put all mass on one uniformly chosen class.
            draws = [Double](repeating: 0, count: count)
            draws[random.nextInt(below: count)] = 1
            total = 1
        }
        return draws.map { $0 / total }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang; shape < 1 through the boost `G(a+1)·U^(1/a)`.
    static func gamma(shape: Double, random: inout RandomStream) -> Double {
        if shape < 1 {
            let u = 1 - random.nextUniform()
            return gamma(shape: shape + 1, random: &random) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = random.nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = 1 - random.nextUniform()
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return d * v }
        }
    }
}

/// Fisher–Yates on the first `first` positions: they become a uniform sample without replacement.
func partialShuffle(_ values: inout [Int], first: Int, random: inout RandomStream) {
    for i in 0..<min(first, values.count - 1) {
        let j = i + random.nextInt(below: values.count - i)
        values.swapAt(i, j)
    }
}
