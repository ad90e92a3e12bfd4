import Testing
import Foundation
@testable import LIPS

/// The one-layer cut against the definition (docs/semantics.md §6), written here without the
/// engine's selection: sort by score, lower index first among equal scores, keep floor(n·d).
@Suite struct LIPSSparsifierTests {
    static func referenceMask(weights: [Float], gradients: [Float], density: Double) -> [Float] {
        let scores = zip(gradients, weights).map { abs($0 * $1) }
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        let keep = Int((Double(scores.count) * density).rounded(.down))
        var mask = [Float](repeating: 0, count: scores.count)
        for i in order.prefix(keep) { mask[i] = 1 }
        return mask
    }

    @Test(arguments: [0.0, 0.1, 0.25, 0.5, 0.73, 0.99, 1.0])
    func cutKeepsTheLargestScoresWithTiesToTheLowerIndex(density: Double) {
        for (count, purpose) in [(1, "one"), (7, "short"), (300, "long"), (1_001, "odd")] {
            var draw = Draw(purpose, seed: 23)
            // Weights from five values and gradients from three: |g·w| ties everywhere, zeros included.
            let weights = draw.uniform(count, -2.5, 2.5).map { $0.rounded() }
            let gradients = draw.uniform(count, -1.5, 1.5).map { $0.rounded() }
            let got = LIPSSparsifier.mask(weights: weights, gradients: gradients, density: density)
            #expect(got == Self.referenceMask(weights: weights, gradients: gradients, density: density),
                    "\(count) weights at density \(density)")
            #expect(LIPSSparsifier.keepCount(count, density: density) == Int((Double(count) * density).rounded(.down)))
        }
    }

    /// Scores spread over many binades (the radix select's every digit matters), with runs of
    /// equal values and zeros, against the sort-based definition.
    @Test(arguments: [0.0, 0.01, 0.3, 0.5, 0.999, 1.0])
    func cutOfWidelySpreadScoresMatchesTheDefinition(density: Double) {
        for count in [2, 63, 64, 65, 4_099] {
            var draw = Draw("spread \(count)", seed: 5)
            let exponents = draw.uniform(count, -30, 10)
            let signs = draw.uniform(count, -1, 1)
            var weights = zip(exponents, signs).map { Float(pow(2, Double($0))) * ($1 < 0 ? -1 : 1) }
            // Equal scores: every seventh weight repeats its predecessor's, every eleventh is zero.
            for i in stride(from: 7, to: count, by: 7) { weights[i] = weights[i - 1] }
            for i in stride(from: 0, to: count, by: 11) { weights[i] = 0 }
            let gradients = [Float](repeating: 1, count: count)
            #expect(LIPSSparsifier.mask(weights: weights, gradients: gradients, density: density)
                    == Self.referenceMask(weights: weights, gradients: gradients, density: density), "\(count) at \(density)")
        }
    }

    @Test func topKThresholdIsTheKeepThLargestScoreAndItsKeptTies() {
        let scores: [Float] = [3, 1, 2, 2, 0, 2, 5, 2]
        let work = OwnedBuffer<Float>(repeating: 0, count: scores.count)
        scores.withUnsafeBufferPointer { s in
            // keep 4: 5, 3 and two of the four 2s.
            #expect(topKThreshold(scores: s.baseAddress!, count: 8, keep: 4, work: work.base)
                    == TopKThreshold(key: Float(2).bitPattern, tiesKept: 2))
            #expect(topKThreshold(scores: s.baseAddress!, count: 8, keep: 7, work: work.base)
                    == TopKThreshold(key: Float(1).bitPattern, tiesKept: 1))
        }
    }

    /// A hand-made layout: the stem and the bias are never masked, `a` and `b` are.
    static let layout: ParameterLayout = {
        var layout = ParameterLayout()
        _ = layout.claim("stem.weight", shape: [4, 1, 3, 3], kind: .convWeight)
        _ = layout.claim("a.weight", shape: [5, 4, 3, 3], kind: .convWeight, maskable: true)
        _ = layout.claim("a.bias", shape: [5], kind: .convBias)
        _ = layout.claim("b.weight", shape: [3, 5, 1, 1], kind: .convWeight, maskable: true)
        return layout
    }()

    @Test func maskBitsAreLaidOutLayerAfterLayerAndApplyZeroesTheDroppedWeights() {
        let tracked = Self.layout.entries.filter { $0.kind == .convWeight }
        let sparsifier = LIPSSparsifier(tracked: tracked, ownership: .all(2))
        #expect(sparsifier.layers.map(\.name) == ["a.weight", "b.weight"] && sparsifier.trackedIndex == [1, 2])
        #expect(sparsifier.bitStart == [0, 180] && sparsifier.bitsPerClient == 195 && sparsifier.wordsPerClient == 4)

        // Client 1 keeps the weights whose index within their layer is a multiple of 3.
        var words = [UInt64](repeating: 0, count: 8)
        for (layer, entry) in sparsifier.layers.enumerated() {
            for i in stride(from: 0, to: entry.count, by: 3) {
                let bit = 4 * 64 + sparsifier.bitStart[layer] + i
                words[bit / 64] |= 1 << UInt64(bit % 64)
            }
        }
        #expect(sparsifier.restore(clients: [0, 1], hasMask: [false, true], words: words) == nil)
        #expect(sparsifier.restore(clients: [0], hasMask: [true], words: words) != nil)
        let parameters = Arena(count: Self.layout.count)
        parameters.set((0..<Self.layout.count).map { Float($0 + 1) }, at: 0)
        var expected = parameters.array
        for entry in sparsifier.layers {
            for i in 0..<entry.count where i % 3 != 0 { expected[entry.offset + i] = 0 }
        }
        sparsifier.apply(1, to: parameters)
        #expect(parameters.array == expected)
    }

    /// The cut written as bits, for a layer starting mid-word (bit 180), reads back as the
    /// definition's mask, and its count of kept non-zero weights is right; client 0's bits stay.
    @Test func cutBitsOfALayerStartingMidWordMatchTheDefinition() {
        let tracked = Self.layout.entries.filter { $0.kind == .convWeight }
        let sparsifier = LIPSSparsifier(tracked: tracked, ownership: .all(2))
        #expect(sparsifier.restore(clients: [0, 1], hasMask: [true, true], words: [UInt64](repeating: ~0, count: 8)) == nil)
        for (layer, entry) in sparsifier.layers.enumerated() {
            var draw = Draw("layer \(layer)", seed: 3)
            var weights = draw.uniform(entry.count, -2.5, 2.5).map { $0.rounded() }
            weights[0] = 0
            let gradients = draw.uniform(entry.count, -1.5, 1.5).map { $0.rounded() }   // ties everywhere
            for density in [0.0, 0.4, 1.0] {
                let expected = Self.referenceMask(weights: weights, gradients: gradients, density: density)
                let scores = OwnedBuffer<Float>(repeating: 0, count: entry.count)
                let work = OwnedBuffer<Float>(repeating: 0, count: entry.count)
                let kept = weights.withUnsafeBufferPointer { w in
                    gradients.withUnsafeBufferPointer { g in
                        LIPSSparsifier.score(weights: w.baseAddress!, gradients: g.baseAddress!, count: entry.count, into: scores.base)
                        return sparsifier.setBits(1, layer: layer, scores: scores.base,
                                                  keep: LIPSSparsifier.keepCount(entry.count, density: density),
                                                  work: work.base, weights: w.baseAddress!)
                    }
                }
                #expect(sparsifier.mask(1, layer: layer) == expected, "layer \(layer) at \(density)")
                #expect(kept == zip(expected, weights).filter { $0 == 1 && $1 != 0 }.count)
                #expect(sparsifier.mask(0, layer: layer) == [Float](repeating: 1, count: entry.count))
            }
        }
    }
}
