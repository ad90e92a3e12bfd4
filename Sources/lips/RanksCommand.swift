import ArgumentParser
import Foundation
import LIPS

/// Shows what each rank of a launch would use, to check a launcher's core binding before a long job.
struct RanksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ranks",
        abstract: "Show each MPI rank of this launch: host, cores in its affinity mask, workers.",
        discussion: """
        Start it the way a run will be started, e.g.
          mpirun -np 2 --bind-to none lips ranks
          srun --mpi=pmix --ntasks-per-node=1 --cpus-per-task=32 lips ranks

        Rank 0 prints one line per rank. Workers default to the cores in a rank's affinity mask, so a \
        launcher that binds every rank to one core (Open MPI binds to a core by default for 2 ranks or \
        fewer) leaves one worker per rank: a note then says how many of a host's cores its ranks can \
        use. Without MPI (a plain build, or no launcher) it shows this process alone.
        """
    )

    func run() throws {
        try reportingUserErrors {
            let world = Ranks.world()
            let host = ProcessInfo.processInfo.hostName
            let line = "\(world.rank)\t\(host)\t\(AvailableCores.count)\t\(ProcessInfo.processInfo.activeProcessorCount)"
            let ranks = world.allGather(Array(line.utf8)).compactMap { RankRow(String(decoding: $0, as: UTF8.self)) }
            guard world.rank == 0 else { return }
            print("ranks: \(world.size)\(Ranks.mpiBuilt ? "" : " (built without MPI)")")
            print("rank  host                  cores  online  workers")
            for row in ranks {
                let host = row.host.padding(toLength: max(20, row.host.count), withPad: " ", startingAt: 0)
                print(String(format: "%4d  ", row.rank) + host + String(format: "  %5d  %6d  %7d", row.cores, row.online, row.cores))
            }
            // A launcher that binds each rank to one core (Open MPI's default for up to 2 ranks) leaves
            // cores idle when a host runs fewer ranks than it has cores.
            for host in Set(ranks.map(\.host)).sorted() {
                let onHost = ranks.filter { $0.host == host }
                let used = onHost.reduce(0) { $0 + $1.cores }, online = onHost[0].online
                if used < online {
                    print("note: the ranks on \(host) may use \(used) of its \(online) cores; to give each rank several, launch with --bind-to none or --map-by ppr:1:node:pe=N (mpirun), --cpus-per-task=N (srun)")
                }
            }
        }
    }
}

/// One rank's line of `lips ranks`, as sent to rank 0: "rank<TAB>host<TAB>cores<TAB>online".
private struct RankRow {
    let rank: Int, host: String, cores: Int, online: Int

    init?(_ line: String) {
        let fields = line.split(separator: "\t").map(String.init)
        guard fields.count == 4, let rank = Int(fields[0]), let cores = Int(fields[2]), let online = Int(fields[3]) else { return nil }
        (self.rank, host, self.cores, self.online) = (rank, fields[1], cores, online)
    }
}
