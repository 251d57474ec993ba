import CoxswainCore
import Crypto
import Foundation

/// The audit trail's hash chain. Entry `seq` stores
/// `hash = SHA-256(domainTag ‖ canonical(entry) ‖ hash of entry seq-1)`, the first entry
/// chaining from 32 zero bytes. Changing, removing or reordering an entry breaks every hash
/// from it on; a chain rewritten as a whole is caught by the signed checkpoints.
///
/// The canonical encoding is fixed, because PostgreSQL's trigger computes the same bytes
/// (`PostgresSchema.auditChain`): seq and the time in milliseconds since 1970 as 8-byte
/// big-endian integers, the job id as a byte 0 (none) or 1 followed by 8 bytes, then actor,
/// event and detail each as a 4-byte big-endian length and its UTF-8 bytes.
public enum AuditChain {
    public static let domainTag = "coxswain.audit.v1\n"
    /// What the first entry chains from.
    public static let genesis = String(repeating: "0", count: 64)

    public static func hash(seq: Int64, atMilliseconds: Int64, jobID: Int64?, actor: String, event: String, detail: String, previous: String) -> String {
        var bytes = [UInt8](domainTag.utf8)
        bytes.reserveCapacity(bytes.count + 64 + actor.utf8.count + event.utf8.count + detail.utf8.count)
        append(seq, to: &bytes)
        append(atMilliseconds, to: &bytes)
        if let jobID {
            bytes.append(1)
            append(jobID, to: &bytes)
        } else {
            bytes.append(0)
        }
        for text in [actor, event, detail] {
            let utf8 = Array(text.utf8)
            append(UInt32(truncatingIfNeeded: utf8.count), to: &bytes)
            bytes += utf8
        }
        bytes += Hex.bytes(previous) ?? []
        return Hex.string(SHA256.hash(data: bytes))
    }

    /// The hash `entry` should carry, chained from `previous`.
    public static func hash(of entry: AuditEntry, previous: String) -> String {
        hash(
            seq: entry.seq, atMilliseconds: milliseconds(entry.at), jobID: entry.jobID, actor: entry.actor, event: entry.event, detail: entry.detail,
            previous: previous)
    }

    /// A time as both stores keep it: whole milliseconds since 1970.
    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }
}
