import Foundation
import CoxswainChat
import Logging
import ServiceLifecycle

/// Which configured Slack user groups each user belongs to, refreshed in the background
/// every `usergroup_ttl`, so the webhook never waits on Slack. Until a group has been
/// read, nobody is in it (fail closed).
actor UserGroupDirectory {
    private var membersByGroup: [String: Set<String>] = [:]

    func groups(of user: String) -> Set<String> {
        Set(membersByGroup.filter { $0.value.contains(user) }.keys)
    }

    func replace(group: String, members: [String]) { membersByGroup[group] = Set(members) }
}

/// Keeps the `UserGroupDirectory` fresh.
struct UserGroupRefresher: Service {
    let directory: UserGroupDirectory
    let groups: Set<String>
    let slack: SlackWebClient
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // A service that returns would stop the server: with nothing to refresh, wait.
        guard !groups.isEmpty else { try? await gracefulShutdown(); return }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for group in groups.sorted() {
                do { await directory.replace(group: group, members: try await slack.userGroupMembers(group)) }
                catch { logger.warning("could not read members of user group \(group): \(error); keeping what was known") }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
