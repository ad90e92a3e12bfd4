import Foundation

extension RunCollection {
    /// One line per group whose runs were made (in any session) by more than one engine version
    /// or commit, read from each run's `provenance.json`: their differences may come from the
    /// engine, not the settings. Runs without provenance (older engines) count as no version.
    func mixedVersionNotes() -> [String] {
        groups().compactMap { group in
            var versions: [String] = []
            for run in group.runs {
                for version in Provenance.read(from: run.directory).provenance.sessions
                    .map({ "\($0.engineVersion) (commit \($0.engineCommit.prefix(12)))" }) where !versions.contains(version) {
                    versions.append(version)
                }
            }
            guard versions.count > 1 else { return nil }
            return "the runs of group '\(group.label)' were made by \(versions.count) engine versions (\(versions.joined(separator: ", "))); see their \(Provenance.file)"
        }
    }
}
