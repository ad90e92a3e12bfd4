/// The built-in presets: the paper's settings (SPEC "Partition", "LIPS", "Data") per dataset and
/// model, each as a LIPS run and its FedAvg twin. Each is written here as the keys that differ
/// from `ExperimentConfig()`'s defaults; `configs/NAME.yaml` holds the same preset fully resolved
/// (a test keeps the two equal), for users to read and copy.
public enum Presets {
    /// Keys shared by a dataset's two presets, and the LIPS-only keys.
    private static let families: [(prefix: String, common: String, lips: String)] = [
        ("fmnist-resnet8", """
        dataset: fashion-mnist
        model: resnet8
        rounds: 30
        """, "update_d: 0.5\nupdate_freq: 5"),
        ("cifar10-vgg11bn", """
        dataset: cifar10
        model: vgg11bn
        rounds: 300
        """, "update_d: 0.5\nupdate_freq: 5"),
        ("cifar100-resnet8", """
        dataset: cifar100
        model: resnet8
        rounds: 300
        flip: true
        rotation: 15
        crop_padding: 4
        normalize_mean: [0.507, 0.487, 0.441]
        normalize_std: [0.267, 0.256, 0.276]
        """, "update_d: 0.3\nupdate_freq: 5"),
        ("tinyimagenet-resnet10", """
        dataset: tinyimagenet
        model: resnet10
        rounds: 300
        flip: true
        rotation: 15
        normalize_mean: [0.507, 0.487, 0.441]
        normalize_std: [0.267, 0.256, 0.276]
        """, "update_d: 0.3\nupdate_freq: 5"),
    ]

    /// Preset names, e.g. `fmnist-resnet8-lips`, `cifar10-vgg11bn-fedavg`.
    public static let names: [String] = families.flatMap { ["\($0.prefix)-fedavg", "\($0.prefix)-lips"] }

    /// The preset's keys as YAML (the paper's setting: 100 clients, Dirichlet 0.1, 100/400 samples, seed 2).
    public static func yaml(named name: String) throws -> String {
        for family in families {
            if name == "\(family.prefix)-fedavg" { return family.common + "\nmethod: fedavg\n" }
            if name == "\(family.prefix)-lips" { return family.common + "\nmethod: lips\n" + family.lips + "\n" }
        }
        throw UserError("unknown preset '\(name)'; known: \(names.joined(separator: ", "))")
    }

    /// The preset as a config.
    public static func config(named name: String) throws -> ExperimentConfig {
        try ExperimentConfig.load(yaml: try yaml(named: name), source: "preset \(name)")
    }
}
