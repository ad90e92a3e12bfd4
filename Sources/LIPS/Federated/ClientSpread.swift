import Foundation

/// How a per-client value (personalised accuracy) spreads over the clients of one evaluation
/// (docs/semantics.md §10): the mean alone hides a few clients the model fails.
public struct ClientSpread: Sendable, Equatable {
    /// Population standard deviation √(Σ(x − m)² / n), m = Σx / n (both sums in the given order):
    /// the clients are the whole population, not a sample of it.
    public let standardDeviation: Double
    public let minimum: Double
    /// The 10th percentile, `percentile(values, 0.1)`.
    public let percentile10: Double

    /// nil for no values.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        standardDeviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        minimum = values.min()!
        percentile10 = ClientSpread.percentile(values, 0.1)
    }

    /// The q-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics — numpy's
    /// default (`method="linear"`, R's type 7): with x sorted ascending and h = (n − 1)·q, the value
    /// x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋]). As numpy does, the interpolation is written
    /// b − (b − a)·(1 − t) when t ≥ ½, which is exact at t = 1.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        precondition(!values.isEmpty && q >= 0 && q <= 1, "ClientSpread.percentile: no values or q \(q) outside [0, 1]")
        let sorted = values.sorted()
        let h = Double(sorted.count - 1) * q
        let low = min(sorted.count - 1, Int(h.rounded(.down)))
        guard low + 1 < sorted.count else { return sorted[low] }
        let (a, b, t) = (sorted[low], sorted[low + 1], h - Double(low))
        return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t
    }
}
