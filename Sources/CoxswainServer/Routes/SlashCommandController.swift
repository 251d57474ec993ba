import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainChat
import Hummingbird
import HTTPTypes
import Logging

/// `POST /slack/commands`: verify, decode, deduplicate, persist, answer. In that order,
/// and nothing slower: the cluster and Slack's Web API are the worker's and notifier's.
struct SlashCommandController: Sendable {
    let dependencies: ServerDependencies
    let verifier: SlackRequestVerifier
    let intake: ChangeIntake
    let decisions: JobDecisions
    let userGroups: UserGroupDirectory
    let queries: ReadOnlyQueries
    let queryQueue: QueryQueue

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let body = Data(buffer.readableBytesView)
        let fields = FormDecoding.fields(body)
        // Slack's certificate check carries no command and changes nothing.
        if fields["ssl_check"] == "1" { return Response(status: .ok) }

        do {
            try verifier.verify(body: body, timestamp: request.headers[.slackRequestTimestamp], signature: request.headers[.slackSignature])
        } catch {
            dependencies.logger.warning("rejected /slack/commands request: \(error)")
            return Response(status: .unauthorized)
        }

        let command: SlackSlashCommand
        do { command = try SlackSlashCommand(form: fields) }
        catch { return Self.ephemeral("Coxswain could not read this request: \(error).", status: .badRequest) }

        let groups = await userGroups.groups(of: command.userID)
        let text: String
        switch SlashCommandParser.parse(command: command.command, text: command.text) {
        case .failure(let error): text = error.message
        case .success(.help(let help)): text = help
        case .success(.rollback(let rollback)):
            text = try await intake.accept(.rollback(rollback), origin: Self.origin(command, body), groups: groups)
        case .success(.upgrade(let upgrade)):
            text = try await intake.accept(.upgrade(upgrade), origin: Self.origin(command, body), groups: groups)
        case .success(.approve(let id)):
            text = try await decisions.decide(.approve, jobID: id, user: command.userID, groups: groups, channel: command.channelID, shownPlanKey: nil)
        case .success(.deny(let id, let reason)):
            text = try await decisions.decide(.deny(reason: reason), jobID: id, user: command.userID, groups: groups, channel: command.channelID, shownPlanKey: nil)
        case .success(.cancel(let id)):
            text = try await decisions.decide(.cancel, jobID: id, user: command.userID, groups: groups, channel: command.channelID, shownPlanKey: nil)
        case .success(.acknowledge(let id)):
            text = try await decisions.decide(.acknowledge, jobID: id, user: command.userID, groups: groups, channel: nil, shownPlanKey: nil)
        case .success(.query(let query, let isPublic)):
            // Questions the database answers are answered now; the cluster's in the background.
            guard query.needsCluster else { return Self.reply(await queries.answer(query), inChannel: isPublic) }
            let accepted = queryQueue.submit(QueryRequest(query: query, isPublic: isPublic, channel: command.channelID, responseURL: command.responseURL))
            text = accepted ? "Asking the cluster… the answer follows here\(isPublic ? " in the channel" : "") in a moment."
                            : "Coxswain is answering many questions right now; try again in a few seconds."
        }
        return Self.ephemeral(text)
    }

    static func origin(_ command: SlackSlashCommand, _ body: Data) -> RequestOrigin {
        RequestOrigin(userID: command.userID, channelID: command.channelID, responseURL: command.responseURL,
                      requestKey: command.idempotencyKey(rawBody: body), text: command.text)
    }

    static func ephemeral(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        reply(text, inChannel: false, status: status)
    }

    static func reply(_ text: String, inChannel: Bool, status: HTTPResponse.Status = .ok) -> Response {
        let payload = (try? JSONSerialization.data(withJSONObject: ["response_type": inChannel ? "in_channel" : "ephemeral", "text": text])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: payload)))
    }
}

extension HTTPField.Name {
    static let slackSignature = HTTPField.Name("X-Slack-Signature")!
    static let slackRequestTimestamp = HTTPField.Name("X-Slack-Request-Timestamp")!
}
