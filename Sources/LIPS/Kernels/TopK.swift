// scores (n), keep ≤ n; mask (n) of 0/1. Ties broken by lower index (docs/semantics.md §6).

/// Writes into `mask` 1 for the `keep` entries of largest score and 0 elsewhere; among equal
/// scores the lower index wins. `work` holds `n` floats of scratch. O(n): one selection of the
/// keep-th largest score, then one pass.
func topKMask(scores: UnsafePointer<Float>, count n: Int, keep: Int, work: UnsafeMutablePointer<Float>,
              mask: UnsafeMutablePointer<Float>) {
    precondition(keep >= 0 && keep <= n, "topKMask: keep \(keep) outside 0...\(n)")
    if keep == 0 { fill(mask, 0, count: n); return }
    if keep == n { fill(mask, 1, count: n); return }
    work.update(from: scores, count: n)
    // The keep-th largest is the (n − keep)-th smallest, 0-based.
    let threshold = selectKthSmallest(work, count: n, k: n - keep)
    var above = 0
    for i in 0..<n where scores[i] > threshold { above += 1 }
    var tiesLeft = keep - above
    for i in 0..<n {
        let s = scores[i]
        if s > threshold {
            mask[i] = 1
        } else if s == threshold && tiesLeft > 0 {
            mask[i] = 1
            tiesLeft -= 1
        } else {
            mask[i] = 0
        }
    }
}

/// The k-th smallest (0-based) of `values`, reordering them (Hoare quickselect, median of three).
func selectKthSmallest(_ values: UnsafeMutablePointer<Float>, count n: Int, k: Int) -> Float {
    precondition(k >= 0 && k < n, "selectKthSmallest: k \(k) outside 0..<\(n)")
    var low = 0, high = n - 1
    while low < high {
        let middle = low + (high - low) / 2
        // Median of three as pivot: deterministic and safe on sorted input.
        let a = values[low], b = values[middle], c = values[high]
        let pivot = max(min(a, b), min(max(a, b), c))
        var i = low, j = high
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j {
                values.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if k <= j {
            high = j
        } else if k >= i {
            low = i
        } else {
            return values[k]
        }
    }
    return values[k]
}

private extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
