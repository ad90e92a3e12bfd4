extension Simulation {
    /// This model's and algorithm's sizes for the byte counts of `Traffic`.
    var traffic: Traffic {
        Traffic(modelValues: global.count + globalStatistics.count, maskableWeights: sparsifier.bitsPerClient,
                controlValues: config.algorithm == .scaffold ? global.count : 0)
    }

    /// The downlink of round `round` (docs/semantics.md §10): what the server sends the clients
    /// `selected` to train in it, the models they receive after round `round` − 1's aggregation (the
    /// initial model in round 0). The non-zeros each receives come from the last `sendMasks`, or are
    /// counted again from the masks and the global model when that is not the previous round's
    /// (the first round, a restore); every rank then holds every client's count.
    func downlinkBytes(to selected: [Int], round: Int) -> Int {
        let received: LIPSSparsifier.Received
        if let last = lastReceived, last.round == round - 1 {
            received = last.received
        } else {
            received = sparsifier.received(global: global, pool: pool).gathered(ownership: ownership, communicator: communicator)
        }
        return traffic.downlink(maskableNonzeros: selected.map { received.nonzeros(client: $0) })
    }
}
