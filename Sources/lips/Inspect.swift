import ArgumentParser
import LIPS

/// `lips inspect`: the layer table of a model, with parameter and multiply-add totals.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a model's layers: output shape, parameters and multiply-adds per sample.",
        discussion: "Models: \(Model.architectureNames.joined(separator: ", ")).")

    @Option(name: .long, help: "Architecture name.")
    var model = "resnet8"

    @Option(name: .long, parsing: .unconditional, help: "Number of classes.")
    var classes = 10

    @Option(name: .long, help: "Input shape CxHxW (grey 28x28 data is padded to 3x32x32).")
    var input = "3x32x32"

    func run() throws {
        try reportingUserErrors {
            let shape = try Shape.parse(input)
            let network = try Model.named(model, classes: classes, input: shape)
            print(InspectTable.render(network))
        }
    }
}
