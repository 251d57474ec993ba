import CoxswainChat
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Mattermost's routes take anything a client sends without a crash or a 500, and nothing
/// reaches the cluster unless a known token and a configured member say so. Fixed seed, bounded
/// (`COXSWAIN_FUZZ_CASES` / `COXSWAIN_FUZZ_SEED` as for Slack's routes).
@Suite("fuzzing the Mattermost routes", .serialized)
struct MattermostFuzzTests {
    @Test("generated commands and clicks: no 500, no crash, nothing reaches the cluster, healthz answers after")
    func routes() async throws {
        try await Harness.run(access: FuzzTests.access, logLevel: .critical, mattermost: true) { h in
            var rng = SplitMix64(seed: FuzzTests.seed &+ 1)
            var statuses: [Int: Int] = [:]
            for index in 0..<(FuzzTests.cases / 2) {
                let command = FuzzInputs.chance(55, &rng)
                let path = command ? "/mattermost/commands" : "/mattermost/actions"
                var body: Data
                switch rng.next() % 10 {
                case 0: body = FuzzInputs.randomBytes(Int(rng.next() % 2048), &rng)
                case 1: body = Data(repeating: 0x61, count: MattermostControllersLimit.bodyLimit + 1)
                case 2, 3, 4: body = Data(Self.click(&rng).utf8)
                default: body = Data((FuzzInputs.form(&rng, fakePort: h.fakePort) + "&user_name=" + FuzzInputs.pick(["alice", "", "%ZZ", "a b"], &rng)).utf8)
                }
                var headers: HTTPFields = [.contentType: FuzzInputs.pick(["application/x-www-form-urlencoded", "application/json", "x"], &rng)]
                if FuzzInputs.chance(60, &rng) {
                    headers[.authorization] = FuzzInputs.pick(
                        ["Token \(FakeMattermost.commandToken)", "Token other", "Token ", "Bearer \(FakeMattermost.commandToken)", "", "Token x"], &rng)
                }
                if FuzzInputs.chance(30, &rng) {
                    body += Data("&token=\(FuzzInputs.pick([FakeMattermost.commandToken, "other", "", "nope"], &rng))".utf8)
                }
                let response = try await h.client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body))
                statuses[response.status.code, default: 0] += 1
                #expect(response.status.code < 500, "case \(index): \(path) answered \(response.status.code)")
            }
            #expect(statuses.keys.allSatisfy { $0 < 500 }, "\(statuses)")
            #expect(statuses[200, default: 0] > 0 && statuses[401, default: 0] > 0, "both accepted and refused requests were generated: \(statuses)")
            #expect(try h.cluster.calls().isEmpty)
            #expect(try await h.client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await h.database.recentJobs(release: nil, limit: 5).isEmpty)
        }
    }

    /// A click as Mattermost posts one, some with contexts that were never signed.
    static func click(_ rng: inout SplitMix64) -> String {
        let context = FuzzInputs.pick(
            [
                "{\"action\":\"approve\",\"value\":\"1:5->3\",\"sig\":\"\(String(repeating: "0", count: 64))\"}", "{}", "null", "[]",
                "{\"action\":\"approve\"}", "{\"sig\":7}", "{\"action\":\"\(FuzzInputs.pick(FuzzInputs.actions, &rng))\",\"value\":\"x\",\"sig\":\"zz\"}",
            ], &rng)
        let user = FuzzInputs.pick(["\"u1\"", "\"\"", "7", "null", "\"\(String(repeating: "a", count: 300))\""], &rng)
        return FuzzInputs.pick(
            [
                "{\"user_id\":\(user),\"channel_id\":\"c\",\"post_id\":\"p\",\"context\":\(context)}", "{", "",
                "{\"user_id\":\(user)}", "[\"user_id\"]",
            ], &rng)
    }
}

/// The route's body limit, as the fuzzer sends one byte over it.
enum MattermostControllersLimit {
    static let bodyLimit = 64 * 1024
}
