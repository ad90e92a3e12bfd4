/// Mean and sample standard deviation of a few numbers (one per seed).
public struct Spread: Sendable, Equatable {
    public let mean: Double
    /// Sample standard deviation √(Σ(x − mean)² / (n − 1)); nil for one value.
    public let standardDeviation: Double?
    public let count: Int

    /// nil for no values.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        count = values.count
        mean = values.reduce(0, +) / Double(values.count)
        if values.count > 1 {
            let mean = mean
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            standardDeviation = (squares / Double(values.count - 1)).squareRoot()
        } else {
            standardDeviation = nil
        }
    }
}
