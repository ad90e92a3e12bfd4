/// Which clients' server-side state (stored gradient, LIPS mask, local BN state) lives on this
/// rank, and so which clients this rank trains, masks and scores: aggregation block b (clients
/// b·B ..< (b+1)·B, B = `aggregation_block`) belongs to rank b mod R. Whole blocks per rank keep
/// FedAvg's summation order independent of R (`FedAvgSum`); dealing them round-robin spreads a
/// round's work, also when only some clients take part. One process owns every client.
struct ClientOwnership: Sendable, Equatable {
    let clients: Int
    let blockSize: Int
    let rank: Int
    let ranks: Int
    /// This rank's clients, increasing.
    let owned: [Int]
    /// Index of each client in `owned`, −1 for a client of another rank.
    private let positions: [Int]

    init(clients: Int, blockSize: Int, rank: Int = 0, ranks: Int = 1) {
        precondition(blockSize >= 1 && ranks >= 1 && (0..<ranks).contains(rank),
                     "ClientOwnership: block \(blockSize), rank \(rank) of \(ranks)")
        self.clients = clients
        self.blockSize = blockSize
        self.rank = rank
        self.ranks = ranks
        var owned: [Int] = [], positions = [Int](repeating: -1, count: clients)
        for client in 0..<clients where (client / blockSize) % ranks == rank {
            positions[client] = owned.count
            owned.append(client)
        }
        self.owned = owned
        self.positions = positions
    }

    /// Every client on one process.
    static func all(_ clients: Int) -> ClientOwnership { ClientOwnership(clients: clients, blockSize: max(1, clients)) }

    func owner(of client: Int) -> Int { (client / blockSize) % ranks }
    func owns(_ client: Int) -> Bool { positions[client] >= 0 }
    /// Where client `client`'s slab starts counting, in slabs of this rank (it must be owned).
    func position(of client: Int) -> Int {
        let position = positions[client]
        precondition(position >= 0, "ClientOwnership: client \(client) lives on rank \(owner(of: client)), not \(rank)")
        return position
    }
    /// Aggregation blocks this rank owns.
    var ownedBlocks: Int { Set(owned.map { $0 / blockSize }).count }
}
