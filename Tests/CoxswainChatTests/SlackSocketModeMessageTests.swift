import CoxswainChat
import Foundation
import Testing

/// Socket Mode messages as Slack sends them, and as a broken or hostile peer might: every
/// one parses or is refused with a reason, none crashes.
@Suite struct SlackSocketModeMessageTests {
    static let slash = #"""
        {"envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","type":"slash_commands","accepts_response_payload":true,
         "payload":{"token":"x","team_id":"T0001","channel_id":"C0OPS","user_id":"U0123ALICE","command":"/rollback",
         "text":"llama-2-7b-production","response_url":"https://hooks.slack.com/commands/1","trigger_id":"13345224609.738474920.8088930838d88f008e0"}}
        """#

    @Test("hello, disconnect, a slash command, a click, an event, and their acknowledgements")
    func parses() throws {
        #expect(try SlackSocketModeMessage(text: #"{"type":"hello","num_connections":1}"#).kind == .hello)
        #expect(try SlackSocketModeMessage(text: #"{"type":"disconnect","reason":"refresh_requested"}"#).kind == .disconnect(reason: "refresh_requested"))
        let slash = try SlackSocketModeMessage(text: Self.slash)
        #expect(slash.kind == .slashCommand && slash.retryAttempt == 0)
        #expect(slash.fields["command"] == "/rollback" && slash.fields["trigger_id"] == "13345224609.738474920.8088930838d88f008e0")
        let click = try SlackSocketModeMessage(text: #"{"envelope_id":"e2","type":"interactive","payload":{"type":"block_actions"}}"#)
        #expect(click.kind == .interaction && click.fields["payload"]?.contains("block_actions") == true)
        let event = try SlackSocketModeMessage(text: #"{"envelope_id":"e3","type":"events_api","retry_attempt":2,"payload":{}}"#)
        #expect(event.kind == .other("events_api") && event.retryAttempt == 2)
        #expect(throws: SlackSocketModeMessage.Malformed.self) { try SlackSocketModeMessage(text: #"{"type":"slash_commands","payload":{}}"#) }
        let ack = SlackSocketModeMessage.acknowledgement(envelopeID: "e1", payload: Data(#"{"text":"Job #1"}"#.utf8))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ack.utf8)) as? [String: Any])
        #expect(object["envelope_id"] as? String == "e1" && (object["payload"] as? [String: Any])?["text"] as? String == "Job #1")
        #expect(SlackSocketModeMessage.acknowledgement(envelopeID: "e2", payload: nil) == #"{"envelope_id":"e2"}"#)
    }

    @Test("20,000 mutated envelopes: each parses or is refused, none crashes")
    func mutations() {
        var random = SeededGenerator(seed: 20261123)
        let seeds = [Self.slash, #"{"type":"hello"}"#, #"{"envelope_id":"e","type":"interactive","payload":{"actions":[{"value":"1:5->3"}]}}"#]
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = Array(seeds[Int(random.next() % UInt64(seeds.count))].utf8)
            for _ in 0..<(1 + Int(random.next() % 4)) where !bytes.isEmpty {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 4 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: random.next())
                case 1: bytes.removeSubrange(at...)
                case 2: bytes.insert(contentsOf: Array(#"{"payload":[1e999,"\u0000"]}"#.utf8), at: at)
                default: bytes.remove(at: at)
                }
            }
            if let message = try? SlackSocketModeMessage(text: String(decoding: bytes, as: UTF8.self)) {
                parsed += 1
                _ = SlackSocketModeMessage.acknowledgement(envelopeID: message.envelopeID ?? "", payload: Data(bytes))
            }
        }
        #expect(parsed > 0)
    }

    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
