import CoxswainAudit
import CoxswainCore
import Foundation
import Logging
import ServiceLifecycle

/// Signs the audit trail's head and publishes it off the machine: after each job ends, at
/// least every `audit.checkpoint_interval` while entries are written, and once more at
/// shutdown. Every replica may try; the store records one checkpoint per predecessor, so
/// replicas never fork the sequence and each checkpoint is published once: as a line in the
/// audit channel (through the outbox, committed with it) and appended to `checkpoint_file`.
struct AuditCheckpoints: Service, CustomStringConvertible {
    let key: AuditSigningKey?
    let audit: CoxswainConfiguration.Audit
    let auditChannel: String?
    let store: any AuditStore
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
            let notices = auditChannel == nil ? [] : [Notice.message(RichText(segments: [.code(checkpoint.line)]), jobID: nil, place: .auditChannel)]
            let stored = StoredCheckpoint(seq: checkpoint.seq, line: checkpoint.line, previous: checkpoint.previous)
            guard try await store.record(stored, notices: notices, now: now()) else { return nil }
            notifierSignal.signal()
            if let file = audit.checkpointFile { await append(checkpoint.line, to: file) }
            return checkpoint
        } catch {
            logger.error("audit checkpoint: \(error); the next one tries again")
            return nil
        }
    }

    /// Appends the line and syncs it; a failure is logged and told in the audit channel, since
    /// the line is still in the database and the channel.
    private func append(_ line: String, to path: String) async {
        do {
            try CheckpointFile.append(line, to: path)
        } catch {
            logger.error("audit checkpoint: could not append to \(path): \(error)")
            let notice = Notice.message(
                "Could not append the audit checkpoint for entry \(line.split(separator: " ").dropFirst(3).first ?? "?") to \(path): \(error). "
                    + "It is in this channel and in the database; append it by hand once the file can be written.",
                jobID: nil, place: .auditChannel)
            if auditChannel != nil {
                try? await store.append(
                    AuditDraft(actor: "coxswain", event: "audit.checkpoint_file_failed", detail: "\(path): \(error)"), jobID: nil, notices: [notice],
                    now: now())
                notifierSignal.signal()
            }
        }
    }
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
