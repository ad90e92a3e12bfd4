import CHalf
import Testing
@testable import LIPS

/// The C conversions (F16C where the CPU has it) give Swift's own Float16 conversion bit for bit:
/// round to nearest even, subnormals, overflow to infinity, signed zeros.
@Suite struct HalfConversionTests {
    static func values() -> [Float] {
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e-8, -1e-8, 6.1e-5, 5.96e-8, 2.98e-8,
                               1 + 1.0 / 2048, 1 + 3.0 / 2048, .infinity, -.infinity, .greatestFiniteMagnitude]
        var stream = RandomStream(seed: 9, purpose: "half")
        for _ in 0..<4099 { values.append(Float(stream.nextNormal() * 0.01)) }   // 4099: not a multiple of 8
        for exponent in -30...16 { values.append(Float(stream.nextUniform() + 1) * Float(sign: .plus, exponent: exponent, significand: 1)) }
        return values
    }

    @Test func floatToHalfMatchesSwift() {
        let values = Self.values()
        var got = [UInt16](repeating: 0, count: values.count)
        lips_float_to_half(values, &got, values.count)
        for (i, value) in values.enumerated() {
            #expect(got[i] == Float16(value).bitPattern, "\(value): C gave \(got[i]), Swift \(Float16(value).bitPattern)")
        }
    }

    @Test func halfToFloatMatchesSwiftForEveryNonNaNHalf() {
        let halves = (0...UInt16.max).filter { !Float16(bitPattern: $0).isNaN }
        var got = [Float](repeating: 0, count: halves.count)
        lips_half_to_float(halves, &got, halves.count)
        let bad = halves.indices.first { got[$0].bitPattern != Float(Float16(bitPattern: halves[$0])).bitPattern }
        #expect(bad == nil, "first mismatch at half bits \(bad.map { halves[$0] } ?? 0)")
    }
}
