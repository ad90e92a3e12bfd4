/// The `clients.csv` rows in a checkpoint: section `clients.metrics`, seven 64-bit words per row —
/// round, client, samples, then the bit patterns of personalised accuracy, dense accuracy,
/// personalised loss and dense loss — so a resume writes the file back bit for bit. Binary rather
/// than in the JSON state: a run of K clients adds K rows per evaluated round.
enum ClientMetricsSection {
    static let name = "clients.metrics"
    static let wordsPerRow = 7

    static func add(_ rows: [ClientMetrics], to archive: inout CheckpointArchive) {
        var words: [UInt64] = []
        words.reserveCapacity(rows.count * wordsPerRow)
        for row in rows {
            words += [UInt64(bitPattern: Int64(row.round)), UInt64(bitPattern: Int64(row.client)),
                      UInt64(bitPattern: Int64(row.samples)), row.personalizedAccuracy.bitPattern,
                      row.denseAccuracy.bitPattern, row.personalizedLoss.bitPattern, row.denseLoss.bitPattern]
        }
        archive.add(name, uint64s: words)
    }

    /// The rows of `archive`; none when the section is absent (a checkpoint from before it).
    static func read(_ archive: CheckpointArchive) throws -> [ClientMetrics] {
        guard archive.contains(name) else { return [] }
        let words = try archive.uint64s(name)
        guard words.count % wordsPerRow == 0 else {
            throw UserError("\(archive.source): section '\(name)' holds \(words.count) words, not rows of \(wordsPerRow)")
        }
        return stride(from: 0, to: words.count, by: wordsPerRow).map { start in
            let w = words[start..<(start + wordsPerRow)]
            return ClientMetrics(round: Int(Int64(bitPattern: w[start])), client: Int(Int64(bitPattern: w[start + 1])),
                                 samples: Int(Int64(bitPattern: w[start + 2])),
                                 personalizedAccuracy: Double(bitPattern: w[start + 3]),
                                 denseAccuracy: Double(bitPattern: w[start + 4]),
                                 personalizedLoss: Double(bitPattern: w[start + 5]), denseLoss: Double(bitPattern: w[start + 6]))
        }
    }
}
