import CoxswainChat
import CoxswainCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Mattermost's two routes, beside Slack's and through the same dispatcher:
/// `POST /mattermost/commands` (slash commands, proven by the command's token) and
/// `POST /mattermost/actions` (button clicks, proven by their signed context). A request that
/// proves nothing gets 401 and leaves a log line only.
struct MattermostControllers: Sendable {
    static let platform = "mattermost"

    let settings: CoxswainConfiguration.Mattermost
    let members: [String: Set<String>]
    let rollbackCommand: String?
    let tokens: MattermostCommandTokens
    let signer: MattermostActionSigner
    let dispatcher: Dispatcher
    let renderer: MattermostNoticeRenderer
    let queryQueue: QueryQueue
    let audit: any AuditStore
    let now: @Sendable () -> Date
    let logger: Logger

    static let bodyLimit = 64 * 1024

    func add(to router: Router<some RequestContext>) {
        router.post("/mattermost/commands") { request, _ in await command(request) }
        router.post("/mattermost/actions") { request, _ in await action(request) }
    }

    /// Who a Mattermost user is to Coxswain: `mattermost:ID` when `members:` names them by id,
    /// else `mattermost:USERNAME`; one spelling per configuration, so "not the requester" and
    /// "each person once" compare like with like.
    static func identity(userID: String, userName: String?, members: [String: Set<String>]) -> String {
        let byID = "mattermost:" + userID
        guard members[byID] == nil, let userName, !userName.isEmpty else { return byID }
        return "mattermost:" + userName.lowercased()
    }

    func command(_ request: Request) async -> Response {
        guard let body = await SlackRequestBody.read(request, limit: Self.bodyLimit) else {
            return Response(status: .contentTooLarge, body: .init(byteBuffer: ByteBuffer(string: "request body over \(Self.bodyLimit) bytes")))
        }
        let fields = FormDecoding.fields(body)
        guard tokens.verify(header: request.headers[.authorization], field: fields["token"]) else {
            logger.warning("rejected /mattermost/commands request: no known command token")
            return Response(status: .unauthorized)
        }
        let command: MattermostSlashCommand
        do { command = try MattermostSlashCommand(form: fields) } catch {
            return json(renderer.commandAnswer("Coxswain could not read this request: \(error).", inChannel: false))
        }
        let catalog = dispatcher.catalog
        guard let resolved = catalog.resolveSlash(command.command, text: command.text) else {
            return json(renderer.commandAnswer("Coxswain does not answer \(code: command.command.prefix(40)).", inChannel: false))
        }
        let origin = CommandOrigin(
            platform: Self.platform, user: Self.identity(userID: command.userID, userName: command.userName, members: members),
            channel: "mattermost:" + command.channelID, requestKey: command.idempotencyKey(rawBody: body),
            asked: "\(resolved.invoked) \(resolved.text)", replyRoute: allowedResponseURL(command.responseURL), groups: [])
        switch await dispatcher.dispatch(verb: resolved.verb, text: resolved.text, invoked: resolved.invoked, style: .slash, from: origin) {
        case .text(let text, let inChannel, _): return json(renderer.commandAnswer(text, inChannel: inChannel))
        case .deferred(let work):
            guard queryQueue.submit(QueryRequest(work: work, origin: origin)) else {
                return json(renderer.commandAnswer("Coxswain is answering many questions right now; try again in a few seconds.", inChannel: false))
            }
            if case .resumeSync(let release, _) = work {
                return json(renderer.commandAnswer("Resuming GitOps sync of \(code: release)… the channel hears when it is done.", inChannel: false))
            }
            let place = work.isPublic ? " in the channel" : ""
            return json(renderer.commandAnswer("Asking the cluster… the answer follows here\(place) in a moment.", inChannel: false))
        }
    }

    func action(_ request: Request) async -> Response {
        guard let body = await SlackRequestBody.read(request, limit: Self.bodyLimit) else { return Response(status: .contentTooLarge) }
        let click: MattermostActionRequest
        do { click = try MattermostActionRequest(json: body) } catch {
            logger.warning("rejected /mattermost/actions request: \(error)")
            return Response(status: .unauthorized)
        }
        guard let (actionID, value) = signer.verify(click.context) else {
            logger.warning("rejected /mattermost/actions request: the button's context is not one Coxswain signed")
            return Response(status: .unauthorized)
        }
        let user = Self.identity(userID: click.userID, userName: click.userName, members: members)
        let origin = CommandOrigin(
            platform: Self.platform, user: user, channel: click.channelID.isEmpty ? "" : "mattermost:" + click.channelID,
            requestKey: "mattermost:\(actionID):\(value):\(click.userID)", asked: "button \(actionID) \(value)", replyRoute: nil, groups: [])
        let reply: RichText
        switch ButtonCommands.command(action: actionID, value: value, rollbackCommand: rollbackCommand ?? "/rollback") {
        case .failure(let error): reply = RichText(error.message)
        case .success(let (command, shownPlanKey)):
            switch await dispatcher.dispatch(command, from: origin, shownPlanKey: shownPlanKey) {
            case .text(let text, _, _): reply = text
            case .deferred: reply = "This button asks nothing of the cluster."
            }
        }
        let audit = self.audit, now = self.now()
        let draft = AuditDraft(actor: user, event: "interaction", detail: "mattermost \(actionID) \(value)")
        do {
            try await Persistence.webhook(logger).run("record a click") { try await audit.append(draft, jobID: nil, notices: [], now: now) }
        } catch {
            logger.error("could not record a click by \(user): \(error)")
        }
        return json(renderer.actionAnswer(reply))
    }

    /// A command names where later replies go (`response_url`); Coxswain posts there only when
    /// it is the configured Mattermost server, never anywhere a request says.
    func allowedResponseURL(_ url: String?) -> String? {
        guard let url else { return nil }
        guard let parsed = URL(string: url), parsed.scheme == settings.url.scheme, parsed.host?.lowercased() == settings.url.host?.lowercased(),
            parsed.port == settings.url.port
        else {
            logger.warning("ignored a response_url that is not the Mattermost server's: \(url.prefix(200))")
            return nil
        }
        return url
    }

    private func json(_ payload: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: payload)))
    }
}
