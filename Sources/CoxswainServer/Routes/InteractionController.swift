import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat
import Hummingbird
import Logging

/// `POST /slack/interactions`: Approve, Deny and Acknowledge clicks. Verified exactly as
/// slash commands are; the clicker hears the outcome through the payload's response URL.
struct InteractionController: Sendable {
    let dependencies: ServerDependencies
    let verifier: SlackRequestVerifier
    let decisions: JobDecisions
    let intake: ChangeIntake
    let userGroups: UserGroupDirectory
    let notifierSignal: WorkSignal

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let body = Data(try await request.body.collect(upTo: 256 * 1024).readableBytesView)
        do {
            try verifier.verify(body: body, timestamp: request.headers[.slackRequestTimestamp], signature: request.headers[.slackSignature])
        } catch {
            dependencies.logger.warning("rejected /slack/interactions request: \(error)")
            return Response(status: .unauthorized)
        }
        let action: SlackBlockAction
        do { action = try SlackBlockAction(form: FormDecoding.fields(body)) }
        catch {
            dependencies.logger.info("ignored interaction: \(error)")
            return Response(status: .ok)
        }

        let groups = await userGroups.groups(of: action.userID)
        let reply: String
        switch action.actionID {
        case "approve", "deny":
            let parts = action.value.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let jobID = Int64(parts[0]) else { reply = "This button carries no job; use `/approve JOB`."; break }
            let kind: JobDecisions.Kind = action.actionID == "approve" ? .approve : .deny(reason: nil)
            reply = try await decisions.decide(kind, jobID: jobID, user: action.userID, groups: groups, channel: nil, shownPlanKey: parts[1])
        case "acknowledge":
            guard let jobID = Int64(action.value) else { reply = "This button carries no job; use `/ack JOB`."; break }
            reply = try await decisions.decide(.acknowledge, jobID: jobID, user: action.userID, groups: groups, channel: nil, shownPlanKey: nil)
        case "rollback":
            // "Roll back to revision N" after a failed upgrade: a new /rollback job by the
            // clicker, with the same permission checks and approvals as a typed one.
            let parts = action.value.split(separator: ":").map(String.init)
            guard parts.count == 3, let failedJob = Int64(parts[0]), let revision = Int(parts[2]), Validation.isReleaseName(parts[1]),
                  let channel = action.channelID else { reply = "This button carries no usable rollback target."; break }
            let origin = RequestOrigin(userID: action.userID, channelID: channel, responseURL: action.responseURL,
                                       requestKey: "slack:rollback-button:\(failedJob):\(revision):\(action.userID)",
                                       text: "\(parts[1]) \(revision) (button after failed job #\(failedJob))")
            reply = try await intake.accept(.rollback(RollbackRequest(release: parts[1], revision: revision, reason: "after failed job #\(failedJob)")),
                                            origin: origin, groups: groups)
        default:
            reply = "Coxswain does not know the button `\(action.actionID)`."
        }
        if let url = action.responseURL {
            try await dependencies.database.appendAudit(
                AuditDraft(actor: action.userID, event: "interaction", detail: "\(action.actionID) \(action.value)"), now: dependencies.now(),
                messages: [OutgoingDraft(kind: .ephemeral, responseURL: url, text: reply)])
            notifierSignal.signal()
        }
        return Response(status: .ok)
    }
}
