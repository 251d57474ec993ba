import CoxswainChat
import Foundation
import Testing

/// Slack's published example ("Verifying requests from Slack"): this secret, timestamp and
/// body give exactly this signature.
@Suite struct SlackRequestVerifierTests {
    static let secret = "8f742231b10e8888abcd99yyyzzz85a5"
    static let timestamp = "1531420618"
    static let body = Data(
        ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
            + "&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
            + "%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
            .utf8)
    static let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

    func verifier(at seconds: TimeInterval = 1531420618) -> SlackRequestVerifier {
        SlackRequestVerifier(signingSecret: Self.secret, now: { Date(timeIntervalSince1970: seconds) })
    }

    @Test func acceptsSlacksPublishedExample() throws {
        try verifier().verify(body: Self.body, timestamp: Self.timestamp, signature: Self.signature)
        #expect(SlackRequestVerifier.signature(signingSecret: Self.secret, timestamp: Self.timestamp, body: Self.body) == Self.signature)
    }

    @Test func refusesATamperedBody() {
        var body = Self.body
        body.append(contentsOf: Array("&text=rollback".utf8))
        #expect(throws: SlackRequestVerifier.Rejection.badSignature) {
            try verifier().verify(body: body, timestamp: Self.timestamp, signature: Self.signature)
        }
    }

    @Test func refusesAnotherTimestampWithTheSameSignature() {
        #expect(throws: SlackRequestVerifier.Rejection.badSignature) {
            try verifier(at: 1531420619).verify(body: Self.body, timestamp: "1531420619", signature: Self.signature)
        }
    }

    @Test func refusesRequestsOutsideFiveMinutes() {
        #expect(throws: SlackRequestVerifier.Rejection.stale(ageSeconds: 301)) {
            try verifier(at: 1531420618 + 301).verify(body: Self.body, timestamp: Self.timestamp, signature: Self.signature)
        }
        #expect(throws: SlackRequestVerifier.Rejection.stale(ageSeconds: -301)) {
            try verifier(at: 1531420618 - 301).verify(body: Self.body, timestamp: Self.timestamp, signature: Self.signature)
        }
        #expect(throws: Never.self) {
            try verifier(at: 1531420618 + 300).verify(body: Self.body, timestamp: Self.timestamp, signature: Self.signature)
        }
    }

    @Test func refusesMissingOrMalformedHeaders() {
        #expect(throws: SlackRequestVerifier.Rejection.missingHeaders) { try verifier().verify(body: Self.body, timestamp: nil, signature: Self.signature) }
        #expect(throws: SlackRequestVerifier.Rejection.malformedTimestamp) {
            try verifier().verify(body: Self.body, timestamp: "soon", signature: Self.signature)
        }
        #expect(throws: SlackRequestVerifier.Rejection.badSignature) { try verifier().verify(body: Self.body, timestamp: Self.timestamp, signature: "v0=zz") }
        #expect(throws: SlackRequestVerifier.Rejection.badSignature) {
            try verifier().verify(body: Self.body, timestamp: Self.timestamp, signature: String(Self.signature.dropFirst(3)))
        }
    }

    /// A header chosen to overflow `now - timestamp` killed the process before any check.
    @Test(arguments: [
        "-9223372036854775808", "9223372036854775807", "-1", "+1531420618", " 1531420618", "1531420618 ",
        "99999999999999999999999", "0x5B47", "1e9", "", "١٥٣١٤٢٠٦١٨",
    ])
    func refusesTimestampsThatAreNotPlainUnixSeconds(_ timestamp: String) {
        #expect(throws: SlackRequestVerifier.Rejection.malformedTimestamp) {
            try verifier().verify(body: Self.body, timestamp: timestamp, signature: Self.signature)
        }
    }

    @Test func refusesTimestampsFarFromNowWithoutOverflowing() {
        #expect(throws: SlackRequestVerifier.Rejection.stale(ageSeconds: 1531420618)) {
            try verifier().verify(body: Self.body, timestamp: "0", signature: Self.signature)
        }
        #expect(throws: SlackRequestVerifier.Rejection.stale(ageSeconds: 1531420618 - 999_999_999_999)) {
            try verifier().verify(body: Self.body, timestamp: "999999999999", signature: Self.signature)
        }
    }

    @Test func decodesTheSlashCommandForm() throws {
        let command = try SlackSlashCommand(form: FormDecoding.fields(Self.body))
        #expect(command.command == "/webhook-collect")
        #expect(command.userID == "U2CERLKJA")
        #expect(command.channelID == "G8PSS9T3V")
        #expect(command.text == "")
        #expect(command.responseURL == "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN")
        #expect(FormDecoding.fields(Data("text=llama+pods%20OOM%26more".utf8))["text"] == "llama pods OOM&more")
        #expect(throws: SlackSlashCommand.Malformed.self) { try SlackSlashCommand(form: ["command": "/rollback"]) }
    }
}
