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

    /// The shard a Slurm job array task is: index `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`
    /// (0 when unset) of `SLURM_ARRAY_TASK_COUNT`; nil outside a job array. Needs a contiguous
    /// array (`--array=0-(N-1)`, optionally with `%P` to limit how many run at once).
    public static func fromSlurm(environment: [String: String]) throws -> SweepShard? {
        guard let idText = environment["SLURM_ARRAY_TASK_ID"] else { return nil }
        guard let id = Int(idText) else { throw UserError("SLURM_ARRAY_TASK_ID: expected a whole number, found '\(idText)'") }
        guard let countText = environment["SLURM_ARRAY_TASK_COUNT"], let count = Int(countText) else {
            throw UserError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not a whole number; give --shard I/N")
        }
        let minimum = environment["SLURM_ARRAY_TASK_MIN"].flatMap { Int($0) } ?? 0
        return try SweepShard(index: id - minimum, count: count,
                              source: "SLURM_ARRAY_TASK_ID \(id) (min \(minimum), count \(count); use a contiguous --array=0-\(max(0, count - 1)))")
    }

    /// Whether run number `position` (0-based, in sweep order) belongs to this shard.
    public func contains(_ position: Int) -> Bool { position % count == index }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }
}
