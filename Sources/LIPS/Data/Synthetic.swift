/// A seeded synthetic dataset of any shape and class count, for tests and benchmarks.
///
/// Each class has a random mean image; a sample is its class mean plus uniform noise, clipped to
/// bytes, so a model can learn it. Labels cycle through the classes (balanced).
public enum SyntheticData {
    public static func make(trainCount: Int, testCount: Int, classes: Int, shape: Shape, seed: UInt64) -> DatasetPair {
        var random = RandomStream(seed: seed, purpose: "synthetic/means")
        let means = (0..<(classes * shape.count)).map { _ in Float(random.nextUniform() * 255) }
        func split(_ count: Int, _ name: String) -> Dataset {
            var noise = RandomStream(seed: seed, purpose: "synthetic/\(name)")
            var pixels = [UInt8](repeating: 0, count: count * shape.count)
            var labels = [Int32](repeating: 0, count: count)
            for sample in 0..<count {
                let label = sample % classes
                labels[sample] = Int32(label)
                for p in 0..<shape.count {
                    let value = means[label * shape.count + p] + Float(noise.nextUniform() * 96 - 48)
                    pixels[sample * shape.count + p] = UInt8(max(0, min(255, value.rounded())))
                }
            }
            return Dataset(name: "synthetic \(name)", imageShape: shape, classes: classes, pixels: pixels, labels: labels)
        }
        return DatasetPair(train: split(trainCount, "train"), test: split(testCount, "test"))
    }
}
