import Testing
@testable import LIPS

/// Rank and size from the launchers' environments, and the single-process collectives.
@Suite struct LaunchTests {
    @Test func openMPIsVariablesComeFirst() {
        let launch = Launch(environment: ["OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_RANK": "2",
                                          "PMI_SIZE": "5", "PMI_RANK": "4", "SLURM_STEP_NUM_TASKS": "7", "SLURM_PROCID": "6"])
        #expect(launch == Launch(rank: 2, size: 3, source: "OMPI_COMM_WORLD_SIZE"))
        #expect(launch.isParallel)
    }

    @Test func pmiThenSlurmSteps() {
        #expect(Launch(environment: ["PMI_SIZE": "4", "PMI_RANK": "1"]) == Launch(rank: 1, size: 4, source: "PMI_SIZE"))
        #expect(Launch(environment: ["SLURM_STEP_NUM_TASKS": "2", "SLURM_PROCID": "1"]) == Launch(rank: 1, size: 2, source: "SLURM_STEP_NUM_TASKS"))
    }

    /// A batch script (SLURM_NTASKS but no job step), a one-task srun and no launcher are one process.
    @Test func singleProcessLaunches() {
        #expect(!Launch(environment: [:]).isParallel)
        #expect(!Launch(environment: ["SLURM_NTASKS": "8", "SLURM_JOB_ID": "12"]).isParallel)
        #expect(Launch(environment: ["SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0"]) == Launch(rank: 0, size: 1, source: "SLURM_STEP_NUM_TASKS"))
    }

    /// Unreadable or out-of-range values: a size that does not parse is skipped, a bad rank reads as 0.
    @Test func malformedValues() {
        #expect(Launch(environment: ["OMPI_COMM_WORLD_SIZE": "many", "PMI_SIZE": "2", "PMI_RANK": "1"]) == Launch(rank: 1, size: 2, source: "PMI_SIZE"))
        #expect(Launch(environment: ["OMPI_COMM_WORLD_SIZE": "0"]) == Launch(rank: 0, size: 1, source: nil))
        #expect(Launch(environment: ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "5"]).rank == 0)
    }

    @Test func singleProcessCollectivesAreTheIdentity() {
        let world = SingleProcess()
        #expect(world.rank == 0 && world.size == 1)
        #expect(world.maximum(-3) == -3)
        #expect(world.allGather([1, 2, 3]) == [[1, 2, 3]])
    }
}
