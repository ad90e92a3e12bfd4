import ArgumentParser
import Foundation
import LIPS

/// `lips export`: a run's model as a safetensors file that PyTorch loads.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's model from its last checkpoint as a .safetensors file with PyTorch state_dict names.",
        discussion: """
        Without --client: the global model after the last checkpointed round. With --client K: the model client \
        K received from it (its LIPS mask applied; its own BN parameters, biases and statistics with bn: local). \
        Names, shapes and dtypes are PyTorch's (F32; num_batches_tracked as I64 0), so in Python
          model = models.build("resnet8", 10)     # reference/models.py
          model.load_state_dict(safetensors.torch.load_file("global.safetensors"))
        loads it. The same file can start another run: --set init_from=global.safetensors.

        Examples:
          lips export runs/lips --out global.safetensors
          lips export runs/lips --client 3 --out client3.safetensors
        """
    )

    @Argument(help: ArgumentHelp("A run folder (holding config.yaml and checkpoint.bin).", valueName: "run-dir")) var runDirectory: String
    @Option(parsing: .unconditional, help: ArgumentHelp("Export the model this client (0-based) received instead of the global model.", valueName: "k"))
    var client: Int?
    @Option(help: ArgumentHelp("The .safetensors file to write (replaced atomically).", valueName: "file")) var out: String

    func run() throws {
        try reportingUserErrors {
            let summary = try ModelExport.export(runDirectory: runDirectory, client: client, to: out)
            let what = client.map { "client \($0)'s received model" } ?? "global model"
            print("\(out): \(summary.model) \(what) after round \(summary.round) (\(summary.tensors) tensors)")
        }
    }
}
