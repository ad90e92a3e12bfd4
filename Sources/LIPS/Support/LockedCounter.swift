import Foundation

/// An integer behind a lock, the one place where concurrent workers share a count: handing out
/// the indices 0, 1, 2, … of a parallel section (`WorkerPool`, a sweep's lanes) or adding up
/// per-worker totals (`GEMMPeak`). Every access holds the lock, so callers on any threads may
/// share it.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var current = 0
    private var limit: Int

    /// A counter at 0 whose `next()` hands out indices below `limit`.
    init(limit: Int = .max) {
        self.limit = limit
    }

    /// The next index in increasing order, or nil once `limit` is reached or `stop()` was called.
    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard current < limit else { return nil }
        current += 1
        return current - 1
    }

    /// Hands out no more indices: `next()` returns nil from now on.
    func stop() {
        lock.lock()
        limit = min(limit, current)
        lock.unlock()
    }

    /// Adds `amount` to the count.
    func add(_ amount: Int) {
        lock.lock()
        current += amount
        lock.unlock()
    }

    /// The count now.
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return current
    }
}
