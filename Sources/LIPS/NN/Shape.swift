/// The shape of one sample's activation: channels × height × width (a flat vector is (C, 1, 1)).
public struct Shape: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// Floats per sample.
    public var count: Int { channels * height * width }
    /// Pixels per channel.
    public var spatial: Int { height * width }

    /// "64x16x16", or "10" for a vector.
    public var description: String {
        height == 1 && width == 1 ? "\(channels)" : "\(channels)x\(height)x\(width)"
    }
}
