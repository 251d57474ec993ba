import CoxswainCore
import Foundation

/// Where a command came from and how to reach its sender again, whatever the front end.
public struct CommandOrigin: Sendable {
    /// `slack`, `console`.
    public var platform: String
    public var user: String
    /// The chat channel it was typed in, or `console`; the channel rule applies to it.
    public var channel: String
    /// Makes a retried delivery of the same request harmless.
    public var requestKey: String
    /// What was asked, as typed, for the audit trail.
    public var asked: String
    /// The front end's own way to reach the user later (a Slack response URL), already checked.
    public var replyRoute: String?
    /// The user's groups on that platform, as the front end knows them now.
    public var groups: Set<String>

    public init(platform: String, user: String, channel: String, requestKey: String, asked: String, replyRoute: String?, groups: Set<String>) {
        self.platform = platform; self.user = user; self.channel = channel; self.requestKey = requestKey
        self.asked = asked; self.replyRoute = replyRoute; self.groups = groups
    }

    /// The reference that lets the front end reply to this person about a job later.
    var replyReference: [MessageReference] {
        replyRoute.map { [MessageReference(jobID: 0, platform: platform, role: "person:\(user)", url: $0)] } ?? []
    }
}

/// What a command asks of the cluster, done after the answer within the chat platform's limit.
public enum DeferredWork: Sendable, Equatable {
    /// A read-only question, answered to the asker (or the channel with `--public`).
    case query(Query, public: Bool)
    /// GitOps sync back on: said in the channel and audited.
    case resumeSync(release: String, force: Bool)

    /// Whether the answer goes to the channel. A resumed sync is announced there with its audit
    /// entry; what refused it is only for the one who asked.
    var isPublic: Bool {
        switch self {
        case .query(_, let isPublic): isPublic
        case .resumeSync: false
        }
    }
}

/// What deferred work came to.
struct DeferredAnswer: Sendable {
    var text: RichText
    /// Already said where it belongs (a resumed sync, in the channel, with its audit entry).
    var announced = false
}

/// What a front end shows the person who sent a command.
public enum DispatchReply: Sendable, Equatable {
    /// An answer, with the job it is about when there is one (a console follows it).
    case text(RichText, inChannel: Bool, jobID: Int64? = nil)
    /// Work for the cluster: the front end has it done when it can (Slack in the background,
    /// after its 3 seconds; the console by waiting).
    case deferred(DeferredWork)

    static func text(_ text: RichText, jobID: Int64? = nil) -> DispatchReply { .text(text, inChannel: false, jobID: jobID) }
}
