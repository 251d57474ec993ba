// The reference the webhook benchmark measures Coxswain against: the least a Slack slash
// command endpoint on the same framework and store can do. It verifies the signature
// (HMAC-SHA256 over "v0:timestamp:body", within five minutes), stores the request with the
// same durability as Coxswain (one transaction per request; SQLite in WAL mode with
// synchronous=FULL, or PostgreSQL with synchronous_commit=on) and answers. No parsing, no
// access rules, no job, no message to Slack.
// Usage: SLACK_SIGNING_SECRET=... bare-webhook PORT DATABASE
//   DATABASE: a SQLite file, or postgres://USER@HOST:PORT/DB (password from BARE_DATABASE_PASSWORD)
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]), let secret = ProcessInfo.processInfo.environment["SLACK_SIGNING_SECRET"] else {
    FileHandle.standardError.write(Data("usage: SLACK_SIGNING_SECRET=... bare-webhook PORT DATABASE (a file or postgres://USER@HOST:PORT/DB)\n".utf8))
    exit(2)
}
let insert: RequestInsert =
    arguments[2].hasPrefix("postgres://")
    ? try await PostgresInsert.open(arguments[2], password: ProcessInfo.processInfo.environment["BARE_DATABASE_PASSWORD"])
    : try await SQLiteInsert.open(arguments[2])
let secretBytes = Data(secret.utf8)

let router = Router()
router.post("/slack/commands") { request, _ -> Response in
    let body = try await request.body.collect(upTo: 1 << 16)
    guard let timestamp = request.headers[HTTPField.Name("X-Slack-Request-Timestamp")!], let seconds = Double(timestamp),
        abs(Date().timeIntervalSince1970 - seconds) < 300,
        let signature = request.headers[HTTPField.Name("X-Slack-Signature")!]
    else { return Response(status: .unauthorized) }
    var signed = Data("v0:\(timestamp):".utf8)
    signed.append(contentsOf: body.readableBytesView)
    let expected = "v0=" + HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secretBytes)).map { String(format: "%02x", $0) }.joined()
    guard expected == signature else { return Response(status: .unauthorized) }
    let id = try await insert.insert(body: String(buffer: body))
    return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"response_type":"ephemeral","text":"Request #\#(id) recorded."}"#)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
