/// Tests that run several servers against one PostgreSQL at once (three replicas killed over
/// and over, two pools racing, a paused runner) take turns: beside each other, on two cores
/// with the rest of the suite starting, one starved the other past its 15 s transaction bound.
public actor MachineTurn {
    public static let shared = MachineTurn()
    private var taken = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` once no other test holds the turn.
    public static func take<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }

    private func acquire() async {
        guard taken else {
            taken = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { taken = false } else { waiting.removeFirst().resume() }
    }
}
