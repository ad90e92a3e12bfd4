import Foundation

/// A sweep's progress across its runs, for the progress lines: which run of the shard is which
/// ("run 3 of 12") and a sweep-wide ETA, the rounds still to run times the wall time per round
/// measured since this `lips sweep` started (so runs side by side count as they should, and
/// rounds done by earlier invocations do not skew it). Shared by the lanes; guarded by a lock.
final class SweepProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let started: Date
    private var remaining: Int
    private var done = 0

    /// `remaining`: the rounds the shard's runs still have to run, in all.
    init(remaining: Int, started: Date = Date()) {
        self.remaining = remaining
        self.started = started
    }

    /// Counts one round done; returns the ETA of the rest as h:mm:ss.
    func roundDone(now: Date = Date()) -> String {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        remaining = max(0, remaining - 1)
        return Experiment.duration(now.timeIntervalSince(started) / Double(done) * Double(remaining))
    }

    /// A run found finished, or left to another process: its rounds leave the count.
    func skip(rounds: Int) {
        lock.lock()
        remaining = max(0, remaining - rounds)
        lock.unlock()
    }
}
