import CoxswainCore
import Foundation

/// Delivers the outbox's notices to Slack: the live message posted once and then updated
/// in place, details in its thread, approval requests, replies through response URLs (or a
/// direct message once those expire), the audit channel. A 429 only postpones; a failure
/// that will not pass (the bot is not in the channel) is told to the requester and audited.
public struct SlackNoticeDelivery: NoticeDelivery {
    public static let platform = "slack"
    public var platform: String { Self.platform }

    let outbox: any OutboxStore
    let slack: SlackWebClient
    let renderer: SlackNoticeRenderer
    let auditChannel: String?
    /// Each environment's first Slack channel, where jobs asked from another front end are shown.
    let environmentChannels: [String: String]
    let now: @Sendable () -> Date
    let attempt: DeliveryAttempt

    public init(
        outbox: any OutboxStore, slack: SlackWebClient, renderer: SlackNoticeRenderer, auditChannel: String?,
        environmentChannels: [String: String] = [:], giveUpAfter: TimeInterval, editInterval: TimeInterval = 0,
        now: @escaping @Sendable () -> Date
    ) {
        self.outbox = outbox; self.slack = slack; self.renderer = renderer; self.auditChannel = auditChannel
        self.environmentChannels = environmentChannels; self.now = now
        attempt = DeliveryAttempt(outbox: outbox, pacer: EditPacer(interval: editInterval), giveUpAfter: giveUpAfter, now: now, auditPrefix: "")
    }

    public typealias Outcome = DeliveryOutcome

    /// Where a job's messages go in Slack: the channel it was asked in; for a job asked from
    /// another front end (the console, while Slack was down), its environment's channel, else
    /// the audit channel, so the team sees what happened meanwhile.
    func channel(of request: JobRequest?) -> String? {
        guard let request else { return nil }
        if request.platform == Self.platform && !request.channel.isEmpty { return request.channel }
        return environmentChannels[request.environment] ?? auditChannel
    }

    /// Sends one notice and records what came of it.
    public func deliver(_ item: OutboxItem) async throws -> Outcome {
        try await attempt.run(item, send: { try await send(item) }) { reason, error in
            let (audit, followUps) = try await tellAboutFailure(item, reason: reason, slackError: error.slackError)
            try await outbox.failed(item.id, error: reason, audit: audit, followUps: followUps, now: now())
            return .failed(reason)
        }
    }

    /// Until when Slack holds some Web API method back (the soonest end), if it does.
    public var rateLimitedUntil: Date? { slack.anyPause() }
    public var postsHeldUntil: Date? { slack.pause(of: "chat.postMessage") }

    /// Of a batch, the notices whose Web API method Slack is holding back (a 429's
    /// `Retry-After` not yet passed) are postponed to its end untried, in one write per method:
    /// under a rate limit every new job's first post comes here, and one write per batch instead
    /// of one per notice is what leaves the store free for the webhook. Returns the rest, to
    /// send, with their references read.
    public func postponeHeld(_ batch: [OutboxItem]) async throws -> [OutboxItem] {
        var toSend: [OutboxItem] = []
        var held: [String: (until: Date, ids: [Int64])] = [:]
        for var item in batch {
            let references = try await referencesByRole(item)
            item.references = Array(references.values)
            if let method = Self.method(item.notice.place, references: references), let until = slack.pause(of: method) {
                held[method, default: (until, [])].ids.append(item.id)
            } else {
                toSend.append(item)
            }
        }
        for (method, hold) in held.sorted(by: { $0.key < $1.key }) {
            let seconds = max(1, Int(hold.until.timeIntervalSince(now()).rounded(.up)))
            let error = SlackDeliveryError.rateLimited(method: method, retryAfterSeconds: seconds)
            try await outbox.retry(hold.ids, error: error.description, notBefore: hold.until, countsAsAttempt: false)
        }
        return toSend
    }

    /// Notices whose sending was under way when the process stopped: a post that reached
    /// Slack is recognised by its metadata and recorded, not posted twice.
    public func reconcile(_ items: [OutboxItem]) async throws -> (found: Int, resent: Int) {
        var found = 0
        for item in items {
            let references = try await referencesByRole(item)
            if let target = postTarget(item, references: references), let since = item.sendingSince {
                let messages = (try? await slack.recentMessages(channel: target.channel, thread: target.thread, oldest: since.addingTimeInterval(-120))) ?? []
                if let posted = messages.first(where: { $0.noticeID == item.id }) {
                    try await outbox.delivered(
                        item.id,
                        reference: target.role.map {
                            MessageReference(jobID: item.notice.jobID ?? 0, platform: Self.platform, role: $0, channel: target.channel, ts: posted.ts)
                        }, now: now())
                    found += 1
                    continue
                }
            }
            try await outbox.retry([item.id], error: "interrupted while sending; sending again", notBefore: now(), countsAsAttempt: false)
        }
        return (found, items.count - found)
    }

    // MARK: sending

    private struct PostTarget { var channel: String; var thread: String?; var role: String? }

    private func referencesByRole(_ item: OutboxItem) async throws -> [String: MessageReference] {
        guard let jobID = item.notice.jobID else { return [:] }
        var references = item.references ?? []
        if item.references == nil { references = try await outbox.references(jobID: jobID, platform: Self.platform) }
        return Dictionary(references.map { ($0.role, $0) }, uniquingKeysWith: { $1 })
    }

    /// Where a notice that makes a new message would be posted; nil when it updates or replies.
    private func postTarget(_ item: OutboxItem, references: [String: MessageReference]) -> PostTarget? {
        let jobChannel = channel(of: item.request)
        switch item.notice.place {
        case .live: return references["live"]?.ts == nil ? jobChannel.map { PostTarget(channel: $0, role: "live") } : nil
        case .approval(let round):
            let role = "approval:\(round)"
            return references[role]?.ts == nil ? jobChannel.map { PostTarget(channel: $0, role: role) } : nil
        case .thread:
            guard let live = references["live"], let ts = live.ts, let channel = live.channel else { return nil }
            return PostTarget(channel: channel, thread: ts, role: nil)
        case .auditChannel: return auditChannel.map { PostTarget(channel: $0, role: nil) }
        case .jobChannel: return jobChannel.map { PostTarget(channel: $0, role: nil) }
        case .channel(let id): return PostTarget(channel: id, role: nil)
        case .person: return nil
        }
    }

    private func send(_ item: OutboxItem) async throws -> MessageReference? {
        let references = try await referencesByRole(item)
        let jobID = item.notice.jobID ?? 0
        // Not rendered while Slack holds the method back: under a rate limit every new job's
        // first post comes back here at once.
        let method = Self.method(item.notice.place, references: references)
        if let method { try slack.ensureNotPaused(method) }
        let rendered = renderer.render(item.notice)
        switch item.notice.place {
        case .live, .approval:
            let role = item.notice.place.key
            if let existing = references[role], let ts = existing.ts, let channel = existing.channel {
                try await slack.updateMessage(channel: channel, ts: ts, text: rendered.text, blocksJSON: rendered.blocksJSON)
                return nil
            }
            guard let channel = channel(of: item.request) else { throw SlackDeliveryError.permanent("no channel for job #\(jobID)") }
            let ts = try await slack.postMessage(
                channel: channel, text: rendered.text, blocksJSON: rendered.blocksJSON, threadTS: nil,
                metadata: SlackMessageMetadata(noticeID: item.id))
            return MessageReference(jobID: jobID, platform: Self.platform, role: role, channel: channel, ts: ts)
        case .thread:
            guard let live = references["live"], let ts = live.ts, let channel = live.channel else {
                throw SlackDeliveryError.permanent("the live message was never posted, so there is no thread to reply in")
            }
            _ = try await slack.postMessage(
                channel: channel, text: rendered.text, blocksJSON: rendered.blocksJSON, threadTS: ts,
                metadata: SlackMessageMetadata(noticeID: item.id))
            return nil
        case .person(let user):
            // A Mattermost user hears it from Mattermost's copy of the notice.
            guard !user.hasPrefix("mattermost:") else { return nil }
            try await reply(to: user, url: references["person:\(user)"]?.url ?? item.route, rendered: rendered, item: item)
            return nil
        case .channel(let id) where id.hasPrefix("mattermost:"):
            return nil
        case .auditChannel, .jobChannel, .channel:
            guard let target = postTarget(item, references: references) else { return nil }  // no audit channel configured
            _ = try await slack.postMessage(
                channel: target.channel, text: rendered.text, blocksJSON: rendered.blocksJSON, threadTS: nil,
                metadata: SlackMessageMetadata(noticeID: item.id))
            return nil
        }
    }

    /// The Web API method a notice is sent with; nil for a reply through a response URL.
    private static func method(_ place: Notice.Place, references: [String: MessageReference]) -> String? {
        switch place {
        case .live, .approval: return references[place.key]?.ts == nil ? "chat.postMessage" : "chat.update"
        case .person: return nil
        case .thread, .auditChannel, .jobChannel, .channel: return "chat.postMessage"
        }
    }

    /// Through the response URL while Slack keeps it (30 minutes, 5 replies), then as a
    /// direct message from the bot.
    private func reply(to user: String, url: String?, rendered: SlackNoticeRenderer.Rendered, item: OutboxItem) async throws {
        if let url {
            let failure: SlackDeliveryError
            do {
                try await slack.respond(responseURL: url, text: rendered.text)
                return
            } catch {
                failure = error
            }
            // An expired or used-up URL falls through to a direct message; anything else is reported.
            guard case .permanent(let reason) = failure, reason.contains("HTTP 4") || reason.contains("expired") else { throw failure }
        }
        guard Validation.isSlackID(user) else { throw SlackDeliveryError.permanent("no way to reach \(user)") }
        _ = try await slack.postMessage(channel: user, text: rendered.text, blocksJSON: rendered.blocksJSON, threadTS: nil)
    }

    // MARK: failures

    /// A message of a job that can never reach its channel: the requester hears why and what
    /// to do (once per job), the audit trail records it, and an approval request goes to the
    /// audit channel instead so approvers still see it.
    private func tellAboutFailure(_ item: OutboxItem, reason: String, slackError: String?) async throws -> (AuditDraft?, [Notice]) {
        guard let jobID = item.notice.jobID, let request = item.request else {
            return (AuditDraft(actor: "coxswain", event: "delivery.failed", detail: "\(item.notice.place.key): \(reason)"), [])
        }
        let channelProblem = ["not_in_channel", "channel_not_found", "is_archived", "restricted_action"].contains(slackError ?? "")
        var followUps: [Notice] = []
        let references = try await referencesByRole(item)
        if channelProblem, references["delivery-problem"] == nil, item.notice.place != .person(request.requestedBy) {
            let where_ = channel(of: request).map { RichText("\(channel: $0)") } ?? "the job's channel"
            let text: RichText =
                "⚠️ Coxswain cannot post about job #\(jobID) in " + where_ + " (\(code: slackError ?? reason)). "
                + "Invite it there with \(code: "/invite @coxswain"). The job goes on; you will hear its result here."
            followUps.append(.message(text, jobID: jobID, place: .person(request.requestedBy)))
            try await outbox.saveReference(MessageReference(jobID: jobID, platform: Self.platform, role: "delivery-problem", channel: channel(of: request)))
        }
        if channelProblem, case .approval = item.notice.place, auditChannel != nil, channel(of: request) != auditChannel {
            followUps.append(Notice(jobID: jobID, place: .auditChannel, body: item.notice.body))
        }
        let audit = AuditDraft(
            actor: "coxswain", event: "delivery.failed",
            detail: "\(item.notice.place.key) to \(channel(of: request) ?? "?"): \(reason)")
        return (audit, followUps)
    }
}
