import ArgumentParser
import Foundation
import LIPS

@main
struct LIPSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lips",
        abstract: "Federated learning on CPU servers: FedAvg and LIPS (layer-wise inertia with sparsity).",
        // `lips --version`: the package version and the git commit the binary was built from.
        version: "lips \(EngineVersion.description)",
        subcommands: [RunCommand.self, ExportCommand.self, SweepCommand.self, ReportCommand.self, PlotCommand.self, CompareCommand.self, Inspect.self, DataCommand.self, BenchCommand.self, RanksCommand.self]
    )

    /// Before anything else: OpenBLAS's kernels must match the processor (`BLASKernel`).
    /// A multi-rank launch of a build without MPI is refused first: every rank would run the whole job.
    static func main() {
        // A closed output (a pipe whose reader died) must fail a write, not kill the run mid-round.
        signal(SIGPIPE, SIG_IGN)
        do {
            // `lips run`, `lips bench` and `lips ranks` know what to do on several ranks; the rest run as one process.
            let command = CommandLine.arguments.dropFirst().first
            try reportingUserErrors {
                try Ranks.refuseUnsupportedLaunch(runsAcrossRanks: ["run", "bench", "ranks"].contains(command))
            }
        } catch {
            Foundation.exit(2)
        }
        BLASKernel.reexecutingIfMisdetected()
        main(nil)
    }
}

/// Runs `body`, turning a `UserError` into one line on stderr and exit status 2.
func reportingUserErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as UserError {
        let launch = Ranks.launch
        let rank = launch.isParallel ? " (rank \(launch.rank) of \(launch.size))" : ""
        FileHandle.standardError.writeIgnoringErrors(Data("lips: error\(rank): \(error.message)\n".utf8))
        throw ExitCode(2)
    }
}
