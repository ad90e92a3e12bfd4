#if MPI
import CMPI
import Foundation

/// MPI_COMM_WORLD, initialised on first use with MPI_THREAD_FUNNELED (only the thread that drives
/// the rounds calls MPI; the workers never do) and finalised at exit. Unchecked Sendable: its stored
/// properties are constants, and MPI itself is only called from that one thread.
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

    private func gatherAll(_ bytes: [UInt8]) -> [[UInt8]] {
        var count = Int64(bytes.count)
        var counts = [Int64](repeating: 0, count: size)
        MPI_Allgather(&count, 1, lips_mpi_int64(), &counts, 1, lips_mpi_int64(), world)
        let total = counts.reduce(0, +)
        precondition(total <= Int64(Int32.max), "MPIWorld.allGather: \(total) bytes in one call")
        let receiveCounts = counts.map { Int32($0) }
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { offsets[r] = offsets[r - 1] + receiveCounts[r - 1] }
        var gathered = [UInt8](repeating: 0, count: Int(total))
        bytes.withUnsafeBytes { send in
            gathered.withUnsafeMutableBytes { receive in
                _ = MPI_Allgatherv(send.baseAddress, Int32(bytes.count), lips_mpi_byte(),
                                   receive.baseAddress, receiveCounts, offsets, lips_mpi_byte(), world)
            }
        }
        return (0..<size).map { Array(gathered[Int(offsets[$0])..<Int(offsets[$0] + receiveCounts[$0])]) }
    }

    func broadcast(_ bytes: [UInt8], from root: Int) -> [UInt8] {
        counting(sent: rank == root ? bytes.count : 0) {
            let buffer = broadcastBytes(bytes, from: root)
            return (buffer, rank == root ? 0 : buffer.count)
        }
    }

    private func broadcastBytes(_ bytes: [UInt8], from root: Int) -> [UInt8] {
        var count = Int64(bytes.count)
        MPI_Bcast(&count, 1, lips_mpi_int64(), Int32(root), world)
        precondition(count <= Int64(Int32.max), "MPIWorld.broadcast: \(count) bytes in one call")
        var buffer = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        buffer.withUnsafeMutableBytes { _ = MPI_Bcast($0.baseAddress, Int32(count), lips_mpi_byte(), Int32(root), world) }
        return buffer
    }
}
#endif
