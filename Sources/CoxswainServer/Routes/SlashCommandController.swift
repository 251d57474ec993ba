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
    let reporter: JobReporter
    let policy: AccessPolicy
    let workerSignal: WorkSignal
    let notifierSignal: WorkSignal

    init(dependencies: ServerDependencies, workerSignal: WorkSignal, notifierSignal: WorkSignal) {
        self.dependencies = dependencies
        self.verifier = SlackRequestVerifier(signingSecret: dependencies.secrets.signingSecret, now: dependencies.now)
        self.reporter = JobReporter(runbook: dependencies.rollbackRunbook, auditChannel: dependencies.configuration.slack.auditChannel)
        self.policy = AccessPolicy(users: dependencies.configuration.users)
        self.workerSignal = workerSignal
        self.notifierSignal = notifierSignal
    }

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let body = Data(buffer.readableBytesView)
        let fields = FormDecoding.fields(body)
        // Slack's certificate check carries no command and changes nothing.
        if fields["ssl_check"] == "1" { return Response(status: .ok) }

        do {
            try verifier.verify(body: body,
                                timestamp: request.headers[.slackRequestTimestamp],
                                signature: request.headers[.slackSignature])
        } catch {
            dependencies.logger.warning("rejected /slack/commands request: \(error)")
            return Response(status: .unauthorized)
        }

        let command: SlackSlashCommand
        do { command = try SlackSlashCommand(form: fields) }
        catch { return Self.ephemeral("Coxswain could not read this request: \(error).", status: .badRequest) }

        switch SlashCommandParser.parse(command: command.command, text: command.text) {
        case .failure(let error):
            return Self.ephemeral(error.message)
        case .success(.help(let text)):
            return Self.ephemeral(text)
        case .success(.rollback(let rollback)):
            return try await accept(rollback, from: command, body: body)
        }
    }

    private func accept(_ rollback: RollbackRequest, from command: SlackSlashCommand, body: Data) async throws -> Response {
        let now = dependencies.now()
        let configuration = dependencies.configuration
        guard let release = configuration.release(named: rollback.release) else {
            let known = configuration.releases.keys.sorted().joined(separator: ", ")
            try await dependencies.database.appendAudit(AuditDraft(actor: command.userID, event: "request.refused",
                                                                   detail: "\(command.command) \(command.text): unknown release"), now: now)
            return Self.ephemeral("Coxswain does not know a release `\(rollback.release)`. Releases it knows: \(known.isEmpty ? "none configured" : known). Example: `/rollback \(configuration.releases.keys.sorted().first ?? "llama-2-7b-production")`")
        }
        if case .refused(let message, let rule) = policy.decide(user: command.userID, release: release) {
            try await dependencies.database.appendAudit(AuditDraft(actor: command.userID, event: "access.refused",
                                                                   detail: "\(command.command) \(command.text): \(rule)"), now: now)
            return Self.ephemeral(message)
        }

        let job = JobRecord(command: command.command, release: release.name, environment: release.environment, namespace: release.namespace,
                            model: release.model, requestedBy: command.userID, channelID: command.channelID, responseURL: command.responseURL,
                            requestedRevision: rollback.revision, reason: rollback.reason, createdAt: now)
        let requestKey = command.idempotencyKey(rawBody: body)
        let reporter = self.reporter
        let result = try await dependencies.database.enqueueJob(job, requestKey: requestKey, audit: [
            AuditDraft(actor: command.userID, event: "job.requested", detail: "\(command.command) \(command.text) in \(command.channelID)"),
            AuditDraft(actor: "coxswain", event: "access.allowed", detail: "rule: users.\(command.userID) includes \(release.environment)"),
        ], now: now) { job, jobsAhead in [reporter.initialPost(job: job, jobsAhead: jobsAhead)] }

        if !result.isDuplicate {
            workerSignal.signal()
            notifierSignal.signal()
        }
        return Self.ephemeral(acknowledgement(result, release: release))
    }

    private func acknowledgement(_ result: EnqueueResult, release: CoxswainConfiguration.Release) -> String {
        let id = result.job.id ?? 0
        let line = "\(result.job.command.dropFirst()) \(release.name) (\(release.environment), ns \(release.namespace))"
        let target = result.job.requestedRevision.map { "to revision \($0)" } ?? "to the last revision that deployed successfully"
        var text = "Job #\(id): \(line), \(target)."
        if result.jobsAhead > 0 {
            text += " Another job holds `\(release.name)`: this one is number \(result.jobsAhead + 1) in line and starts when the \(result.jobsAhead == 1 ? "job" : "jobs") ahead finish."
        } else {
            text += " Starting now: Coxswain reads the Helm history and tells you the exact plan (revision X -> Y) here in a moment."
        }
        text += " Progress is posted in this channel."
        if result.isDuplicate { text = "(already received) " + text }
        return text
    }

    static func ephemeral(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        let payload = (try? JSONSerialization.data(withJSONObject: ["response_type": "ephemeral", "text": text])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: payload)))
    }
}

extension HTTPField.Name {
    static let slackSignature = HTTPField.Name("X-Slack-Signature")!
    static let slackRequestTimestamp = HTTPField.Name("X-Slack-Request-Timestamp")!
}
