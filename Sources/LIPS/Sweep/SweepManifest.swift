import Foundation
import Yams

/// `sweep.yaml` in a sweep folder: where the sweep came from, the keys it varies and its run
/// folders in sweep order. `lips sweep` writes it (atomically, the same text from every shard);
/// `lips report` and `lips plot` read it to know which keys vary and in what order.
public struct SweepManifest: Sendable, Equatable {
    /// The manifest's file name inside a sweep folder.
    public static let file = "sweep.yaml"

    /// The sweep file it was expanded from, as given.
    public let source: String
    public let varied: [String]
    /// Run folder names, relative to the sweep folder.
    public let runs: [String]
    /// The `lips sweep --set` overrides the runs were made with (each run's config holds them too).
    public let overrides: [String]

    /// A manifest with these fields (tests, tools).
    public init(source: String, varied: [String], runs: [String], overrides: [String] = []) {
        self.source = source
        self.varied = varied
        self.runs = runs
        self.overrides = overrides
    }

    /// The manifest of an expanded sweep.
    public init(plan: SweepPlan) {
        self.init(source: plan.source, varied: plan.varied, runs: plan.runs.map(\.name), overrides: plan.overrides)
    }

    /// The YAML text, read back equal by `read`.
    public func yaml() -> String {
        var text = "# lips sweep: written by `lips sweep`; `lips report` and `lips plot` read it\n"
        text += "source: \(YAMLText.string(source))\n"
        text += "varied: [" + varied.map { YAMLText.string($0) }.joined(separator: ", ") + "]\n"
        if !overrides.isEmpty {
            text += "overrides: [" + overrides.map { YAMLText.string($0) }.joined(separator: ", ") + "]   # lips sweep --set\n"
        }
        text += "runs:\n"
        for run in runs { text += "  - \(YAMLText.string(run))\n" }
        return text
    }

    /// `directory/sweep.yaml`.
    public static func path(in directory: String) -> String {
        (directory as NSString).appendingPathComponent(file)
    }

    /// The manifest of `directory`, nil when it has no `sweep.yaml`. Throws a `UserError` for a
    /// `sweep.yaml` that is not a manifest (for example a sweep file the user keeps there).
    public static func read(from directory: String) throws -> SweepManifest? {
        let path = path(in: directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw UserError("\(path): not readable as UTF-8 text")
        }
        try YAMLLimits.check(text, source: path)
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch { throw UserError("\(path): not valid YAML") }
        guard let map = loaded as? [String: Any], let varied = map["varied"] as? [Any], let runs = map["runs"] as? [Any] else {
            throw UserError("\(path): not a sweep manifest written by lips sweep (expected 'varied:' and 'runs:')")
        }
        return SweepManifest(source: map["source"].map { "\($0)" } ?? "",
                             varied: varied.map { "\($0)" }, runs: runs.map { "\($0)" },
                             overrides: (map["overrides"] as? [Any] ?? []).map { "\($0)" })
    }

    /// Writes `sweep.yaml` into `directory` atomically; refuses to replace a file there that is not a manifest.
    public func write(to directory: String) throws {
        _ = try SweepManifest.read(from: directory)
        try AtomicFile.write(yaml(), to: SweepManifest.path(in: directory))
    }
}
