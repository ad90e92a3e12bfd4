/// Non-escaping views for one layer, one worker, one call. Built by the model, never stored.
///
/// Activations are channel-major (C, N, H, W) for `batchSize` = N samples. `params`, `grads` and
/// `statistics` are whole arenas: a layer reads its own slices through the offsets it claimed.
struct LayerIO {
    var input: UnsafeMutablePointer<Float>
    var output: UnsafeMutablePointer<Float>
    /// Gradient of the loss w.r.t. `output` (backward only).
    var dOutput: UnsafeMutablePointer<Float>
    /// Where the gradient w.r.t. `input` goes; nil when nobody needs it (the stem), which saves a GEMM.
    var dInput: UnsafeMutablePointer<Float>?
    /// What forward keeps for backward (`cacheCount` floats).
    var cache: UnsafeMutablePointer<Float>
    /// Temporary space, free between calls (`scratchCount` floats).
    var scratch: UnsafeMutablePointer<Float>
    var params: UnsafeMutablePointer<Float>
    var grads: UnsafeMutablePointer<Float>
    var statistics: UnsafeMutablePointer<Float>
    var batchSize: Int
    /// Train mode: BatchNorm uses and updates batch statistics.
    var training: Bool
    /// The parameters are those of the previous forward on this workspace (scoring one model batch after
    /// batch), so what that forward derived from them alone and kept in `cache` still holds: Winograd's
    /// transformed filters. Only the caller knows this; false recomputes.
    var parametersUnchanged = false
}

/// One row of `lips inspect`'s table.
public struct LayerSummary: Sendable {
    public let name: String
    public let type: String
    public let outputShape: Shape
    public let parameters: Int
    /// Multiply-adds per sample in forward.
    public let multiplyAdds: Int
}

/// A layer: forward and backward over flat buffers, as in llm.c.
///
/// The gradient contract: `backward` **adds** parameter gradients into `grads` (the arena is zeroed
/// once per step) and **overwrites** `dInput`. Layers are immutable and hold no memory of their own.
protocol Layer: Sendable {
    var inputShape: Shape { get }
    var outputShape: Shape { get }
    /// Floats kept from forward for backward, for `batchSize` samples (and, what depends on the
    /// parameters alone, from one forward to the next: `LayerIO.parametersUnchanged`).
    func cacheCount(batchSize: Int) -> Int
    /// Temporary floats needed inside one call.
    func scratchCount(batchSize: Int) -> Int
    func forward(_ io: LayerIO)
    func backward(_ io: LayerIO)
    /// Rows for the model summary (a composite layer lists its parts).
    var summary: [LayerSummary] { get }
}
