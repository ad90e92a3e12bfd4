import Dispatch
import Foundation

/// A fixed number of workers running index-parallel work (docs/semantics.md §11).
///
/// Indices are handed out in increasing order to whichever worker is free, so the pool balances
/// load; results never depend on which worker ran an index, because every per-index output has its
/// own slot and every reduction across indices runs in index order (`OrderedTurn`).
public struct WorkerPool: Sendable {
    public let workers: Int
    /// More threads than any machine here has cores; each worker holds a model and its buffers.
    public static let maximumWorkers = 1024

    /// `workers` threads; 0 means one per core.
    public init(workers: Int) {
        self.workers = workers > 0 ? workers : WorkerPool.coreCount
    }

    /// Cores this process may use.
    public static var coreCount: Int { AvailableCores.count }

    /// Calls `body(index, worker)` for every index in `0..<count`, `worker` in `0..<workers`.
    /// `body` may touch only the worker's own state and the index's own outputs.
    public func forEach(_ count: Int, _ body: @Sendable (_ index: Int, _ worker: Int) -> Void) {
        guard count > 0 else { return }
        if workers == 1 || count == 1 {
            for index in 0..<count { body(index, 0) }
            return
        }
        let indices = LockedCounter(limit: count)
        DispatchQueue.concurrentPerform(iterations: min(workers, count)) { worker in
            while let index = indices.next() { body(index, worker) }
        }
    }
}

/// Lets concurrent callers run a section strictly in index order 0, 1, 2, …: the caller with
/// index i waits until i − 1 has finished its section. Used to fold client results into a sum in
/// client-index order whatever the worker count, with memory for one result per worker.
///
/// Deadlock-free with `WorkerPool.forEach`, which hands out indices in increasing order: the
/// lowest unfinished index is always held by a worker that waits for nothing.
final class OrderedTurn: @unchecked Sendable {
    private let condition = NSCondition()
    private var nextIndex = 0

    /// Runs `body` once every lower index has run its section.
    func run(_ index: Int, _ body: () -> Void) {
        condition.lock()
        while nextIndex != index { condition.wait() }
        condition.unlock()
        body()
        condition.lock()
        nextIndex += 1
        condition.broadcast()
        condition.unlock()
    }
}
