// The reference the webhook benchmark measures Coxswain against: the least a Slack slash
// command endpoint on the same framework and store can do. It verifies the signature
// (HMAC-SHA256 over "v0:timestamp:body", within five minutes), stores the request in
// SQLite with the same durability as Coxswain (WAL, synchronous=FULL, one transaction per
// request) and answers. No parsing, no access rules, no job, no message to Slack.
// Usage: SLACK_SIGNING_SECRET=... bare-webhook PORT DATABASE
import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]), let secret = ProcessInfo.processInfo.environment["SLACK_SIGNING_SECRET"] else {
    FileHandle.standardError.write(Data("usage: SLACK_SIGNING_SECRET=... bare-webhook PORT DATABASE\n".utf8))
    exit(2)
}
let pool = try DatabasePool(path: arguments[2])
try await pool.writeWithoutTransaction { db in
    try db.execute(sql: "PRAGMA synchronous = FULL")
    try db.execute(sql: "CREATE TABLE IF NOT EXISTS request (id INTEGER PRIMARY KEY, receivedAt DATETIME NOT NULL, body TEXT NOT NULL)")
}
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
    let text = String(buffer: body)
    let id = try await pool.write { db in
        try db.execute(sql: "INSERT INTO request (receivedAt, body) VALUES (?, ?)", arguments: [Date(), text])
        return db.lastInsertedRowID
    }
    return Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"response_type":"ephemeral","text":"Request #\#(id) recorded."}"#)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
