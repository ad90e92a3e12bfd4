/// One slice of a sweep, for batch arrays: shard `index` of `count` runs the sweep's runs k with
/// k mod count == index. Indices are 0-based, as Slurm's `--array=0-(N-1)` numbers its tasks, so
/// shards 0/N … (N−1)/N together run every run exactly once.
public struct SweepShard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole sweep (shard 0 of 1).
    public static let whole = SweepShard(validIndex: 0, count: 1)

    private init(validIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Throws a one-line `UserError` ("SOURCE: ... expected 0 ≤ I < N") unless 0 ≤ index < count.
    public init(index: Int, count: Int, source: String = "--shard") throws {
        guard count >= 1 else { throw UserError("\(source): the shard count must be ≥ 1, found \(count)") }
        guard index >= 0 && index < count else {
            throw UserError("\(source): shard index \(index) is outside 0..<\(count) (shards are 0-based: 0/\(count) … \(count - 1)/\(count))")
        }
        self.init(validIndex: index, count: count)
    }

    /// Parses `I/N` (`--shard 0/4`), 0-based.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let count = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw UserError("--shard '\(text)': expected I/N with 0 ≤ I < N, e.g. --shard 0/4")
        }
        try self.init(index: index, count: count, source: "--shard '\(text)'")
    }

    /// The shard a Slurm job array task is, where the array tells it: task `SLURM_ARRAY_TASK_ID` of
    /// an array numbered 0 … N−1 without gaps (`--array=0-(N-1)`, optionally with `%P`) is shard
    /// ID/N; nil outside a job array. Any other array (`--array=3,7` resubmitting two tasks,
    /// `--array=1-4`, `--array=0-10:2`) does not say how many shards the sweep has: rather than
    /// guess N from it and run other runs, this refuses in one line, asking for `--shard ID/N`.
    public static func fromSlurm(environment: [String: String]) throws -> SweepShard? {
        guard environment["SLURM_ARRAY_TASK_ID"] != nil else { return nil }
        func number(_ name: String) throws -> Int {
            guard let text = environment[name] else {
                throw UserError("SLURM_ARRAY_TASK_ID is set but \(name) is not: give --shard I/N")
            }
            guard let value = Int(text) else { throw UserError("\(name): expected a whole number, found '\(text)'") }
            return value
        }
        let id = try number("SLURM_ARRAY_TASK_ID"), count = try number("SLURM_ARRAY_TASK_COUNT")
        let minimum = try number("SLURM_ARRAY_TASK_MIN"), maximum = try number("SLURM_ARRAY_TASK_MAX")
        guard minimum == 0 && maximum == count - 1 else {
            throw UserError("Slurm array task \(id): the array (\(count) task\(count == 1 ? "" : "s") from \(minimum) to \(maximum)) "
                            + "is not 0-\(max(0, count - 1)) without gaps, so it does not give the shard count; "
                            + "give --shard \(id)/N, N the number of shards (the full array's size)")
        }
        return try SweepShard(index: id, count: count, source: "SLURM_ARRAY_TASK_ID \(id) of \(count)")
    }

    /// Whether run number `position` (0-based, in sweep order) belongs to this shard.
    public func contains(_ position: Int) -> Bool { position % count == index }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }
}
