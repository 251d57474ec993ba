import Foundation

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same cases, so
/// a failure can be repeated.
struct SplitMix64: RandomNumberGenerator {
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

/// What a hostile or broken client sends Slack's routes: headers at the edges of what
/// parses, command texts full of flags, quotes and odd characters, JSON that is almost a
/// button click, bodies at and over the size limit. No generated name is a configured
/// release, so nothing valid reaches the cluster.
enum FuzzInputs {
    static let words = [
        "rollback", "upgrade", "approve", "deny", "confirm", "cancel", "ack", "history", "status", "releases", "jobs", "help",
        "--emergency", "--break-glass", "--public", "--override-promotion", "--", "-n", "-3", "0", "3", "999999999999999999999",
        "#12", "12", "llama", "Llama_2", "a-", "-llama", "v0.3.0", "nightly-20260115", "latest", "0.0.0-nightly.1",
        "\"quoted", "“curly", "'single", "”", "`code`", "<@U1>", "&amp;", "\u{0}", "\u{202E}", "🚨", String(repeating: "x", count: 300),
    ]
    static let commands = [
        "/rollback", "/upgrade", "/approve", "/deny", "/confirm", "/cancel", "/ack", "/history", "/status", "/releases", "/jobs",
        "/coxswain", "/cx-rollback", "/deploy", "", "rollback", "/", "//rollback", "/ROLLBACK",
    ]
    static let actions = ["approve", "deny", "confirm", "acknowledge", "rollback", "", "nope"]

    static func pick<T>(_ items: [T], _ rng: inout SplitMix64) -> T { items[Int(rng.next() % UInt64(items.count))] }
    static func chance(_ percent: UInt64, _ rng: inout SplitMix64) -> Bool { rng.next() % 100 < percent }

    static func text(_ rng: inout SplitMix64) -> String {
        (0..<Int(rng.next() % 8)).map { _ in pick(words, &rng) }.joined(separator: pick([" ", "  ", "\t", "\n", ""], &rng))
    }

    static func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> Data {
        var data = Data(capacity: count + 8)
        while data.count < count { withUnsafeBytes(of: rng.next()) { data.append(contentsOf: $0) } }
        return data.prefix(count)
    }

    static func timestamp(_ now: Int, _ rng: inout SplitMix64) -> String? {
        pick(
            [
                nil, "", String(now), String(now - 301), String(now + 400), "-9223372036854775808", "9223372036854775807",
                "99999999999999999999", "0", "-1", "+\(now)", " \(now)", "\(now) ", "1e10", "0x5B47", "NaN", "000000\(now)",
                String(rng.next()), "١٥٣١٤٢٠٦١٨",
            ], &rng)
    }

    static func form(_ rng: inout SplitMix64, fakePort: Int) -> String {
        var fields: [(String, String)] = []
        if !chance(5, &rng) { fields.append(("command", pick(commands, &rng))) }
        if !chance(5, &rng) { fields.append(("text", text(&rng))) }
        if !chance(5, &rng) { fields.append(("user_id", pick(["U0FUZZ\(rng.next() % 1000)", "", "u1", "U" + String(repeating: "9", count: 40)], &rng))) }
        if !chance(5, &rng) { fields.append(("channel_id", pick(["C0OPS", "C0OTHER", "", "console", "c1"], &rng))) }
        if chance(80, &rng) { fields.append(("trigger_id", "fuzz.\(rng.next())")) }
        if chance(70, &rng) {
            fields.append(
                (
                    "response_url",
                    pick(
                        [
                            "http://127.0.0.1:\(fakePort)/hooks/fuzz", "http://127.0.0.1:1/evil", "https://evil.example.com/x",
                            "not a url", "", "file:///etc/passwd",
                        ], &rng)
                ))
        }
        if chance(3, &rng) { fields.append(("ssl_check", "1")) }
        return FormEncoding.encode(fields)
    }

    static func payload(_ rng: inout SplitMix64, fakePort: Int) -> String {
        let value = pick(["1:5->3", "x", "", "1:llama:3", "99999999999999999999:a:b", "1", "-1", "1:fuzz-release:3", "::::"], &rng)
        let options: [String] = [
            "{",
            "[]",
            "{\"type\":\"block_actions\"}",
            "{\"type\":\"view_submission\",\"user\":{\"id\":\"U1\"}}",
            "{\"type\":\"block_actions\",\"user\":{\"id\":\"U0FUZZ\"},\"actions\":[{\"action_id\":\"\(pick(actions, &rng))\",\"value\":\"\(value)\"}],"
                + "\"channel\":{\"id\":\"C0OPS\"},\"response_url\":\"http://127.0.0.1:\(fakePort)/hooks/click\"}",
            "{\"type\":\"block_actions\",\"user\":{\"id\":7},\"actions\":[{\"action_id\":null}]}",
        ]
        return FormEncoding.encode([("payload", pick(options, &rng))])
    }
}

/// Form encoding without the Chat room's helpers, so generated input is not limited to
/// what those produce.
enum FormEncoding {
    static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map {
            "\($0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }
        .joined(separator: "&")
    }
}
