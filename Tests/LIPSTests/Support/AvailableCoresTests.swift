import Foundation
import Testing
@testable import LIPS

@Suite struct AvailableCoresTests {
    @Test func countsKernelCPULists() {
        #expect(AvailableCores.countCPUs(inList: "0") == 1)
        #expect(AvailableCores.countCPUs(inList: "0-1") == 2)
        #expect(AvailableCores.countCPUs(inList: "\t0-3,8,10-11") == 7)
        #expect(AvailableCores.countCPUs(inList: "3-1") == nil)
        #expect(AvailableCores.countCPUs(inList: "a-b") == nil)
    }

    @Test func atLeastOneAndNoMoreThanOnline() {
        #expect(AvailableCores.count >= 1)
        #expect(AvailableCores.count <= max(1, ProcessInfo.processInfo.activeProcessorCount))
    }
}
