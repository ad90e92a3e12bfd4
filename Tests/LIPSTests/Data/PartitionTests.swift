import Foundation
import Testing
@testable import LIPS

@Suite struct PartitionTests {
    /// 10 classes × 200 train and 50 test samples, balanced.
    let data = SyntheticData.make(trainCount: 2_000, testCount: 500, classes: 10, shape: Shape(channels: 1, height: 2, width: 2), seed: 9)

    private func classesPerClient(_ p: ClientPartition, _ dataset: Dataset) -> Double {
        let counts = p.train.map { Set($0.map { dataset.labels[$0] }).count }
        return Double(counts.reduce(0, +)) / Double(counts.count)
    }

    @Test func dirichletGivesExactCountsAndSharedProportions() throws {
        let p = try ClientPartition.make(.dirichlet(alpha: 0.5), clients: 20, trainPerClient: 100, testPerClient: 40, data: data, seed: 2)
        #expect(p.train.allSatisfy { $0.count == 100 } && p.test.allSatisfy { $0.count == 40 })
        #expect(p.proportions.count == 20 && p.proportions.allSatisfy { abs($0.reduce(0, +) - 1) < 1e-9 })
        for client in 0..<20 {
            // Train and test follow the same q: the per-class counts are the rounding of one q (docs/semantics.md §2).
            let trainCounts = ClientPartition.classCounts(p.proportions[client], total: 100, scheme: .dirichlet(alpha: 0.5))
            let testCounts = ClientPartition.classCounts(p.proportions[client], total: 40, scheme: .dirichlet(alpha: 0.5))
            var seenTrain = [Int](repeating: 0, count: 10), seenTest = [Int](repeating: 0, count: 10)
            for i in p.train[client] { seenTrain[Int(data.train.labels[i])] += 1 }
            for i in p.test[client] { seenTest[Int(data.test.labels[i])] += 1 }
            #expect(seenTrain == trainCounts && seenTest == testCounts)
            // Without replacement within a client while the class has enough samples.
            #expect(Set(p.train[client]).count == 100)
        }
    }

    @Test func classCountsFollowTheDocumentedRounding() {
        let counts = ClientPartition.classCounts([0.114, 0.5, 0.386], total: 100, scheme: .dirichlet(alpha: 1))
        #expect(counts == [11, 50, 39])
        let capped = ClientPartition.classCounts([0.6, 0.6, 0], total: 10, scheme: .dirichlet(alpha: 1))
        #expect(capped == [6, 4, 0])
        #expect(ClientPartition.classCounts([0, 0.5, 0, 0.5], total: 7, scheme: .pathological(classesPerClient: 2)) == [0, 4, 0, 3])
    }

    @Test func seedsDecideTheSplit() throws {
        let a = try ClientPartition.make(.dirichlet(alpha: 0.1), clients: 10, trainPerClient: 50, testPerClient: 10, data: data, seed: 2)
        let b = try ClientPartition.make(.dirichlet(alpha: 0.1), clients: 10, trainPerClient: 50, testPerClient: 10, data: data, seed: 2)
        let c = try ClientPartition.make(.dirichlet(alpha: 0.1), clients: 10, trainPerClient: 50, testPerClient: 10, data: data, seed: 3)
        #expect(a.train == b.train && a.test == b.test)
        #expect(a.train != c.train)
    }

    @Test func fewerClassesPerClientAsAlphaFalls() throws {
        var previous = Double.infinity
        for alpha in [100.0, 1.0, 0.1, 0.01] {
            let p = try ClientPartition.make(.dirichlet(alpha: alpha), clients: 50, trainPerClient: 100, testPerClient: 0, data: data, seed: 4)
            let mean = classesPerClient(p, data.train)
            #expect(mean < previous, "alpha \(alpha): \(mean) classes per client")
            previous = mean
        }
        #expect(previous < 2)
    }

    @Test func pathologicalAndIID() throws {
        let p = try ClientPartition.make(.pathological(classesPerClient: 2), clients: 15, trainPerClient: 51, testPerClient: 20, data: data, seed: 1)
        for client in 0..<15 {
            #expect(p.train[client].count == 51 && p.test[client].count == 20)
            let trainClasses = Set(p.train[client].map { data.train.labels[$0] })
            #expect(trainClasses.count == 2 && trainClasses == Set(p.test[client].map { data.test.labels[$0] }))
        }
        let iid = try ClientPartition.make(.iid, clients: 5, trainPerClient: 300, testPerClient: 50, data: data, seed: 1)
        #expect(iid.train.allSatisfy { $0.count == 300 && Set($0).count == 300 })
        #expect(classesPerClient(iid, data.train) == 10)
    }

    @Test func impossibleRequestsAreRefused() throws {
        expectUserError("1000 samples", "has 500") {
            _ = try ClientPartition.make(.iid, clients: 2, trainPerClient: 10, testPerClient: 1_000, data: data, seed: 1)
        }
        expectUserError("11 classes per client", "has 10") {
            _ = try ClientPartition.make(.pathological(classesPerClient: 11), clients: 2, trainPerClient: 10, testPerClient: 1, data: data, seed: 1)
        }
        // A class with no samples cannot be drawn from, even with replacement.
        let lopsided = Dataset(name: "lopsided", imageShape: Shape(channels: 1, height: 1, width: 1), classes: 3,
                               pixels: [1, 2, 3, 4], labels: [0, 0, 1, 1])
        expectUserError("lopsided", "class 2, which has none") {
            _ = try ClientPartition.make(.pathological(classesPerClient: 3), clients: 1, trainPerClient: 3, testPerClient: 0,
                                         data: DatasetPair(train: lopsided, test: lopsided), seed: 1)
        }
        expectUserError("alpha must be a positive") { _ = try PartitionScheme.parse("dirichlet(-1)") }
        #expect(try PartitionScheme.parse("dirichlet(0.1)") == .dirichlet(alpha: 0.1))
        #expect(try PartitionScheme.parse("pathological:2") == .pathological(classesPerClient: 2))
    }

    @Test func fashionMNISTDirichletAveragesAboutFourClasses() throws {
        guard FileManager.default.fileExists(atPath: MNISTReader.fashionMNISTDirectory) else { return }
        let pair = try DatasetCatalog.load("fashion-mnist")
        let p = try ClientPartition.make(.dirichlet(alpha: 0.1), clients: 100, trainPerClient: 100, testPerClient: 400, data: pair, seed: 2)
        let mean = classesPerClient(p, pair.train)
        print("fashion-mnist dirichlet(0.1), 100 clients: \(mean) classes per client")
        #expect(mean > 2.5 && mean < 5.5)
    }
}
