import CoxswainChat
import CoxswainHTTP
import CoxswainCore
import Foundation
import Logging
import Testing

/// Slack over Socket Mode, against a local server that speaks the protocol: commands and
/// clicks arrive as envelopes, go through the same code as the request URLs, and are
/// acknowledged with the same answer; Coxswain reconnects when Slack asks and when the
/// connection drops; a redelivered envelope starts nothing twice.
@Suite("Slack Socket Mode", .serialized)
struct SocketModeTests {
    static let release = "llama-2-7b-production"

    static func fields(_ text: String, command: String = "/rollback", user: String = "U0123ALICE", fakePort: Int) -> [String: String] {
        let form = Harness.form(command: command, text: text, user: user, channel: "C0OPS", triggerID: UUID().uuidString, fakePort: fakePort)
        return FormDecoding.fields(Data(form.utf8))
    }

    /// Waits for the acknowledgement of `envelope`; returns its payload's text ("" without one).
    static func acknowledged(_ socket: FakeSocketMode, _ envelope: String) async throws -> String {
        let ack = try await Eventually.value("the acknowledgement of \(envelope)") { socket.acknowledgement(of: envelope) }
        return Harness.unescape((ack["payload"] as? [String: Any])?["text"] as? String ?? "")
    }

    @Test("a slash command is acknowledged with the answer the request URL gives, runs and is heard; Slack's redelivery starts nothing")
    func slashCommand() async throws {
        let socket = FakeSocketMode()
        try await socket.run { url in
            try await Harness.run(socketModeURL: url) { h in
                try await Eventually.until("Coxswain to connect") { socket.connections == 1 }
                try await Eventually.until("/readyz to say ready") { try await h.client.execute(uri: "/readyz", method: .get).status == .ok }
                let fields = Self.fields(Self.release, fakePort: h.fakePort)
                try await socket.send(FakeSocketMode.slashCommand(envelope: "E1", fields: fields))
                let text = try await Self.acknowledged(socket, "E1")
                #expect(text.contains("llama-2-7b-production (production, ns production)"), "\(text)")
                let id = try Harness.jobID(in: text)
                // Slack did not see the acknowledgement in time and delivers the envelope again.
                try await socket.send(FakeSocketMode.slashCommand(envelope: "E2", fields: fields, retryAttempt: 1))
                let again = try await Self.acknowledged(socket, "E2")
                #expect(again.contains("Job #\(id)"), "\(again)")
                let job = try await h.waitUntilSettled(job: id)
                #expect(job.state == .succeeded)
                #expect(try await h.database.recentJobs(release: nil, limit: 5).count == 1)
                #expect(try Harness.rollbackCalls(h).count == 1)
                #expect(try await h.liveMessageText(job: job).contains("*Result:* rolled back"))
                // Socket Mode has no signing secret, so nothing posted over HTTP is taken.
                #expect(try await h.command("llama-2-7b-development").status == .notFound)
            }
        }
    }

    @Test("an approver's click arrives as an interactive envelope and runs the approved plan")
    func click() async throws {
        let socket = FakeSocketMode()
        try await socket.run { url in
            try await Harness.run(approvals: 1, access: ApprovalTests.access, socketModeURL: url) { h in
                try await Eventually.until("Coxswain to connect") { socket.connections == 1 }
                try await socket.send(FakeSocketMode.slashCommand(envelope: "E1", fields: Self.fields(Self.release, fakePort: h.fakePort)))
                let text = try await Self.acknowledged(socket, "E1")
                #expect(text.contains("needs"), "\(text)")
                let id = try Harness.jobID(in: text)
                try await h.waitFor(job: id, state: .awaitingApproval)
                let click: [String: Any] = [
                    "type": "block_actions", "user": ["id": "U0789CAROL", "username": "carol"], "team": ["id": "T0001"],
                    "channel": ["id": "C0OPS"], "trigger_id": UUID().uuidString,
                    "response_url": "http://127.0.0.1:\(h.fakePort)/hooks/click-\(UUID().uuidString)",
                    "actions": [["action_id": "approve", "value": "\(id):5->3", "type": "button", "block_id": "b"]],
                ]
                try await socket.send(FakeSocketMode.interaction(envelope: "E2", payload: click))
                #expect(try await Self.acknowledged(socket, "E2") == "")  // a click's acknowledgement carries nothing
                let job = try await h.waitUntilSettled(job: id)
                #expect(job.state == .succeeded)
                #expect(try await h.auditEvents(job: id).contains("approval.approve"))
                #expect(await h.world.responseURLCalls().contains { $0.text.contains("Job #\(id) is approved and runs now") })
            }
        }
    }

    @Test("Slack's disconnect and a dropped connection: Coxswain opens a new one each time and takes commands on it")
    func reconnects() async throws {
        let socket = FakeSocketMode()
        try await socket.run { url in
            try await Harness.run(socketModeURL: url) { h in
                try await Eventually.until("Coxswain to connect") { socket.connections == 1 }
                try await socket.send(["type": "disconnect", "reason": "refresh_requested", "debug_info": ["host": "applink-7"]])
                try await Eventually.until("a second connection") { socket.connections == 2 }
                #expect(await h.world.socketModeOpens == 2)  // each connection gets a fresh URL
                socket.drop()
                try await Eventually.until("a third connection") { socket.connections == 3 }
                try await socket.send(FakeSocketMode.slashCommand(envelope: "E3", fields: Self.fields(Self.release, fakePort: h.fakePort)))
                let id = try Harness.jobID(in: try await Self.acknowledged(socket, "E3"))
                #expect(try await h.waitUntilSettled(job: id).state == .succeeded)
                try await Eventually.until("/readyz to say ready") { try await h.client.execute(uri: "/readyz", method: .get).status == .ok }
            }
        }
    }

    @Test("Slack unreachable: /readyz says Socket Mode is not connected, and Coxswain keeps trying")
    func unreachable() async throws {
        try await Harness.run(socketModeURL: "ws://127.0.0.1:1/link") { h in
            try await Eventually.until("a second attempt") { await h.world.socketModeOpens >= 2 }
            let ready = try await h.client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(String(buffer: ready.body).contains("Slack Socket Mode: "), "\(String(buffer: ready.body))")
        }
    }

    @Test("a bot token where the app token belongs: Slack's refusal is reported with the fix, and cancelling stops the client")
    func wrongToken() async throws {
        let world = FakeWorld()
        try await FakeServer.application(world).test(.live) { fake in
            let port = try #require(fake.port)
            let http = OutboundHTTP(environment: [:])
            defer { Task { await http.shutdown() } }
            let slack = SlackWebClient(http: http, apiURL: try #require(URL(string: "http://127.0.0.1:\(port)/api")), token: Secret(Harness.botToken))
            let client = SlackSocketModeClient(
                slack: slack, appToken: Secret(Harness.botToken), logger: Logger(label: "socket-test"), maxBackoff: .milliseconds(200)
            ) { _ in nil }
            let running = Task { await client.run() }
            try await Eventually.until("the refusal to be reported") { client.problem?.contains("not_allowed_token_type") == true }
            #expect(client.problem?.contains("check SLACK_APP_TOKEN") == true)
            running.cancel()
            await running.value
            #expect(client.connections == 0)
        }
    }
}
