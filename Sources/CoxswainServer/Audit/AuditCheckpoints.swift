import CoxswainAudit
import CoxswainCore
import CoxswainHTTP
import Foundation
import Logging
import ServiceLifecycle

/// Signs the audit trail's head and publishes it off the machine: after each job ends, at
/// least every `audit.checkpoint_interval` while entries are written, and once more at
/// shutdown. Every replica may try; the store records one checkpoint per predecessor, so
/// replicas never fork the sequence and each checkpoint is published once: as a line in the
/// audit channel (through the outbox, committed with it), appended to `checkpoint_file` and
/// POSTed to `checkpoint_url` (by the replica that recorded it, after the commit).
struct AuditCheckpoints: Service, CustomStringConvertible {
    let key: AuditSigningKey?
    let audit: CoxswainConfiguration.Audit
    let auditChannel: String?
    let store: any AuditStore
    let http: OutboundHTTP
    let signal: WorkSignal
    let notifierSignal: WorkSignal
    let now: @Sendable () -> Date
    let logger: Logger

    var description: String { "AuditCheckpoints" }

    func run() async throws {
        guard let key else {
            let hint = "`coxswain audit keygen` makes a key; the hash chain is kept all the same"
            logger.warning("audit checkpoints are off: COXSWAIN_AUDIT_SIGNING_KEY_FILE is not set (\(hint))")
            try? await gracefulShutdown()
            return
        }
        logger.info("audit checkpoints signed by the key whose public half is \(key.publicKey.base64)")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await checkpoint(key)
            try? await cancelWhenGracefulShutdown { await signal.wait(timeout: audit.checkpointInterval.duration) }
        }
        // What this server wrote before it stopped is signed too.
        await checkpoint(key)
    }

    /// Signs and records a checkpoint when entries were written since the last one; nil when
    /// there were none, another server was first, or the store failed (logged; the next wake-up tries again).
    @discardableResult
    func checkpoint(_ key: AuditSigningKey) async -> Checkpoint? {
        do {
            guard let head = try await store.head() else { return nil }
            let last = try await store.lastCheckpoint()
            if let last, last.seq >= head.seq { return nil }
            let lastInstallation = last.flatMap { try? Checkpoint.parse($0.line).get().installation }
            let installation = audit.installation ?? lastInstallation ?? "coxswain-" + UUID().uuidString.prefix(8).lowercased()
            let checkpoint = try Checkpoint.sign(
                installation: installation, head: head, time: now(), previous: last.map { Checkpoint.hash(ofLine: $0.line) } ?? AuditChain.genesis,
                key: key)
            let text = RichText(segments: [.plain("Audit checkpoint (`coxswain audit verify --from-slack` checks it): "), .code(checkpoint.line)])
            let notices = auditChannel == nil ? [] : [Notice.message(text, jobID: nil, place: .auditChannel)]
            let stored = StoredCheckpoint(seq: checkpoint.seq, line: checkpoint.line, previous: checkpoint.previous)
            guard try await store.record(stored, notices: notices, now: now()) else { return nil }
            notifierSignal.signal()
            if let file = audit.checkpointFile {
                await publish(checkpoint, to: file) { try CheckpointFile.append(checkpoint.line, to: file) }
            }
            if let url = audit.checkpointURL {
                // Named by scheme and host only: a webhook's path carries its token.
                await publish(checkpoint, to: "\(url.scheme ?? "https")://\(url.host ?? "?")/…") { try await post(checkpoint, to: url) }
            }
            return checkpoint
        } catch {
            logger.error("audit checkpoint: \(error); the next one tries again")
            return nil
        }
    }

    /// One destination off the machine. A failure is logged, audited and told in the audit
    /// channel: the checkpoint is still in the database and the channel.
    private func publish(_ checkpoint: Checkpoint, to destination: String, _ send: () async throws -> Void) async {
        do {
            try await send()
        } catch {
            logger.error("audit checkpoint for entry \(checkpoint.seq): could not publish to \(destination): \(error)")
            let notice = Notice.message(
                "Could not publish the audit checkpoint for entry \(checkpoint.seq) to \(destination): \(error). "
                    + "It is in this channel and in the database; the next checkpoint covers these entries too.",
                jobID: nil, place: .auditChannel)
            try? await store.append(
                AuditDraft(actor: "coxswain", event: "audit.checkpoint_unpublished", detail: "\(destination): \(error)"), jobID: nil,
                notices: auditChannel == nil ? [] : [notice], now: now())
            notifierSignal.signal()
        }
    }

    /// JSON whose `text` is the line (what a Slack or Mattermost incoming webhook posts), with the
    /// fields beside it; three tries, a second apart then two, and a 2xx answer.
    private func post(_ checkpoint: Checkpoint, to url: URL) async throws {
        let body: [String: Any] = [
            "text": checkpoint.line, "installation": checkpoint.installation, "seq": checkpoint.seq, "hash": checkpoint.hash,
            "time": checkpoint.time.formatted(.iso8601), "previous": checkpoint.previous, "signature": checkpoint.signature,
        ]
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        var failure = "no answer"
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .seconds(attempt)) }
            do {
                let answer = try await http.send(.post, url, headers: [("Content-Type", "application/json")], body: data, timeout: .seconds(10))
                if (200..<300).contains(answer.status) { return }
                failure = "HTTP \(answer.status)"
            } catch {
                failure = error.description
            }
        }
        throw PublishFailure(description: failure)
    }

    struct PublishFailure: Error, CustomStringConvertible { let description: String }
}

/// The checkpoint file: one line per checkpoint, appended with `O_APPEND` and synced.
enum CheckpointFile {
    static func append(_ line: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw POSIXFailure(errno) }
        defer { close(descriptor) }
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw POSIXFailure(written < 0 ? errno : EIO) }
        guard fsync(descriptor) == 0 else { throw POSIXFailure(errno) }
    }

    struct POSIXFailure: Error, CustomStringConvertible {
        let code: Int32
        init(_ code: Int32) { self.code = code }
        var description: String { String(cString: strerror(code)) }
    }
}
