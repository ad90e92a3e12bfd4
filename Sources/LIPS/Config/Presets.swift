/// The built-in presets: the paper's settings (docs/semantics.md §1, §2, §6) per dataset and
/// model, each as a LIPS run and its FedAvg twin.
///
/// The YAML files in `Config/Presets/` are the only source: SwiftPM compiles them into the binary
/// (`.embedInCode`, as `PackageResources.<name>_yaml` byte arrays), so presets work wherever
/// `lips` is installed, and `configs/` in the repository is a symlink to that folder for users to
/// read and copy. A test checks that `names` lists exactly the files there.
public enum Presets {
    /// Each preset's name and YAML bytes, in listing order.
    private static let files: [(name: String, bytes: [UInt8])] = [
        ("fmnist-resnet8-fedavg", PackageResources.fmnist_resnet8_fedavg_yaml),
        ("fmnist-resnet8-lips", PackageResources.fmnist_resnet8_lips_yaml),
        ("cifar10-vgg11bn-fedavg", PackageResources.cifar10_vgg11bn_fedavg_yaml),
        ("cifar10-vgg11bn-lips", PackageResources.cifar10_vgg11bn_lips_yaml),
        ("cifar100-resnet8-fedavg", PackageResources.cifar100_resnet8_fedavg_yaml),
        ("cifar100-resnet8-lips", PackageResources.cifar100_resnet8_lips_yaml),
        ("tinyimagenet-resnet10-fedavg", PackageResources.tinyimagenet_resnet10_fedavg_yaml),
        ("tinyimagenet-resnet10-lips", PackageResources.tinyimagenet_resnet10_lips_yaml),
    ]

    /// Preset names, e.g. `fmnist-resnet8-lips`, `cifar10-vgg11bn-fedavg`.
    public static let names: [String] = files.map(\.name)

    /// The preset's YAML text, exactly as in `configs/NAME.yaml` (comments included; every key listed).
    /// Throws a `UserError` listing the known presets for an unknown name.
    public static func yaml(named name: String) throws -> String {
        guard let file = files.first(where: { $0.name == name }) else {
            throw UserError("unknown preset '\(name)'; known presets: \(names.joined(separator: ", "))")
        }
        return String(decoding: file.bytes, as: UTF8.self)
    }

    /// The preset as a config (not yet validated; every built-in preset is valid).
    public static func config(named name: String) throws -> ExperimentConfig {
        try ExperimentConfig.load(yaml: yaml(named: name), source: "preset \(name)")
    }
}
