import CoxswainChat
import CoxswainCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The console front end's API (`coxswain shell`, `coxswain run`), on the operators'
/// listener: the same dispatcher as Slack, so the same permissions, approvals and audit
/// trail, working while Slack is down. Every request names its user (`X-Coxswain-User`)
/// and proves it with that user's token (`Authorization: Bearer …`); without a valid token
/// nothing runs.
struct ConsoleController: Sendable {
    static let platform = "console"

    let tokens: any ConsoleTokenStore
    let jobs: any JobStore
    let outbox: any OutboxStore
    let now: @Sendable () -> Date
    let logger: Logger
    let dispatcher: Dispatcher
    let userGroups: UserGroupDirectory

    struct CommandBody: Decodable {
        /// The command as typed: `rollback llama-2-7b-production 3`.
        var text: String
        /// Makes a retried request harmless; the client sends one per command typed.
        var key: String?
    }

    struct Answer: ResponseEncodable {
        var reply: String
        var job: Int64?
        /// A change that was not accepted (no job stored or joined).
        var refused: Bool
    }

    struct JobView: ResponseEncodable {
        var id: Int64
        var version: Int
        var state: String
        var finished: Bool
        /// The job's live message, as a terminal shows it.
        var progress: String
        /// The approval or confirmation request while the job waits for one.
        var request: String?
    }

    struct Problem: ResponseEncodable { var error: String }

    func add(to router: Router<BasicRequestContext>) {
        router.post("/api/v1/console/commands") { request, context in try await command(request, context: context) }
        router.get("/api/v1/console/jobs/{id}") { request, context in try await job(request, context: context) }
    }

    enum Authentication {
        case user(String)
        /// The answer that refuses the request: 401 without a valid token (none, unknown,
        /// expired or revoked), 503 when the tokens could not be read. Nothing runs.
        case refused(Response)
    }

    /// Who a request proves to be.
    private func authenticate(_ request: Request, context: some RequestContext) async throws -> Authentication {
        let named = request.headers[.coxswainUser]
        if let user = named, Validation.isSlackID(user) || Validation.isMattermostUser(user), let authorization = request.headers[.authorization],
            authorization.hasPrefix("Bearer ")
        {
            let token = String(authorization.dropFirst("Bearer ".count))
            do {
                let digests = try await tokens.tokenDigests(user: user, now: now())
                if ConsoleTokens.matches(token, digests: digests) { return .user(user) }
            } catch {
                logger.error("could not check a console token: \(error)")
                return .refused(
                    try Problem(error: "Coxswain cannot read its database right now (\(error)); nothing was done, try again in a minute")
                        .response(from: request, context: context).withStatus(.serviceUnavailable))
            }
        }
        logger.warning("rejected a console request for \(named ?? "nobody"): no valid token")
        return .refused(
            try Problem(
                error: "not authenticated: send X-Coxswain-User and Authorization: Bearer TOKEN; the token may be unknown, expired or revoked "
                    + "(`coxswain users token USER` issues one, `coxswain users list` shows which are valid)"
            ).response(from: request, context: context).withStatus(.unauthorized))
    }

    func command(_ request: Request, context: some RequestContext) async throws -> Response {
        let user: String
        switch try await authenticate(request, context: context) {
        case .user(let who): user = who
        case .refused(let answer): return answer
        }
        guard let body = try? await request.decode(as: CommandBody.self, context: context), body.text.count <= 4096 else {
            return try Problem(error: "the body must be JSON like {\"text\": \"rollback llama-2-7b-production\"}, at most 4096 characters")
                .response(from: request, context: context).withStatus(.badRequest)
        }
        let words = body.text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ", maxSplits: 1).map(String.init)
        let verb = words.first?.lowercased() ?? "help"
        let origin = CommandOrigin(
            platform: Self.platform, user: user, channel: AccessPolicy.consoleChannel,
            requestKey: "console:" + (body.key ?? UUID().uuidString), asked: body.text, replyRoute: nil,
            groups: await userGroups.groups(of: user))
        let reply: RichText
        var job: Int64?
        switch await dispatcher.dispatch(verb: verb, text: words.count > 1 ? words[1] : "", invoked: verb, style: .console, from: origin) {
        case .text(let text, _, let jobID):
            reply = text
            job = jobID
        case .deferred(let work):
            // A terminal can wait for the cluster; no 3-second limit here. The console has no
            // channel: a resumed sync goes to the audit channel.
            reply = await dispatcher.perform(work, origin: origin, place: dispatcher.configuration.slack.auditChannel == nil ? nil : .auditChannel).text
        }
        let isChange = dispatcher.catalog.runbooks.all.contains { CommandCatalog.name(of: $0) == verb }
        return try Answer(reply: ConsoleRenderer.text(reply), job: job, refused: isChange && job == nil).response(from: request, context: context)
    }

    func job(_ request: Request, context: some RequestContext) async throws -> Response {
        let user: String
        switch try await authenticate(request, context: context) {
        case .user(let who): user = who
        case .refused(let answer): return answer
        }
        guard let id = context.parameters.get("id", as: Int64.self), let job = try await jobs.job(id: id) else {
            return try Problem(error: "there is no such job").response(from: request, context: context).withStatus(.notFound)
        }
        let read = dispatcher.policy.decide(
            user: user, groups: await userGroups.groups(of: user), permission: .read,
            environment: job.request.environment, channel: AccessPolicy.consoleChannel)
        if let refusal = read.message {
            return try Problem(error: ConsoleRenderer.text(refusal)).response(from: request, context: context).withStatus(.forbidden)
        }
        let live = try await outbox.latest(jobID: id, place: .live)
        let waiting = job.state.isWaiting ? try await outbox.latest(jobID: id, place: .approval(round: job.approvalRound)) : nil
        return try JobView(
            id: id, version: job.version, state: job.state.rawValue, finished: job.state.isFinished,
            progress: live.map(ConsoleRenderer.render) ?? job.planLine, request: waiting.map(ConsoleRenderer.render)
        )
        .response(from: request, context: context)
    }
}

extension HTTPField.Name {
    static let coxswainUser = HTTPField.Name("X-Coxswain-User")!
}
