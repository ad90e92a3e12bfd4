// input (Cin, N, H, W), output (Cout, N, Ho, Wo).
// out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), shortcut = x or bn(conv1x1(x)).

/// ResNet's BasicBlock, with an identity or a 1×1-conv + BN projection shortcut.
///
/// The one place where two gradients meet: the main branch's and the shortcut's input gradients
/// are added here explicitly.
struct BasicBlock: Layer {
    let name: String
    let conv1: Conv2d
    /// Runs with its ReLU fused (`forward(_:relu:)`, `backward(_:reluOutput:)`).
    let bn1: BatchNorm2d
    let conv2: Conv2d
    let bn2: BatchNorm2d
    /// The projection shortcut, nil for identity.
    let shortcut: (conv: Conv2d, bn: BatchNorm2d)?

    init(_ name: String, input: Shape, planes: Int, stride: Int, planner: inout ParameterPlanner) {
        self.name = name
        conv1 = Conv2d("\(name).conv1", input: input, outputChannels: planes, kernel: 3, stride: stride, padding: 1,
                       bias: false, planner: &planner)
        bn1 = BatchNorm2d("\(name).bn1", input: conv1.outputShape, planner: &planner)
        conv2 = Conv2d("\(name).conv2", input: conv1.outputShape, outputChannels: planes, kernel: 3, stride: 1, padding: 1,
                       bias: false, planner: &planner)
        bn2 = BatchNorm2d("\(name).bn2", input: conv2.outputShape, planner: &planner)
        if stride != 1 || input.channels != planes {
            let conv = Conv2d("\(name).shortcut.0", input: input, outputChannels: planes, kernel: 1, stride: stride,
                              bias: false, planner: &planner)
            shortcut = (conv, BatchNorm2d("\(name).shortcut.1", input: conv.outputShape, planner: &planner))
        } else {
            shortcut = nil
        }
    }

    var inputShape: Shape { conv1.inputShape }
    var outputShape: Shape { conv2.outputShape }

    // Cache: the convs' own caches (Winograd's transformed filters) | conv1 out | bn1+relu out | conv2 out |
    // bn2 out | [shortcut conv out | shortcut bn out] | BN caches. The convs' come first: their size does
    // not depend on the batch, so they stay where a forward on a batch of another size left them.
    private var activationSlots: Int { shortcut == nil ? 4 : 6 }

    private func convCacheCounts(_ batchSize: Int) -> (conv1: Int, conv2: Int, shortcut: Int) {
        (conv1.cacheCount(batchSize: batchSize), conv2.cacheCount(batchSize: batchSize),
         shortcut?.conv.cacheCount(batchSize: batchSize) ?? 0)
    }

    func cacheCount(batchSize: Int) -> Int {
        let convs = convCacheCounts(batchSize)
        return convs.conv1 + convs.conv2 + convs.shortcut + activationSlots * outputShape.count * batchSize
            + 3 * 2 * outputShape.channels
    }

    // Scratch: three gradient buffers of the larger of input and output, then the parts' scratch.
    private func gradientBufferCount(_ batchSize: Int) -> Int { max(inputShape.count, outputShape.count) * batchSize }

    func scratchCount(batchSize: Int) -> Int {
        var parts = max(conv1.scratchCount(batchSize: batchSize), conv2.scratchCount(batchSize: batchSize))
        if let shortcut { parts = max(parts, shortcut.conv.scratchCount(batchSize: batchSize)) }
        return 3 * gradientBufferCount(batchSize) + parts
    }

    /// Named views of the cache and scratch for one call.
    private struct Buffers {
        let conv1Cache, conv2Cache, shortcutConvCache: UnsafeMutablePointer<Float>
        let conv1Out, bn1Out, conv2Out, bn2Out, shortcutConvOut, shortcutBNOut: UnsafeMutablePointer<Float>
        let bn1Cache, bn2Cache, shortcutBNCache: UnsafeMutablePointer<Float>
        let g1, g2, g3, partScratch: UnsafeMutablePointer<Float>
    }

    private func buffers(_ io: LayerIO) -> Buffers {
        let convs = convCacheCounts(io.batchSize)
        let conv2Cache = io.cache + convs.conv1, shortcutConvCache = conv2Cache + convs.conv2
        let activations = shortcutConvCache + convs.shortcut
        let a = outputShape.count * io.batchSize
        let slot = { (i: Int) in activations + i * a }
        let caches = activations + activationSlots * a
        let c2 = 2 * outputShape.channels
        let g = gradientBufferCount(io.batchSize)
        return Buffers(conv1Cache: io.cache, conv2Cache: conv2Cache, shortcutConvCache: shortcutConvCache,
                       conv1Out: slot(0), bn1Out: slot(1), conv2Out: slot(2), bn2Out: slot(3),
                       shortcutConvOut: slot(shortcut == nil ? 0 : 4), shortcutBNOut: slot(shortcut == nil ? 0 : 5),
                       bn1Cache: caches, bn2Cache: caches + c2, shortcutBNCache: caches + 2 * c2,
                       g1: io.scratch, g2: io.scratch + g, g3: io.scratch + 2 * g, partScratch: io.scratch + 3 * g)
    }

    /// The IO of a part: same arenas and batch, its own buffers.
    private func part(_ io: LayerIO, input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
                      dOutput: UnsafeMutablePointer<Float>? = nil, dInput: UnsafeMutablePointer<Float>? = nil,
                      cache: UnsafeMutablePointer<Float>? = nil, scratch: UnsafeMutablePointer<Float>) -> LayerIO {
        var p = io
        p.input = input
        p.output = output
        p.dOutput = dOutput ?? output
        p.dInput = dInput
        p.cache = cache ?? scratch
        p.scratch = scratch
        return p
    }

    func forward(_ io: LayerIO) {
        let b = buffers(io)
        let count = outputShape.count * io.batchSize
        conv1.forward(part(io, input: io.input, output: b.conv1Out, cache: b.conv1Cache, scratch: b.partScratch))
        bn1.forward(part(io, input: b.conv1Out, output: b.bn1Out, cache: b.bn1Cache, scratch: b.partScratch), relu: true)
        conv2.forward(part(io, input: b.bn1Out, output: b.conv2Out, cache: b.conv2Cache, scratch: b.partScratch))
        bn2.forward(part(io, input: b.conv2Out, output: b.bn2Out, cache: b.bn2Cache, scratch: b.partScratch))
        var residual = UnsafePointer(io.input)
        if let shortcut {
            shortcut.conv.forward(part(io, input: io.input, output: b.shortcutConvOut, cache: b.shortcutConvCache,
                                       scratch: b.partScratch))
            shortcut.bn.forward(part(io, input: b.shortcutConvOut, output: b.shortcutBNOut, cache: b.shortcutBNCache,
                                     scratch: b.partScratch))
            residual = UnsafePointer(b.shortcutBNOut)
        }
        addReLU(b.bn2Out, residual, into: io.output, count: count)
    }

    func backward(_ io: LayerIO) {
        let b = buffers(io)
        let count = outputShape.count * io.batchSize
        // g1: gradient at the sum, shared by both branches.
        reluBackward(output: io.output, io.dOutput, b.g1, count: count)
        // Shortcut branch first: it writes dInput, the main branch then adds to it.
        if let shortcut {
            shortcut.bn.backward(part(io, input: b.shortcutConvOut, output: b.shortcutBNOut, dOutput: b.g1, dInput: b.g2,
                                      cache: b.shortcutBNCache, scratch: b.partScratch))
            shortcut.conv.backward(part(io, input: io.input, output: b.shortcutConvOut, dOutput: b.g2, dInput: io.dInput,
                                        cache: b.shortcutConvCache, scratch: b.partScratch))
        } else if let dInput = io.dInput {
            copy(b.g1, to: dInput, count: count)
        }
        bn2.backward(part(io, input: b.conv2Out, output: b.bn2Out, dOutput: b.g1, dInput: b.g2, cache: b.bn2Cache,
                          scratch: b.partScratch))
        conv2.backward(part(io, input: b.bn1Out, output: b.conv2Out, dOutput: b.g2, dInput: b.g3, cache: b.conv2Cache,
                            scratch: b.partScratch))
        bn1.backward(part(io, input: b.conv1Out, output: b.bn1Out, dOutput: b.g3, dInput: b.g2, cache: b.bn1Cache,
                          scratch: b.partScratch), reluOutput: b.bn1Out)
        guard let dInput = io.dInput else {
            conv1.backward(part(io, input: io.input, output: b.conv1Out, dOutput: b.g2, cache: b.conv1Cache,
                                scratch: b.partScratch))
            return
        }
        conv1.backward(part(io, input: io.input, output: b.conv1Out, dOutput: b.g2, dInput: b.g1, cache: b.conv1Cache,
                       scratch: b.partScratch))
        axpy(1, b.g1, dInput, count: inputShape.count * io.batchSize)
    }

    var summary: [LayerSummary] {
        var rows = conv1.summary + bn1.summary + conv2.summary + bn2.summary
        if let shortcut { rows += shortcut.conv.summary + shortcut.bn.summary }
        return rows
    }
}
