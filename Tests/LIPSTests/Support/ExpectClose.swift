import Testing

/// Checks `got` against `want` element-wise: `|got − want| ≤ atol + rtol·|want|`. On failure it
/// reports the count of bad values, the worst one and the first bad index.
func expectClose(_ got: [Float], _ want: [Float], rtol: Double, atol: Double, _ what: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard got.count == want.count else {
        Issue.record("\(what): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
        return
    }
    var bad = 0, firstBad = -1, worst = 0.0, worstIndex = 0
    for i in got.indices {
        let difference = abs(Double(got[i]) - Double(want[i]))
        let allowed = atol + rtol * abs(Double(want[i]))
        if !(difference <= allowed) {
            bad += 1
            if firstBad < 0 { firstBad = i }
            if !(difference <= worst) { worst = difference; worstIndex = i }
        }
    }
    if bad > 0 {
        Issue.record("""
            \(what): \(bad)/\(got.count) values off; first at \(firstBad) (got \(got[firstBad]), want \(want[firstBad])); \
            worst at \(worstIndex) (got \(got[worstIndex]), want \(want[worstIndex]), diff \(worst))
            """, sourceLocation: sourceLocation)
    }
}

/// Largest `|got − want| / (atol + rtol·|want|)`: ≤ 1 means within tolerance.
func toleranceRatio(_ got: [Float], _ want: [Float], rtol: Double, atol: Double) -> Double {
    var ratio = 0.0
    for i in got.indices {
        ratio = max(ratio, abs(Double(got[i]) - Double(want[i])) / (atol + rtol * abs(Double(want[i]))))
    }
    return ratio
}
