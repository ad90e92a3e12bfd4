/// When LIPS masks and how densely (docs/semantics.md §6): on a masking round r (r % updateFrequency == 0)
/// the masks sent after aggregation keep d_r = d0 + (1 − d0)·r / R of each maskable layer.
public struct LIPSSchedule: Sendable, Equatable {
    public let initialDensity: Double
    public let updateFrequency: Int
    public let horizon: Int

    public init(initialDensity: Double, updateFrequency: Int, horizon: Int) {
        precondition(updateFrequency >= 1 && horizon >= 1, "LIPSSchedule: frequency and horizon must be ≥ 1")
        self.initialDensity = initialDensity
        self.updateFrequency = updateFrequency
        self.horizon = horizon
    }

    /// The density of the masks sent after round `round`'s aggregation, or nil when that round
    /// sends dense models (not a masking round, or a density that has reached 1).
    public func density(afterRound round: Int) -> Double? {
        guard round % updateFrequency == 0 else { return nil }
        let density = min(1, initialDensity + (1 - initialDensity) * Double(round) / Double(horizon))
        return density < 1 ? density : nil
    }
}
