// scores (n) non-negative, keep ≤ n; mask (n) of 0/1. Ties broken by lower index (docs/semantics.md §6).

/// Where a top-k cut falls: the bit pattern of the keep-th largest score, and how many of the
/// scores equal to it are kept (the lowest-indexed ones, after every larger score).
struct TopKThreshold: Equatable {
    let key: UInt32
    let tiesKept: Int
}

/// The cut keeping the `keep` largest of `n` non-negative scores (0 < keep < n). Non-negative
/// floats order as their bit patterns do as unsigned integers, so the keep-th largest is found by a
/// radix select over the patterns: three histogram passes (11, 11 and 10 bits), each over the
/// survivors of the last, compacted into `work` (n floats of scratch). A NaN score counts as larger
/// than every number. Unlike a quickselect it never swaps, and its passes do not branch on the data.
func topKThreshold(scores: UnsafePointer<Float>, count n: Int, keep: Int, work: UnsafeMutablePointer<Float>) -> TopKThreshold {
    precondition(keep > 0 && keep < n, "topKThreshold: keep \(keep) outside 1..<\(n)")
    // The keep-th largest is the (n − keep)-th smallest, 0-based; `below` counts the scores
    // already known to be smaller than the threshold.
    var rank = n - keep, below = 0, equal = 0
    var key: UInt32 = 0
    var candidates = scores, count = n
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: 4 << 11) { histograms in
        for pass in 0..<3 {
            let shift: UInt32 = pass == 0 ? 21 : pass == 1 ? 10 : 0
            let digitMask: UInt32 = pass == 2 ? 0x3FF : 0x7FF
            let histogram = countDigits(candidates, count: count, shift: shift, mask: digitMask, into: histograms.baseAddress!)
            var digit = 0
            while rank >= Int(histogram[digit]) {
                rank -= Int(histogram[digit])
                below += Int(histogram[digit])
                digit += 1
            }
            key |= UInt32(digit) << shift
            guard shift > 0 else {
                equal = Int(histogram[digit])
                break
            }
            // Survivors move to the front of `work` (in place after the first pass: writes never pass reads).
            var kept = 0
            for i in 0..<count where (candidates[i].bitPattern >> shift) & digitMask == UInt32(digit) {
                work[kept] = candidates[i]
                kept += 1
            }
            candidates = UnsafePointer(work)
            count = kept
        }
    }
    return TopKThreshold(key: key, tiesKept: keep - (n - below - equal))
}

/// The histogram of one digit, `(key >> shift) & mask`, of `count` scores' bit patterns, in the
/// first 2048 counts of `histograms` (which holds four such). Scores crowd into a few digits,
/// so four histograms filled in turn keep successive increments off one counter.
private func countDigits(_ scores: UnsafePointer<Float>, count: Int, shift: UInt32, mask: UInt32,
                         into histograms: UnsafeMutablePointer<Int32>) -> UnsafeMutablePointer<Int32> {
    histograms.update(repeating: 0, count: 4 << 11)
    @inline(__always) func digit(_ i: Int) -> Int { Int((scores[i].bitPattern >> shift) & mask) }
    let whole = count & ~3
    for i in stride(from: 0, to: whole, by: 4) {
        histograms[digit(i)] += 1
        histograms[2048 + digit(i + 1)] += 1
        histograms[4096 + digit(i + 2)] += 1
        histograms[6144 + digit(i + 3)] += 1
    }
    for i in whole..<count { histograms[digit(i)] += 1 }
    for d in 0..<2048 { histograms[d] += histograms[2048 + d] + histograms[4096 + d] + histograms[6144 + d] }
    return histograms
}

/// Writes into `mask` 1 for the `keep` entries of largest score and 0 elsewhere; among equal
/// scores the lower index wins. Scores are non-negative; `work` holds `n` floats of scratch.
func topKMask(scores: UnsafePointer<Float>, count n: Int, keep: Int, work: UnsafeMutablePointer<Float>,
              mask: UnsafeMutablePointer<Float>) {
    precondition(keep >= 0 && keep <= n, "topKMask: keep \(keep) outside 0...\(n)")
    if keep == 0 { fill(mask, 0, count: n); return }
    if keep == n { fill(mask, 1, count: n); return }
    // The words of the mask cut (one tie rule, `topKWord`), spelled out as floats.
    let threshold = topKThreshold(scores: scores, count: n, keep: keep, work: work)
    var tiesLeft = threshold.tiesKept
    for start in stride(from: 0, to: n, by: 64) {
        let count = min(64, n - start)
        let word = topKWord(scores + start, count: count, threshold: threshold, tiesLeft: &tiesLeft)
        for j in 0..<count { mask[start + j] = word >> UInt64(j) & 1 == 0 ? 0 : 1 }
    }
}

/// The low `count` bits set (0 ≤ count ≤ 64).
@inline(__always)
func lowBits(_ count: Int) -> UInt64 {
    count == 64 ? ~0 : (1 << UInt64(count)) - 1
}

/// The kept bits of 64 consecutive scores (bit j: score j, `count` ≤ 64 of them) under
/// `threshold`, taking ties from `tiesLeft` lowest index first.
@inline(__always)
func topKWord(_ scores: UnsafePointer<Float>, count: Int, threshold: TopKThreshold, tiesLeft: inout Int) -> UInt64 {
    var above: UInt64 = 0, equal: UInt64 = 0
    for j in 0..<count {
        let key = scores[j].bitPattern
        above |= UInt64(key > threshold.key ? 1 : 0) << UInt64(j)
        equal |= UInt64(key == threshold.key ? 1 : 0) << UInt64(j)
    }
    guard equal != 0, tiesLeft > 0 else { return above }
    if equal.nonzeroBitCount <= tiesLeft {
        tiesLeft -= equal.nonzeroBitCount
        return above | equal
    }
    var taken: UInt64 = 0
    while tiesLeft > 0 {
        let lowest = equal & (0 &- equal)
        taken |= lowest
        equal &= ~lowest
        tiesLeft -= 1
    }
    return above | taken
}
