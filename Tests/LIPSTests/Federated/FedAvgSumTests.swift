import Testing
@testable import LIPS

/// The FedAvg sum's order (docs/semantics.md §5), against the rule written out here in Float:
/// blocks of consecutive client indices, each summed from zeros in client order, the total the first
/// block's sum and then each later block's sum in order.
@Suite struct FedAvgSumTests {
    static let model = try! Model.named("cnn", classes: 3, input: Shape(channels: 3, height: 8, width: 8))

    /// Client k's parameters and statistics: values of many magnitudes, so that orders differ in bits.
    static func client(_ k: Int) -> (Arena, Arena) {
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        var random = RandomStream(seed: UInt64(k), purpose: "fedavg test")
        for i in 0..<parameters.count { parameters[i] = Float(random.nextNormal()) * Float(1 << (i % 11)) }
        for i in 0..<statistics.count { statistics[i] = Float(random.nextUniform()) * Float(1 << (i % 7)) }
        return (parameters, statistics)
    }

    static func expected(_ clients: [Int], weights: [Float], block: Int, _ part: (Int) -> Arena) -> [Float] {
        var total: [Float]? = nil
        var blockSum: [Float] = []
        var open: Int? = nil
        func close() {
            guard open != nil else { return }
            if let t = total { total = zip(t, blockSum).map { $0 + $1 } } else { total = blockSum }
        }
        for (client, weight) in zip(clients, weights) {
            let values = part(client)
            if client / block != open {
                close()
                blockSum = [Float](repeating: 0, count: values.count)
                open = client / block
            }
            for i in 0..<values.count { blockSum[i] += weight * values[i] }
        }
        close()
        return total ?? []
    }

    @Test(arguments: [1, 2, 3, 10])
    func blocksThenBlockSumsInOrder(block: Int) {
        let clients = [0, 1, 2, 4, 5, 7, 8, 9], weights = clients.map { Float(1 + $0) / 37 }
        let models = Dictionary(uniqueKeysWithValues: clients.map { ($0, Self.client($0)) })
        let sum = FedAvgSum(model: Self.model, blockSize: block)
        for round in 0..<2 {   // a second round starts afresh
            sum.reset()
            for (client, weight) in zip(clients, weights) {
                sum.add(client: client, weight: weight, parameters: models[client]!.0, statistics: models[client]!.1)
            }
            sum.finish()
            let parameters = Self.expected(clients, weights: weights, block: block) { models[$0]!.0 }
            let statistics = Self.expected(clients, weights: weights, block: block) { models[$0]!.1 }
            #expect(sum.parameters.array.map(\.bitPattern) == parameters.map(\.bitPattern), "block \(block), round \(round): parameters")
            #expect(sum.statistics.array.map(\.bitPattern) == statistics.map(\.bitPattern), "block \(block), round \(round): statistics")
        }
    }

    /// Blocks change the bits: the blocked total is not the plain sum in client order (else the test
    /// above could not tell the orders apart), while one block as wide as the clients is exactly it.
    @Test func blocksChangeTheBitsAndOneBlockIsThePlainSum() {
        let clients = Array(0..<8), weights = clients.map { _ in Float(1) / 8 }
        let models = clients.map { Self.client($0) }
        func total(block: Int) -> [UInt32] {
            let sum = FedAvgSum(model: Self.model, blockSize: block)
            sum.reset()
            for k in clients { sum.add(client: k, weight: weights[k], parameters: models[k].0, statistics: models[k].1) }
            sum.finish()
            return sum.parameters.array.map(\.bitPattern)
        }
        var plain = [Float](repeating: 0, count: models[0].0.count)
        for k in clients { for i in plain.indices { plain[i] += weights[k] * models[k].0[i] } }
        #expect(total(block: 8) == plain.map(\.bitPattern))
        #expect(total(block: 2) != plain.map(\.bitPattern))
    }

    /// Ranks owning blocks b mod R, each summing its own blocks and keeping them apart; the gathered
    /// parts fold to the one-process total bit for bit, for any R, with blocks no client of the round
    /// falls in, ranks that own none of the round's clients, and the arenas reused in a second round.
    @Test(arguments: [1, 2, 3, 4])
    func ranksKeepingBlocksFoldToTheSameBits(ranks: Int) {
        let block = 2
        let rounds = [[0, 1, 2, 4, 5, 7, 8, 9], [1, 3, 9]]
        let models = Dictionary(uniqueKeysWithValues: (0..<10).map { ($0, Self.client($0)) })
        let single = FedAvgSum(model: Self.model, blockSize: block)
        let shares = (0..<ranks).map { _ in FedAvgSum(model: Self.model, blockSize: block, keepsBlocks: true) }
        let gathered = FedAvgSum(model: Self.model, blockSize: block)
        for clients in rounds {
            let weights = clients.map { Float(2 + $0) / 41 }
            single.reset()
            for (client, weight) in zip(clients, weights) {
                single.add(client: client, weight: weight, parameters: models[client]!.0, statistics: models[client]!.1)
            }
            single.finish()
            var parts: [[UInt8]] = []
            for (rank, share) in shares.enumerated() {
                share.reset()
                for (client, weight) in zip(clients, weights) where (client / block) % ranks == rank {
                    share.add(client: client, weight: weight, parameters: models[client]!.0, statistics: models[client]!.1)
                }
                share.finish()
                parts.append(share.encodedBlocks())
            }
            gathered.fold(parts: parts)
            #expect(gathered.parameters.array.map(\.bitPattern) == single.parameters.array.map(\.bitPattern), "\(ranks) ranks, clients \(clients)")
            #expect(gathered.statistics.array.map(\.bitPattern) == single.statistics.array.map(\.bitPattern), "\(ranks) ranks, clients \(clients)")
        }
    }
}

