@testable import LIPS

/// Test inputs from a named stream, `RandomStream(seed:purpose:)`: every test draws its random
/// values here, so a failure reproduces exactly.
struct Draw {
    var stream: RandomStream
    init(_ purpose: String, seed: UInt64 = 11) { stream = RandomStream(seed: seed, purpose: purpose) }
    mutating func normal(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(stream.nextNormal() * scale) }
    }
    mutating func uniform(_ count: Int, _ low: Double, _ high: Double) -> [Float] {
        (0..<count).map { _ in Float(low + (high - low) * stream.nextUniform()) }
    }
    /// Values at least `margin` away from 0: sign · (margin + |normal|).
    mutating func awayFromZero(_ count: Int, margin: Double) -> [Float] {
        (0..<count).map { _ in
            let v = stream.nextNormal()
            return Float(v < 0 ? v - margin : v + margin)
        }
    }
    /// A random permutation of `spacing`·(0..<count), centred on 0: distinct values `spacing` apart.
    mutating func distinct(_ count: Int, spacing: Double) -> [Float] {
        let order = Array(0..<count).shuffled(using: &stream)
        return order.map { Float(Double($0) * spacing - Double(count) * spacing / 2) }
    }
}

/// `count` values uniform in [low, high) from the stream (seed, purpose).
func uniformValues(_ count: Int, _ low: Double = -1, _ high: Double = 1, seed: UInt64, purpose: String) -> [Float] {
    var draw = Draw(purpose, seed: seed)
    return draw.uniform(count, low, high)
}

/// `count` values ~ N(0, scale²) from the stream (seed, purpose).
func normalValues(_ count: Int, scale: Double = 1, seed: UInt64, purpose: String) -> [Float] {
    var draw = Draw(purpose, seed: seed)
    return draw.normal(count, scale: scale)
}
