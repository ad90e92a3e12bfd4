#if MPI
import CMPI
import Foundation

/// MPI_COMM_WORLD, initialised on first use with MPI_THREAD_FUNNELED (only the thread that drives
/// the rounds calls MPI; the workers never do) and finalised at exit. Unchecked Sendable: MPI and
/// the `traffic` counters are only touched from that one thread.
final class MPIWorld: Communicator, @unchecked Sendable {
    static let shared = MPIWorld()

    let rank: Int
    let size: Int
    private let world = lips_mpi_comm_world()
    private(set) var traffic = CommunicatorTraffic()

    private init() {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, lips_mpi_thread_funneled(), &provided)
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(world, &rank)
        MPI_Comm_size(world, &size)
        self.rank = Int(rank)
        self.size = Int(size)
        atexit { MPI_Finalize() }
    }

    /// Runs one collective, adding its bytes and time to `traffic`.
    private func counting<Result>(sent: Int, _ call: () -> (Result, received: Int)) -> Result {
        let started = DispatchTime.now()
        let (result, received) = call()
        traffic.calls += 1
        traffic.bytesSent += sent
        traffic.bytesReceived += received
        traffic.seconds += Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return result
    }

    func maximum(_ value: Int64) -> Int64 {
        counting(sent: 8) {
            var local = value, result: Int64 = 0
            MPI_Allreduce(&local, &result, 1, lips_mpi_int64(), lips_mpi_max(), world)
            return (result, 8 * (size - 1))
        }
    }

    func allGather(_ bytes: [UInt8]) -> [[UInt8]] {
        counting(sent: bytes.count) {
            let parts = gatherAll(bytes)
            return (parts, parts.reduce(0) { $0 + $1.count } - bytes.count)
        }
    }

    /// The most bytes of one rank's part that one MPI call moves: MPI counts in Int32, so every call
    /// must stay under 2³¹ bytes in all. `LIPS_MPI_PIECE_BYTES` lowers it (tests split small
    /// gathers into many calls with it).
    private lazy var piece: Int = {
        let limit = Int(Int32.max) / size
        let asked = ProcessInfo.processInfo.environment["LIPS_MPI_PIECE_BYTES"].flatMap { Int($0) } ?? limit
        return max(1, min(limit, asked))
    }()

    /// A gather whose parts add up to more than `piece` × ranks bytes runs as several calls, each
    /// taking up to `piece` bytes of every rank's part.
    private func gatherAll(_ bytes: [UInt8]) -> [[UInt8]] {
        var count = Int64(bytes.count)
        var counts = [Int64](repeating: 0, count: size)
        MPI_Allgather(&count, 1, lips_mpi_int64(), &counts, 1, lips_mpi_int64(), world)
        let piece = piece
        var parts = counts.map { [UInt8](repeating: 0, count: Int($0)) }
        let calls = counts.map { (Int($0) + piece - 1) / piece }.max() ?? 0
        for call in 0..<calls {
            let ranges = counts.map { min(Int($0), call * piece) ..< min(Int($0), (call + 1) * piece) }
            let receiveCounts = ranges.map { Int32($0.count) }
            var offsets = [Int32](repeating: 0, count: size)
            for r in 1..<max(1, size) { offsets[r] = offsets[r - 1] + receiveCounts[r - 1] }
            var gathered = [UInt8](repeating: 0, count: ranges.reduce(0) { $0 + $1.count })
            bytes[ranges[rank]].withUnsafeBytes { send in
                gathered.withUnsafeMutableBytes { receive in
                    _ = MPI_Allgatherv(send.baseAddress, receiveCounts[rank], lips_mpi_byte(),
                                       receive.baseAddress, receiveCounts, offsets, lips_mpi_byte(), world)
                }
            }
            for r in 0..<size where !ranges[r].isEmpty {
                parts[r].replaceSubrange(ranges[r], with: gathered[Int(offsets[r]) ..< Int(offsets[r]) + ranges[r].count])
            }
        }
        return parts
    }
}
#endif
