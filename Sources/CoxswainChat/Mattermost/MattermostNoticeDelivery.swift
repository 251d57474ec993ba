import CoxswainCore
import Foundation
import Synchronization

/// Delivers Mattermost's copy of the outbox: the live message posted once and then patched in
/// place, details as replies in its thread (`root_id`), approval requests with buttons,
/// replies through response URLs (or a direct message from the bot), the audit channel. Each
/// post carries its notice's id in its props, so one that reached Mattermost before a crash
/// is found and not posted twice. A 429 postpones everything until `X-Ratelimit-Reset`; a
/// failure that will not pass is audited and, for a job, told to its requester.
public struct MattermostNoticeDelivery: NoticeDelivery {
    public static let platform = "mattermost"
    public var platform: String { Self.platform }

    let outbox: any OutboxStore
    let client: MattermostWebClient
    let renderer: MattermostNoticeRenderer
    let auditChannel: String?
    /// Each environment's Mattermost channel (id), where jobs asked from elsewhere are shown.
    let environmentChannels: [String: String]
    let now: @Sendable () -> Date
    let attempt: DeliveryAttempt
    /// The bot's own user id, asked once (for direct messages).
    private let bot = BotID()

    private final class BotID: Sendable {
        let value = Mutex<String?>(nil)
    }

    public init(
        outbox: any OutboxStore, client: MattermostWebClient, renderer: MattermostNoticeRenderer, auditChannel: String?,
        environmentChannels: [String: String], giveUpAfter: TimeInterval, editInterval: TimeInterval = 0, now: @escaping @Sendable () -> Date
    ) {
        self.outbox = outbox; self.client = client; self.renderer = renderer; self.auditChannel = auditChannel
        self.environmentChannels = environmentChannels; self.now = now
        attempt = DeliveryAttempt(
            outbox: outbox, pacer: EditPacer(interval: editInterval), giveUpAfter: giveUpAfter, now: now, auditPrefix: "mattermost: ")
    }

    /// The channel a job's messages go to: the one it was asked in when that was Mattermost's,
    /// else its environment's Mattermost channel, else the audit channel.
    func channel(of request: JobRequest?) -> String? {
        guard let request else { return nil }
        if request.platform == Self.platform, request.channel.hasPrefix("mattermost:") { return String(request.channel.dropFirst(11)) }
        return environmentChannels[request.environment] ?? auditChannel
    }

    public var rateLimitedUntil: Date? { client.pause }
    /// A 429 from Mattermost holds every call back.
    public var postsHeldUntil: Date? { client.pause }

    public func deliver(_ item: OutboxItem) async throws -> DeliveryOutcome {
        try await attempt.run(item, send: { try await send(item) }) { reason, _ in try await permanentFailure(item, reason: reason) }
    }

    public func postponeHeld(_ batch: [OutboxItem]) async throws -> [OutboxItem] {
        guard let until = client.pause, !batch.isEmpty else { return batch }
        let seconds = max(1, Int(until.timeIntervalSince(now()).rounded(.up)))
        let error = SlackDeliveryError.rateLimited(method: "mattermost", retryAfterSeconds: seconds)
        try await outbox.retry(batch.map(\.id), error: error.description, notBefore: until, countsAsAttempt: false)
        return []
    }

    public func reconcile(_ items: [OutboxItem]) async throws -> (found: Int, resent: Int) {
        var found = 0
        for item in items {
            let references = try await referencesByRole(item)
            if let target = postTarget(item, references: references), let since = item.sendingSince,
                let posted = (try? await client.posts(channel: target.channel, since: since.addingTimeInterval(-120)))?.first(where: { $0.noticeID == item.id })
            {
                let reference = target.role.map {
                    MessageReference(jobID: item.notice.jobID ?? 0, platform: Self.platform, role: $0, channel: target.channel, ts: posted.id)
                }
                try await outbox.delivered(item.id, reference: reference, now: now())
                found += 1
                continue
            }
            try await outbox.retry([item.id], error: "interrupted while sending; sending again", notBefore: now(), countsAsAttempt: false)
        }
        return (found, items.count - found)
    }

    // MARK: sending

    private struct PostTarget { var channel: String; var root: String?; var role: String? }

    private func referencesByRole(_ item: OutboxItem) async throws -> [String: MessageReference] {
        guard let jobID = item.notice.jobID else { return [:] }
        var references = item.references ?? []
        if item.references == nil { references = try await outbox.references(jobID: jobID, platform: Self.platform) }
        return Dictionary(references.map { ($0.role, $0) }, uniquingKeysWith: { $1 })
    }

    /// Where a notice that makes a new post goes; nil when it patches one, or is not Mattermost's.
    private func postTarget(_ item: OutboxItem, references: [String: MessageReference]) -> PostTarget? {
        let jobChannel = channel(of: item.request)
        switch item.notice.place {
        case .live, .approval:
            let role = item.notice.place.key
            return references[role]?.ts == nil ? jobChannel.map { PostTarget(channel: $0, role: role) } : nil
        case .thread:
            guard let live = references["live"], let id = live.ts, let channel = live.channel else { return nil }
            return PostTarget(channel: channel, root: id, role: nil)
        case .auditChannel: return auditChannel.map { PostTarget(channel: $0, role: nil) }
        case .jobChannel: return jobChannel.map { PostTarget(channel: $0, role: nil) }
        case .channel(let id): return id.hasPrefix("mattermost:") ? PostTarget(channel: String(id.dropFirst(11)), role: nil) : nil
        case .person: return nil
        }
    }

    private func send(_ item: OutboxItem) async throws -> MessageReference? {
        let references = try await referencesByRole(item)
        let jobID = item.notice.jobID ?? 0
        if let until = client.pause {
            throw SlackDeliveryError.rateLimited(method: "mattermost", retryAfterSeconds: max(1, Int(until.timeIntervalSince(now()).rounded(.up))))
        }
        let rendered = renderer.render(item.notice)
        switch item.notice.place {
        case .live, .approval:
            let role = item.notice.place.key
            if let existing = references[role], let id = existing.ts {
                try await client.patchPost(id, message: rendered.message, props: rendered.props)
                return nil
            }
            guard let target = postTarget(item, references: references) else { throw SlackDeliveryError.permanent("no Mattermost channel for job #\(jobID)") }
            let id = try await client.createPost(channel: target.channel, message: rendered.message, props: rendered.props, noticeID: item.id)
            return MessageReference(jobID: jobID, platform: Self.platform, role: role, channel: target.channel, ts: id)
        case .thread:
            guard let target = postTarget(item, references: references) else {
                throw SlackDeliveryError.permanent("the live message was never posted, so there is no thread to reply in")
            }
            _ = try await client.createPost(channel: target.channel, message: rendered.message, props: rendered.props, rootID: target.root, noticeID: item.id)
            return nil
        case .person(let user):
            // Slack's people hear it from Slack's copy.
            guard user.hasPrefix(MattermostNoticeRenderer.userPrefix) else { return nil }
            try await reply(to: user, url: references["person:\(user)"]?.url ?? item.route, rendered: rendered)
            return nil
        case .auditChannel, .jobChannel, .channel:
            guard let target = postTarget(item, references: references) else { return nil }
            _ = try await client.createPost(channel: target.channel, message: rendered.message, props: rendered.props, noticeID: item.id)
            return nil
        }
    }

    /// Through the command's response URL when there is one, else a direct message from the bot.
    private func reply(to user: String, url: String?, rendered: MattermostNoticeRenderer.Rendered) async throws {
        if let url {
            let failure: SlackDeliveryError
            do {
                try await client.respond(responseURL: url, text: rendered.message)
                return
            } catch {
                failure = error
            }
            // An expired response URL falls through to a direct message; anything else is reported.
            guard case .permanent = failure else { throw failure }
        }
        let name = String(user.dropFirst(MattermostNoticeRenderer.userPrefix.count))
        let userID = Validation.isMattermostID(name) ? name : try await client.userID(username: name)
        let botID: String
        if let known = bot.value.withLock({ $0 }) {
            botID = known
        } else {
            botID = try await client.me().id
            bot.value.withLock { $0 = botID }
        }
        let channel = try await client.directChannel(with: userID, bot: botID)
        _ = try await client.createPost(channel: channel, message: rendered.message, props: rendered.props)
    }

    // MARK: failures

    /// A post that will not pass: audited, and a job's requester told (once per job) when the channel refuses the bot.
    private func permanentFailure(_ item: OutboxItem, reason: String) async throws -> DeliveryOutcome {
        let audit = AuditDraft(
            actor: "coxswain", event: "delivery.failed",
            detail: "mattermost \(item.notice.place.key) to \(channel(of: item.request) ?? "?"): \(reason)")
        var followUps: [Notice] = []
        if let jobID = item.notice.jobID, let request = item.request, request.requestedBy.hasPrefix(MattermostNoticeRenderer.userPrefix),
            item.notice.place != .person(request.requestedBy), reason.contains("HTTP 403") || reason.contains("HTTP 404"),
            try await referencesByRole(item)["delivery-problem"] == nil
        {
            // Once per job.
            try await outbox.saveReference(MessageReference(jobID: jobID, platform: Self.platform, role: "delivery-problem", channel: channel(of: request)))
            followUps.append(
                .message(
                    "⚠️ Coxswain cannot post about job #\(jobID) in Mattermost (\(code: reason)). Add its bot to the channel; "
                        + "the job goes on, and you will hear its result here.", jobID: jobID, place: .person(request.requestedBy)))
        }
        try await outbox.failed(item.id, error: reason, audit: audit, followUps: followUps, now: now())
        return .failed(reason)
    }
}
