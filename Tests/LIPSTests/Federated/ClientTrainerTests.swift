import Testing
@testable import LIPS

@Suite struct ClientTrainerTests {
    let data = SyntheticData.make(trainCount: 240, testCount: 80, classes: 4, shape: Shape(channels: 3, height: 8, width: 8), seed: 5)

    private func trained(seed: UInt64) throws -> (parameters: Arena, statistics: Arena, result: LocalTrainingResult, trainer: ClientTrainer) {
        let model = Model.cnn(classes: 4, input: Shape(channels: 3, height: 8, width: 8))
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: parameters, statistics: statistics, seed: 1)
        let trainer = ClientTrainer(model: model, options: LocalTrainingOptions(epochs: 4, batchSize: 32,
                                                                                optimizer: SGD(learningRate: 0.05, momentum: 0.9)))
        let assembler = try BatchAssembler(imageShape: data.train.imageShape)
        let result = trainer.train(parameters: parameters, statistics: statistics, data: data.train, indices: Array(0..<240),
                                   assembler: assembler, seed: seed, round: 0, client: 3)
        return (parameters, statistics, result, trainer)
    }

    @Test func localTrainingLearnsSyntheticClasses() throws {
        let run = try trained(seed: 7)
        // 240 samples in batches of 32: 8 steps per epoch (the last of 16 samples), 4 epochs.
        #expect(run.result.steps == 32 && run.result.samples == 960)
        let assembler = try BatchAssembler(imageShape: data.test.imageShape)
        let accuracy = run.trainer.accuracy(parameters: run.parameters, statistics: run.statistics, data: data.test,
                                            indices: Array(0..<80), assembler: assembler)
        #expect(accuracy > 0.8, "test accuracy \(accuracy) after local training (chance is 0.25)")
        // The last step's gradient stays in the trainer's gradient arena for LIPS.
        #expect(run.trainer.gradients.array.contains { $0 != 0 })
    }

    @Test func trainingIsAPureFunctionOfTheSeed() throws {
        let a = try trained(seed: 7), b = try trained(seed: 7), c = try trained(seed: 8)
        #expect(a.parameters.array == b.parameters.array && a.statistics.array == b.statistics.array)
        #expect(a.parameters.array != c.parameters.array)
    }

    /// `shuffle: false`: every epoch takes the client's list in order, in consecutive batches, and
    /// the result does not depend on the seed (nothing is drawn).
    @Test func withoutShuffleBatchesFollowTheSplitOrder() throws {
        let model = Model.cnn(classes: 4, input: Shape(channels: 3, height: 8, width: 8))
        let indices = [17, 3, 200, 3, 9, 120, 55, 1, 230, 42, 7]
        func train(seed: UInt64, shuffle: Bool) throws -> (batches: [[Int]], parameters: [Float]) {
            let parameters = model.makeParameters(), statistics = model.makeStatistics()
            model.initialize(parameters: parameters, statistics: statistics, seed: 1)
            let trainer = ClientTrainer(model: model, options: LocalTrainingOptions(epochs: 2, batchSize: 4,
                                                                                    optimizer: SGD(learningRate: 0.05, momentum: 0.9),
                                                                                    shuffle: shuffle))
            trainer.batchLog = []
            let assembler = try BatchAssembler(imageShape: data.train.imageShape,
                                               augmentation: Augmentation(horizontalFlip: true, rotationDegrees: 0, cropPadding: 2))
            _ = trainer.train(parameters: parameters, statistics: statistics, data: data.train, indices: indices,
                              assembler: assembler, seed: seed, round: 1, client: 2)
            return (trainer.batchLog ?? [], parameters.array)
        }
        let inOrder = try train(seed: 7, shuffle: false)
        let epoch = [[17, 3, 200, 3], [9, 120, 55, 1], [230, 42, 7]]
        #expect(inOrder.batches == epoch + epoch)
        #expect(try train(seed: 8, shuffle: false).parameters == inOrder.parameters, "no draw depends on the seed")
        let shuffled = try train(seed: 7, shuffle: true)
        #expect(shuffled.batches != inOrder.batches)
        #expect(shuffled.batches.flatMap { $0 }.sorted() == (indices + indices).sorted())
    }
}
