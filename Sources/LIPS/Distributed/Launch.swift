/// How this process was started: as rank `rank` of `size` when a parallel launcher started it
/// (mpirun/mpiexec of Open MPI or MPICH, or srun with several tasks), else rank 0 of 1. Read from the
/// launcher's environment variables, before any MPI call, so that a binary built without MPI can
/// refuse a multi-rank launch instead of running the same job once per rank.
public struct Launch: Equatable, Sendable {
    public let rank: Int
    public let size: Int
    /// The variable the size came from (for messages), nil for a single process.
    public let source: String?

    /// Rank and size variables, most specific first: Open MPI's, then the PMI ones that MPICH's
    /// Hydra sets, then Slurm's job-step ones (set by srun, not in the batch script itself).
    static let launchers: [(size: String, rank: String)] = [
        ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
        ("PMI_SIZE", "PMI_RANK"),
        ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
    ]

    public init(environment: [String: String]) {
        for launcher in Launch.launchers {
            guard let size = environment[launcher.size].flatMap({ Int($0) }), size >= 1 else { continue }
            let rank = environment[launcher.rank].flatMap { Int($0) } ?? 0
            self.init(rank: (0..<size).contains(rank) ? rank : 0, size: size, source: launcher.size)
            return
        }
        self.init(rank: 0, size: 1, source: nil)
    }

    init(rank: Int, size: Int, source: String?) {
        self.rank = rank
        self.size = size
        self.source = source
    }

    public var isParallel: Bool { size > 1 }
}
