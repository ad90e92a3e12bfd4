extension Experiment {
    /// Whether `asked` is `existing` with more rounds, so a run of `existing` (finished or not)
    /// may go on to `asked.rounds` and end bitwise where a run of `asked` from the start would
    /// (metrics but their `seconds*` fields, `layers.csv`, checkpoints). False when they differ
    /// otherwise (or `asked` has fewer rounds): then they are different runs.
    ///
    /// Two things in a run depend on `rounds` itself, and both refuse the extension in one line:
    /// the LIPS density schedule uses `horizon`, which defaults to `rounds` (the user keeps the
    /// schedule by setting `horizon` to the old value, which is what the rounds done used); and
    /// the last round is always evaluated, so with `eval_every` > 1 the old last round may carry
    /// accuracies a longer run would not have computed.
    static func extends(_ existing: ExperimentConfig, to asked: ExperimentConfig, in directory: String) throws -> Bool {
        guard asked.rounds > existing.rounds else { return false }
        var before = existing, after = asked
        (before.rounds, after.rounds) = (0, 0)
        if existing.method == .lips { before.horizon = existing.effectiveHorizon }
        if asked.method == .lips { after.horizon = asked.effectiveHorizon }
        guard before.identity() != after.identity() else { return try evaluationAllowsExtension(existing, asked, directory) }
        // Equal but for the horizon: the rounds done followed another schedule than `asked` would.
        after.horizon = before.horizon
        guard before.identity() == after.identity(), existing.method == .lips else { return false }
        let kept = existing.horizon == nil ? "horizon = rounds (\(existing.rounds))" : "horizon \(existing.effectiveHorizon)"
        throw UserError("\(directory): rounds can grow (\(existing.rounds) → \(asked.rounds)) only if the LIPS schedule stays as its rounds used it (\(kept)), asked horizon \(asked.effectiveHorizon); add --set horizon=\(existing.effectiveHorizon), or start a new run in another folder")
    }

    private static func evaluationAllowsExtension(_ existing: ExperimentConfig, _ asked: ExperimentConfig,
                                                  _ directory: String) throws -> Bool {
        let last = existing.rounds - 1
        guard existing.evalEvery > 1, last % existing.evalEvery != 0 else { return true }
        throw UserError("\(directory): rounds cannot grow (\(existing.rounds) → \(asked.rounds)): its round \(last) was evaluated as the last one, which a run of \(asked.rounds) rounds with eval_every \(existing.evalEvery) would not evaluate; start a new run in another folder")
    }
}
