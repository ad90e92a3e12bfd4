import ArgumentParser
import Foundation
import LIPS

@main
struct LIPSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lips",
        abstract: "Federated learning on CPU servers: FedAvg and LIPS (layer-wise inertia with sparsity).",
        subcommands: [RunCommand.self, ExportCommand.self, SweepCommand.self, ReportCommand.self, PlotCommand.self, CompareCommand.self, Inspect.self, DataCommand.self, BenchCommand.self]
    )

    /// Before anything else: OpenBLAS's kernels must match the processor (`BLASKernel`).
    static func main() {
        BLASKernel.reexecutingIfMisdetected()
        main(nil)
    }
}

/// Runs `body`, turning a `UserError` into one line on stderr and exit status 2.
func reportingUserErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as UserError {
        FileHandle.standardError.write(Data("lips: error: \(error.message)\n".utf8))
        throw ExitCode(2)
    }
}
