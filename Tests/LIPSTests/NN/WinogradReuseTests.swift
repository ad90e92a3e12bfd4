import Testing
@testable import LIPS

/// Winograd's transformed filters live in the conv's cache: backward reads the forward's, and a forward
/// told `parametersUnchanged` reads the previous forward's. Either way the bits must be those of
/// recomputing them, whatever batch sizes come in between (the filters sit where a batch of another
/// size leaves them, first in a BasicBlock's cache).
@Suite struct WinogradReuseTests {
    /// ResNet-8 on 16×16: Winograd convs on 4×4 (64 channels) and 2×2 (128), im2col on 1×1.
    static func model() throws -> Model {
        try Model.named("resnet8", classes: 10, input: Shape(channels: 3, height: 16, width: 16))
    }

    static func arenas(_ model: Model) -> (parameters: Arena, statistics: Arena) {
        let parameters = model.makeParameters(), statistics = model.makeStatistics()
        model.initialize(parameters: parameters, statistics: statistics, seed: 7)
        return (parameters, statistics)
    }

    /// Eval-mode logits of `batch` (samples drawn by name) on `workspace`.
    static func logits(_ model: Model, _ workspace: Workspace, parameters: Arena, statistics: Arena, batch: Int,
                       _ name: String, parametersUnchanged: Bool) -> [UInt32] {
        var draw = Draw(name)
        let input = draw.normal(model.inputShape.count * batch)
        workspace.withInput { buffer in
            for i in input.indices { buffer[i] = input[i] }
        }
        model.forward(workspace, parameters: parameters, statistics: statistics, batchSize: batch, training: false,
                      parametersUnchanged: parametersUnchanged)
        return workspace.withLogits { Array($0.prefix(model.classes * batch)).map(\.bitPattern) }
    }

    @Test func scoringBatchAfterBatchGivesTheRecomputedBits() throws {
        let model = try Self.model()
        let (parameters, statistics) = Self.arenas(model)
        let batches = [(5, "a"), (3, "b"), (5, "c"), (1, "d")]
        let recomputing = model.makeWorkspace(batchSize: 5), reusing = model.makeWorkspace(batchSize: 5)
        for (index, (batch, name)) in batches.enumerated() {
            let want = Self.logits(model, recomputing, parameters: parameters, statistics: statistics, batch: batch, name,
                                   parametersUnchanged: false)
            let got = Self.logits(model, reusing, parameters: parameters, statistics: statistics, batch: batch, name,
                                  parametersUnchanged: index > 0)
            #expect(got == want, "batch \(index) of \(batch)")
            #expect(batch == 1 || Set(got).count > model.classes, "batch \(index): logits hardly depend on the sample")
        }
    }

    /// The reuse is real: told the parameters are unchanged when they are not, the forward keeps the old
    /// transformed filters and gives other logits than a recompute.
    @Test func aStaleTransformShows() throws {
        let model = try Self.model()
        let (parameters, statistics) = Self.arenas(model)
        let workspace = model.makeWorkspace(batchSize: 4)
        _ = Self.logits(model, workspace, parameters: parameters, statistics: statistics, batch: 4, "x", parametersUnchanged: false)
        let weight = model.parameterLayout.entry(named: "layers.0.0.conv2.weight")!
        let values = parameters.pointer(to: weight)
        for i in 0..<weight.count { values[i] *= 2 }
        let stale = Self.logits(model, workspace, parameters: parameters, statistics: statistics, batch: 4, "x", parametersUnchanged: true)
        let fresh = Self.logits(model, workspace, parameters: parameters, statistics: statistics, batch: 4, "x", parametersUnchanged: false)
        #expect(stale != fresh)
    }

    /// A training step after scoring with reuse recomputes: the same gradients as on a fresh workspace.
    @Test func trainingAfterReuseRecomputes() throws {
        let model = try Self.model()
        let (parameters, statistics) = Self.arenas(model)
        func gradients(_ workspace: Workspace) -> [UInt32] {
            var draw = Draw("training batch")
            let input = draw.normal(model.inputShape.count * 3)
            workspace.withInput { buffer in
                for i in input.indices { buffer[i] = input[i] }
            }
            workspace.withLabels { labels in
                for n in 0..<3 { labels[n] = Int32(n) }
            }
            let gradients = model.makeParameters()
            model.computeGradients(workspace, parameters: parameters, gradients: gradients, statistics: Arena(copying: statistics),
                                   batchSize: 3)
            return gradients.array.map(\.bitPattern)
        }
        let scored = model.makeWorkspace(batchSize: 5)
        let other = model.makeParameters()
        model.initialize(parameters: other, statistics: model.makeStatistics(), seed: 8)
        _ = Self.logits(model, scored, parameters: other, statistics: statistics, batch: 5, "y", parametersUnchanged: false)
        _ = Self.logits(model, scored, parameters: other, statistics: statistics, batch: 2, "z", parametersUnchanged: true)
        #expect(gradients(scored) == gradients(model.makeWorkspace(batchSize: 5)))
    }
}
