import Foundation
import Testing

/// Waiting for a condition, with a deadline: the one place tests poll. A test that waits
/// for something to happen waits for it, not for a fixed time.
enum Eventually {
    /// Returns the first non-nil value `probe` gives within `timeout`.
    /// - Parameter explain: what the failure says beyond "timed out", read when it happens.
    // 60 s: the whole suite starts some eighty suites at once on two cores, and a job on a file
    // database then takes tens of seconds; a condition that never comes still fails.
    static func value<T>(
        _ what: String, timeout: Duration = .seconds(60), explain: () async throws -> String = { "" }, _ probe: () async throws -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try await probe() { return value }
            guard ContinuousClock.now < deadline else {
                let detail = (try? await explain()) ?? ""
                Issue.record("timed out waiting for \(what)\(detail.isEmpty ? "" : ": \(detail)")")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Returns once `condition` holds, within `timeout`.
    static func until(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        _ = try await value(what, timeout: timeout) { try await condition() ? true : nil }
    }
}
