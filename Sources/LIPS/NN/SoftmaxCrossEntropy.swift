import Foundation

// logits (K, N) channel-major, labels (N), dLogits (K, N).

/// Mean softmax cross-entropy over a batch, as `F.cross_entropy(logits, labels)`.
/// Writes `dLogits = (softmax − onehot) / N` and returns the mean loss and the number of correct
/// arg-max predictions (ties go to the lower class index).
func softmaxCrossEntropy(
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classes k: Int, batchSize n: Int,
    dLogits: UnsafeMutablePointer<Float>?
) -> (loss: Double, correct: Int) {
    var totalLoss = 0.0
    var correct = 0
    for sample in 0..<n {
        let (loss, predicted, label, maximum, partition) = crossEntropyTerm(logits, labels: labels, classes: k, batchSize: n,
                                                                           sample: sample, caller: "softmaxCrossEntropy")
        totalLoss += loss
        if predicted == label { correct += 1 }
        if let dLogits {
            for c in 0..<k {
                let p = exp(Double(logits[c * n + sample] - maximum)) / partition
                dLogits[c * n + sample] = Float((p - (c == label ? 1 : 0)) / Double(n))
            }
        }
    }
    return (totalLoss / Double(n), correct)
}

/// Each sample's cross-entropy −log softmax(logits)[label] into `losses` and whether its arg-max
/// is its label (1, else 0) into `correct` (`batchSize` entries each), for evaluation: the same
/// Double arithmetic as a term of `softmaxCrossEntropy`'s mean, so a sample's loss is the same bits
/// whichever batch it is scored in (given the same logits).
func sampleCrossEntropy(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classes k: Int, batchSize n: Int,
                        losses: UnsafeMutablePointer<Double>, correct: UnsafeMutablePointer<UInt8>) {
    for sample in 0..<n {
        let (loss, predicted, label, _, _) = crossEntropyTerm(logits, labels: labels, classes: k, batchSize: n,
                                                              sample: sample, caller: "sampleCrossEntropy")
        losses[sample] = loss
        correct[sample] = predicted == label ? 1 : 0
    }
}

/// One sample's −log softmax(logits)[label] in Double, its arg-max, its label, and the maximum and
/// partition the gradient reuses: the single place both the training mean and the evaluation's
/// per-sample losses take a sample's loss from, so the two agree bit for bit.
@inline(__always)
private func crossEntropyTerm(_ logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classes k: Int, batchSize n: Int,
                              sample: Int, caller: StaticString)
    -> (loss: Double, predicted: Int, label: Int, maximum: Float, partition: Double) {
    let (predicted, maximum) = argmax(logits, classes: k, batchSize: n, sample: sample)
    var partition = 0.0
    for c in 0..<k { partition += exp(Double(logits[c * n + sample] - maximum)) }
    let label = Int(labels[sample])
    precondition(label >= 0 && label < k, "\(caller): label \(label) outside 0..<\(k)")
    return (log(partition) - Double(logits[label * n + sample] - maximum), predicted, label, maximum, partition)
}

/// Number of samples whose arg-max logit is their label (ties to the lower class index).
func countCorrect(logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, classes k: Int, batchSize n: Int) -> Int {
    var correct = 0
    for sample in 0..<n where argmax(logits, classes: k, batchSize: n, sample: sample).index == Int(labels[sample]) {
        correct += 1
    }
    return correct
}

/// The class of largest logit of one sample (the lower index on ties) and that logit.
@inline(__always)
private func argmax(_ logits: UnsafePointer<Float>, classes k: Int, batchSize n: Int, sample: Int) -> (index: Int, value: Float) {
    var best = -Float.infinity
    var index = 0
    for c in 0..<k where logits[c * n + sample] > best {
        best = logits[c * n + sample]
        index = c
    }
    return (index, best)
}
