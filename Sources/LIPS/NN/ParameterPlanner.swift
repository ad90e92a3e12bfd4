/// Hands out arena slices while a model is being described, in PyTorch's parameter order.
struct ParameterPlanner {
    var parameters = ParameterLayout()
    var statistics = ParameterLayout()
    /// The first conv claimed is the stem, which LIPS never masks.
    private var claimedConv = false

    /// Claims a conv weight [out, in, k, k]; every conv but the first is maskable.
    mutating func claimConvWeight(_ name: String, shape: [Int]) -> Int {
        defer { claimedConv = true }
        return parameters.claim(name, shape: shape, kind: .convWeight, maskable: claimedConv)
    }

    mutating func claim(_ name: String, shape: [Int], kind: ParameterKind) -> Int {
        parameters.claim(name, shape: shape, kind: kind)
    }

    mutating func claimStatistic(_ name: String, count: Int, kind: ParameterKind) -> Int {
        statistics.claim(name, shape: [count], kind: kind)
    }
}
