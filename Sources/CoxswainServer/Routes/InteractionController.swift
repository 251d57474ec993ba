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
        switch ButtonCommands.command(action: action.actionID, value: action.value, rollbackCommand: rollbackCommand ?? "/rollback") {
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
}
