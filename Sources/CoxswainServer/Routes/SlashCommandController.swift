import CoxswainChat
import CoxswainCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /slack/commands`: verify, decode, deduplicate, persist, answer. In that order, and
/// nothing slower: the cluster and Slack's Web API are the worker's and the notifier's.
/// Whatever happens, Slack gets an answer it can show: a forged request 401, everything
/// else 200 with a message (Slack shows nothing of a non-200 answer but a generic error).
struct SlashCommandController: Sendable {
    let configuration: CoxswainConfiguration
    let logger: Logger
    let verifier: SlackRequestVerifier
    let dispatcher: Dispatcher
    let renderer: SlackNoticeRenderer
    let userGroups: UserGroupDirectory
    let queryQueue: QueryQueue

    static let bodyLimit = 64 * 1024

    func handle(_ request: Request, context: some RequestContext) async -> Response {
        guard let body = await SlackRequestBody.read(request, limit: Self.bodyLimit) else {
            return Response(status: .contentTooLarge, body: .init(byteBuffer: ByteBuffer(string: "request body over \(Self.bodyLimit) bytes")))
        }
        let fields = FormDecoding.fields(body)
        // Slack's certificate check carries no command and changes nothing.
        if fields["ssl_check"] == "1" { return Response(status: .ok) }
        do {
            try verifier.verify(body: body, timestamp: request.headers[.slackRequestTimestamp], signature: request.headers[.slackSignature])
        } catch {
            logger.warning("rejected /slack/commands request: \(error)")
            return Response(status: .unauthorized)
        }
        return Self.json(await answer(fields: fields, rawBody: body))
    }

    /// The answer to a verified slash command, as the JSON body Slack shows: the same over
    /// the request URL and over Socket Mode.
    func answer(fields: [String: String], rawBody: Data) async -> Data {
        let command: SlackSlashCommand
        do { command = try SlackSlashCommand(form: fields) } catch {
            return reply("Coxswain could not read this request: \(error).")
        }
        let catalog = dispatcher.catalog
        guard let resolved = catalog.resolveSlash(command.command, text: command.text) else {
            return reply(
                RichText(
                    catalog.parse(verb: command.command, text: command.text, invoked: command.command, style: .slash)
                        .failureMessage ?? "Unknown command."))
        }
        let origin = CommandOrigin(
            platform: SlackNoticeDelivery.platform, user: command.userID, channel: command.channelID,
            requestKey: command.idempotencyKey(rawBody: rawBody), asked: "\(resolved.invoked) \(resolved.text)",
            replyRoute: SlackResponseURLs.allowed(command.responseURL, configuration: configuration, logger: logger),
            groups: await userGroups.groups(of: command.userID))
        switch await dispatcher.dispatch(verb: resolved.verb, text: resolved.text, invoked: resolved.invoked, style: .slash, from: origin) {
        case .text(let text, let inChannel, _): return reply(text, inChannel: inChannel)
        case .deferred(let work):
            let accepted = queryQueue.submit(QueryRequest(work: work, origin: origin))
            guard accepted else { return reply("Coxswain is answering many questions right now; try again in a few seconds.") }
            if case .resumeSync(let release, _) = work { return reply("Resuming GitOps sync of \(code: release)… the channel hears when it is done.") }
            return reply("Asking the cluster… the answer follows here\(work.isPublic ? " in the channel" : "") in a moment.")
        }
    }

    func reply(_ text: RichText, inChannel: Bool = false) -> Data { renderer.commandAnswer(text, inChannel: inChannel) }

    static func json(_ payload: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: payload)))
    }
}

/// Reads a request body up to a limit; nil when it is longer.
enum SlackRequestBody {
    static func read(_ request: Request, limit: Int) async -> Data? {
        guard let buffer = try? await request.body.collect(upTo: limit) else { return nil }
        return Data(buffer.readableBytesView)
    }
}

/// A signed request names where replies go (`response_url`); Coxswain posts there only when
/// the host is Slack's (or one the configuration names, for tests), never anywhere a
/// request says.
enum SlackResponseURLs {
    static func allowed(_ url: String?, configuration: CoxswainConfiguration, logger: Logger) -> String? {
        guard let url else { return nil }
        guard let parsed = URL(string: url), let host = parsed.host?.lowercased(), ["https", "http"].contains(parsed.scheme ?? ""),
            configuration.slack.responseURLHosts.contains(host)
        else {
            logger.warning("ignored a response_url outside slack.response_url_hosts: \(url.prefix(200))")
            return nil
        }
        return url
    }
}

extension Result where Failure == CommandError {
    var failureMessage: String? { if case .failure(let error) = self { return error.message } else { return nil } }
}

extension HTTPField.Name {
    static let slackSignature = HTTPField.Name("X-Slack-Signature")!
    static let slackRequestTimestamp = HTTPField.Name("X-Slack-Request-Timestamp")!
}
