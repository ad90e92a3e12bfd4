/// Stochastic gradient descent with momentum and optional weight decay, PyTorch's rule:
/// `g ← g + wd·w`; `buf ← g` on the first step, then `buf ← m·buf + g`; `w ← w − lr·buf`.
///
/// Holds hyper-parameters only; the momentum buffer is an arena with the parameters' layout,
/// owned by the worker. A fresh optimizer (docs/semantics.md §4) is `step` with `isFirstStep`.
public struct SGD: Sendable {
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float

    public init(learningRate: Float = 0.1, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    /// One update of every parameter.
    public func step(parameters: Arena, gradients: Arena, momentumBuffer: Arena, isFirstStep: Bool) {
        precondition(parameters.count == gradients.count && parameters.count == momentumBuffer.count,
                     "SGD: arena sizes differ (\(parameters.count), \(gradients.count), \(momentumBuffer.count))")
        let w = parameters.base, g = gradients.base, buf = momentumBuffer.base
        let lr = learningRate, m = momentum, wd = weightDecay
        for i in 0..<parameters.count {
            let gradient = wd == 0 ? g[i] : g[i] + wd * w[i]
            let velocity: Float
            if m == 0 {
                velocity = gradient
            } else {
                velocity = isFirstStep ? gradient : m * buf[i] + gradient
                buf[i] = velocity
            }
            w[i] -= lr * velocity
        }
    }
}
