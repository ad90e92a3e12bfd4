extension ExperimentConfig {
    /// Common names for keys, from other tools and papers.
    private static let aliases = [
        "learning_rate": "lr", "lr_rate": "lr", "epochs": "local_epochs", "batch": "batch_size",
        "num_clients": "clients", "n_clients": "clients", "density": "update_d", "frequency": "update_freq",
        "threads": "workers", "num_rounds": "rounds", "comm_rounds": "rounds", "num_workers": "workers",
        "architecture": "model", "arch": "model", "data": "dataset", "normalize": "normalize_mean",
    ]

    /// The known key an unknown `key` most likely means (a typo, another spelling, a common
    /// alias), or nil when none is close.
    static func nearestKey(to key: String) -> String? {
        let wanted = key.lowercased().replacingOccurrences(of: "-", with: "_")
        if let alias = aliases[wanted] { return alias }
        let names = keys.map(\.name)
        if names.contains(wanted) { return wanted }  // only the case or separators differed
        let tolerance = min(3, max(1, wanted.count / 3))
        if let (name, distance) = names.map({ ($0, editDistance(wanted, $0)) }).min(by: { $0.1 < $1.1 }),
           distance <= tolerance {
            return name
        }
        // "num_rounds" → "rounds", "dirichlet_alpha" → "alpha": the longest key inside it, or containing it.
        let related = names.filter { (wanted.count >= 3 && $0.contains(wanted)) || wanted.contains($0) && $0.count >= 2 }
        return related.max { $0.count < $1.count }
    }

    /// Levenshtein distance (insertions, deletions, substitutions).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in a.indices {
            var diagonal = row[0]
            row[0] = i + 1
            for j in b.indices {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (a[i] == b[j] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}
