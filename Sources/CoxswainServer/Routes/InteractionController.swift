import CoxswainChat
import CoxswainCore
import Foundation
import Hummingbird
import Logging

/// `POST /slack/interactions`: Approve, Deny, Confirm, Acknowledge and Roll back clicks.
/// Verified exactly as slash commands are; each button stands for the command it offers
/// and goes through the same dispatcher (so the channel rule and the approval rules apply).
/// The clicker hears the outcome through the click's response URL.
struct InteractionController: Sendable {
    let configuration: CoxswainConfiguration
    let rollbackCommand: String?
    let audit: any AuditStore
    let outbox: any OutboxStore
    let now: @Sendable () -> Date
    let logger: Logger
    let verifier: SlackRequestVerifier
    let dispatcher: Dispatcher
    let userGroups: UserGroupDirectory
    let notifierSignal: WorkSignal

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        guard let body = await SlackRequestBody.read(request, limit: 256 * 1024) else { return Response(status: .contentTooLarge) }
        do {
            try verifier.verify(body: body, timestamp: request.headers[.slackRequestTimestamp], signature: request.headers[.slackSignature])
        } catch {
            logger.warning("rejected /slack/interactions request: \(error)")
            return Response(status: .unauthorized)
        }
        await answer(fields: FormDecoding.fields(body))
        return Response(status: .ok)
    }

    /// Acts on a verified click, over the request URL or Socket Mode; the clicker hears the
    /// outcome through the click's response URL.
    func answer(fields: [String: String]) async {
        let action: SlackBlockAction
        do { action = try SlackBlockAction(form: fields) } catch {
            logger.info("ignored interaction: \(error)")
            return
        }
        let route = SlackResponseURLs.allowed(action.responseURL, configuration: configuration, logger: logger)
        let origin = CommandOrigin(
            platform: SlackNoticeDelivery.platform, user: action.userID, channel: action.channelID ?? "",
            requestKey: "slack:\(action.actionID):\(action.value):\(action.userID)", asked: "button \(action.actionID) \(action.value)",
            replyRoute: route, groups: await userGroups.groups(of: action.userID))
        let reply: RichText
        switch Self.command(for: action, rollbackCommand: rollbackCommand ?? "/rollback") {
        case .failure(let error): reply = RichText(error.message)
        case .success(let (command, shownPlanKey)):
            switch await dispatcher.dispatch(command, from: origin, shownPlanKey: shownPlanKey) {
            case .text(let text, _, _): reply = text
            case .deferred: reply = "This button asks nothing of the cluster."
            }
        }
        let audit = self.audit, outbox = self.outbox, now = self.now()
        let draft = AuditDraft(actor: action.userID, event: "interaction", detail: "\(action.actionID) \(action.value)")
        do {
            try await Persistence.webhook(logger).run("answer a click") {
                try await audit.append(draft, jobID: nil, notices: [], now: now)
                if let route {
                    try await outbox.enqueue(
                        [.message(reply, jobID: nil, place: .person(action.userID))], platform: SlackNoticeDelivery.platform,
                        route: route, now: now)
                }
            }
        } catch {
            logger.error("could not record the answer to a click by \(action.userID): \(error)")
        }
        notifierSignal.signal()
    }

    /// The command a button stands for, and the plan it showed (a click counts only for it).
    static func command(for action: SlackBlockAction, rollbackCommand: String) -> Result<(ParsedCommand, String?), CommandError> {
        let parts = action.value.split(separator: ":", maxSplits: 2).map(String.init)
        switch action.actionID {
        case "approve", "deny", "confirm":
            guard parts.count >= 2, let id = Int64(parts[0]) else { return .failure(CommandError("This button carries no job; type the command instead.")) }
            let key = parts.dropFirst().joined(separator: ":")
            let command: ParsedCommand =
                action.actionID == "approve" ? .approve(jobID: id) : action.actionID == "deny" ? .deny(jobID: id, reason: nil) : .confirm(jobID: id)
            return .success((command, key))
        case "acknowledge":
            guard let id = Int64(action.value) else { return .failure(CommandError("This button carries no job; type the command instead.")) }
            return .success((.acknowledge(jobID: id), nil))
        case "rollback":
            // "Roll back to revision N" after a failed upgrade (JOB:RELEASE:REVISION) or a watch's
            // breach (…:watch): a new rollback by the clicker, with the same permission checks
            // and approvals as a typed one.
            let fields = action.value.split(separator: ":", maxSplits: 3).map(String.init)
            guard fields.count == 3 || (fields.count == 4 && fields[3] == "watch"), let job = Int64(fields[0]), let revision = Int(fields[2]),
                revision > 0, Validation.isReleaseName(fields[1])
            else {
                return .failure(CommandError("This button carries no usable rollback target."))
            }
            let reason = fields.count == 4 ? "watch breach after job #\(job)" : "after failed job #\(job)"
            return .success((.change(.rollback(fields[1], revision: revision, reason: reason, command: rollbackCommand)), nil))
        default:
            return .failure(CommandError("Coxswain does not know the button `\(action.actionID.prefix(40))`."))
        }
    }
}
