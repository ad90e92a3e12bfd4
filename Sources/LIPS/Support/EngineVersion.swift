/// Which engine made a result: `lips --version`, and each session in a run's `provenance.json`.
public enum EngineVersion {
    /// The package version, raised by hand with each release (semantic versioning: a change of
    /// results for the same config raises at least the minor number).
    public static let number = "0.1.0"

    /// The git commit the binary was built from (40 hex digits), or "unknown" when it was built
    /// outside a git checkout (a tarball). Baked in by the `BuildInfo` plugin (Plugins/BuildInfo).
    public static let commit = BuildInfo.commit

    /// "0.1.0 (commit 0123…cdef, all 40 digits)", or "0.1.0 (commit unknown)".
    public static var description: String { "\(number) (commit \(commit))" }
}
