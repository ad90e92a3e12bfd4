import Foundation
@testable import LIPS

/// `size` ranks inside one test process, one thread each, exchanging through memory: the
/// collectives MPI would run, with the same meaning (all-gather in rank order, integer maximum), so a multi-rank run can be checked without an MPI launcher.
final class ThreadRanks: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var deposited: [[UInt8]]
    private var arrived = 0
    private var generation = 0
    private var result: [[UInt8]] = []

    init(size: Int) {
        self.size = size
        deposited = Array(repeating: [], count: size)
    }

    /// Every rank's `bytes`, in rank order, once every rank has called this.
    func exchange(rank: Int, _ bytes: [UInt8]) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        let mine = generation
        deposited[rank] = bytes
        arrived += 1
        if arrived == size {
            result = deposited
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine { condition.wait() }
        }
        return result
    }

    /// Runs `body(communicator)` for every rank on a thread of its own; returns the results in rank order.
    func run<Result: Sendable>(_ body: @escaping @Sendable (Communicator) throws -> Result) throws -> [Result] {
        let results = Results<Result>(count: size)
        let threads = (0..<size).map { rank in
            Thread {
                results.set(rank, Result: { try body(Rank(group: self, rank: rank)) })
            }
        }
        for thread in threads {
            thread.stackSize = 8 << 20
            thread.start()
        }
        return try results.wait()
    }

    private final class Rank: Communicator {
        let group: ThreadRanks
        let rank: Int
        var size: Int { group.size }
        var traffic: CommunicatorTraffic { CommunicatorTraffic() }

        init(group: ThreadRanks, rank: Int) {
            self.group = group
            self.rank = rank
        }

        func maximum(_ value: Int64) -> Int64 {
            group.exchange(rank: rank, withUnsafeBytes(of: value) { Array($0) })
                .map { $0.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) } }.max()!
        }

        func allGather(_ bytes: [UInt8]) -> [[UInt8]] { group.exchange(rank: rank, bytes) }
    }

    private final class Results<Result>: @unchecked Sendable {
        private let condition = NSCondition()
        private var values: [Swift.Result<Result, Error>?]

        init(count: Int) { values = Array(repeating: nil, count: count) }

        func set(_ rank: Int, Result body: () throws -> Result) {
            let value = Swift.Result { try body() }
            condition.lock()
            values[rank] = value
            condition.broadcast()
            condition.unlock()
        }

        func wait() throws -> [Result] {
            condition.lock()
            while values.contains(where: { $0 == nil }) { condition.wait() }
            condition.unlock()
            return try values.map { try $0!.get() }
        }
    }
}
