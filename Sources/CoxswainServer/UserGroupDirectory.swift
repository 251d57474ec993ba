import CoxswainChat
import Foundation
import Logging
import ServiceLifecycle

/// Which configured Slack user groups each user belongs to, refreshed in the background
/// so the webhook never waits on Slack. Fails closed: a group not read yet, or not read
/// successfully within `usergroup_ttl`, has no members.
actor UserGroupDirectory {
    private var membersByGroup: [String: (members: Set<String>, readAt: Date)] = [:]
    private let ttl: TimeInterval
    private let now: @Sendable () -> Date

    init(ttl: TimeInterval, now: @escaping @Sendable () -> Date) {
        self.ttl = ttl
        self.now = now
    }

    func groups(of user: String) -> Set<String> {
        let current = now()
        return Set(membersByGroup.filter { $0.value.members.contains(user) && current.timeIntervalSince($0.value.readAt) < ttl }.keys)
    }

    func replace(group: String, members: [String]) { membersByGroup[group] = (Set(members), now()) }

    /// Groups whose membership is too old to count.
    func expired() -> [String] {
        let current = now()
        return membersByGroup.filter { current.timeIntervalSince($0.value.readAt) >= ttl }.keys.sorted()
    }
}

/// Keeps the `UserGroupDirectory` fresh: every half `usergroup_ttl`, so one failed refresh
/// does not yet expire anyone.
struct UserGroupRefresher: Service, CustomStringConvertible {
    let directory: UserGroupDirectory
    let groups: Set<String>
    let slack: SlackWebClient
    let interval: Duration
    let logger: Logger

    var description: String { "UserGroupRefresher" }

    func run() async throws {
        // A service that returns would stop the server: with nothing to refresh, wait.
        guard !groups.isEmpty else { try? await gracefulShutdown(); return }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for group in groups.sorted() {
                do { await directory.replace(group: group, members: try await slack.userGroupMembers(group)) } catch {
                    logger.warning("could not read members of user group \(group): \(error); its members count until usergroup_ttl passes")
                }
            }
            for group in await directory.expired() {
                logger.error("user group \(group) could not be read within usergroup_ttl: its members hold no role until it can (fail closed)")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval / 2) }
        }
    }
}
