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

extension Shape {
    /// Parses "CxHxW" (e.g. "3x32x32"), or throws a `UserError`.
    /// The largest image a shape may describe: far beyond any dataset here, small enough that
    /// sizes derived from it cannot overflow.
    public static let maximumChannels = 1024
    public static let maximumSide = 4096

    public static func parse(_ text: String) throws -> Shape {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let c = parts[0], let h = parts[1], let w = parts[2], c > 0, h > 0, w > 0 else {
            throw UserError("shape '\(text)' is not CxHxW with positive integers, e.g. 3x32x32")
        }
        // Bounded so that every size derived from a shape (a batch, an im2col matrix) fits an Int.
        guard c <= maximumChannels, h <= maximumSide, w <= maximumSide else {
            throw UserError("shape '\(text)' is too large: at most \(maximumChannels) channels and \(maximumSide)x\(maximumSide) pixels")
        }
        return Shape(channels: c, height: h, width: w)
    }
}
