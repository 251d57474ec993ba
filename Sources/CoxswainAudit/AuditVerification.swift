import CoxswainCore
import Foundation

/// `coxswain audit verify`: recomputes the chain entry by entry (in seq order, as the store or
/// an export gives them) and checks each checkpoint against the chain and the public key.
/// Everything found is a `Problem`; the trail holds only when there are none.
public struct AuditVerification {
    public enum Problem: Equatable, CustomStringConvertible {
        /// The entry's hash is not the one its contents and the entry before give.
        case altered(seq: Int64, summary: String)
        /// Entries `from...to` are not there.
        case missing(from: Int64, to: Int64)
        /// An entry came out of order (only an export file can do that).
        case outOfOrder(seq: Int64, after: Int64)
        case unsigned(checkpoint: Int, seq: Int64)
        case otherInstallation(checkpoint: Int, installation: String, expected: String)
        case notExtending(checkpoint: Int, seq: Int64)
        /// The chain's hash at a checkpoint's entry is not the one that was signed.
        case rewritten(checkpoint: Int, seq: Int64, signed: String, found: String)
        /// A checkpoint signed entries the trail no longer has.
        case tailDeleted(checkpoint: Int, seq: Int64, head: Int64, time: Date)

        public var description: String {
            switch self {
            case .altered(let seq, let summary):
                "entry \(seq) does not match its hash: it, or the hash of the entry before it, was changed after it was written (\(summary))"
            case .missing(let from, let to):
                from == to ? "entry \(from) is missing: it was deleted" : "entries \(from) to \(to) are missing: they were deleted"
            case .outOfOrder(let seq, let after):
                "entry \(seq) comes after entry \(after): entries were moved"
            case .unsigned(let index, let seq):
                "checkpoint \(index) (entry \(seq)) is not signed by this public key: forged, or signed with another key"
            case .otherInstallation(let index, let installation, let expected):
                "checkpoint \(index) is for installation \(installation), the ones before it for \(expected)"
            case .notExtending(let index, let seq):
                "checkpoint \(index) (entry \(seq)) does not extend the checkpoint before it: checkpoints were removed or replaced between them"
            case .rewritten(let index, let seq, let signed, let found):
                "entry \(seq) has hash \(found.prefix(16))…, but checkpoint \(index) signed \(signed.prefix(16))…: the trail up to it was rewritten"
            case .tailDeleted(let index, let seq, let head, let time):
                "the trail ends at entry \(head), but checkpoint \(index) signed entry \(seq) at \(time.formatted(.iso8601)): "
                    + "entries \(head + 1) to \(seq) were deleted"
            }
        }
    }

    public private(set) var problems: [Problem] = []
    public private(set) var entries = 0
    public private(set) var head: AuditHead?
    public private(set) var checkpointsChecked = 0

    private let checkpoints: [Checkpoint]
    /// The checkpoints still ahead of the chain, by seq.
    private var pending: [(index: Int, checkpoint: Checkpoint)]

    /// `checkpoints` in the order they were published; each is checked against `publicKey`.
    public init(checkpoints: [Checkpoint], publicKey: AuditPublicKey?) {
        self.checkpoints = checkpoints
        pending = checkpoints.enumerated().map { ($0.offset + 1, $0.element) }.sorted { $0.checkpoint.seq < $1.checkpoint.seq }
        checkSequence(publicKey: publicKey)
    }

    /// The checkpoints among themselves: signed, one installation, each extending the one before.
    private mutating func checkSequence(publicKey: AuditPublicKey?) {
        for (offset, checkpoint) in checkpoints.enumerated() {
            let index = offset + 1
            if let publicKey, !checkpoint.isSigned(by: publicKey) { problems.append(.unsigned(checkpoint: index, seq: checkpoint.seq)) }
            if let first = checkpoints.first, checkpoint.installation != first.installation {
                problems.append(.otherInstallation(checkpoint: index, installation: checkpoint.installation, expected: first.installation))
            }
            if offset > 0, checkpoint.previous != checkpoints[offset - 1].lineHash || checkpoint.seq < checkpoints[offset - 1].seq {
                problems.append(.notExtending(checkpoint: index, seq: checkpoint.seq))
            }
        }
    }

    /// The next entry, in seq order.
    public mutating func add(_ entry: AuditEntry) {
        entries += 1
        let expected = (head?.seq ?? 0) + 1
        if entry.seq < expected {
            problems.append(.outOfOrder(seq: entry.seq, after: expected - 1))
            return
        }
        if entry.seq > expected {
            // What came before is gone, so this entry's hash cannot be recomputed: the chain goes on from it.
            problems.append(.missing(from: expected, to: entry.seq - 1))
        } else if AuditChain.hash(of: entry, previous: head?.hash ?? AuditChain.genesis) != entry.hash {
            problems.append(.altered(seq: entry.seq, summary: "\(entry.at.formatted(.iso8601)) \(entry.actor) \(entry.event)"))
        }
        head = AuditHead(seq: entry.seq, hash: entry.hash)
        while let next = pending.first, next.checkpoint.seq <= entry.seq {
            pending.removeFirst()
            checkpointsChecked += 1
            // A checkpoint at a missing entry is already reported by the gap.
            if next.checkpoint.seq == entry.seq, next.checkpoint.hash != entry.hash {
                problems.append(.rewritten(checkpoint: next.index, seq: entry.seq, signed: next.checkpoint.hash, found: entry.hash))
            }
        }
    }

    /// After the last entry: checkpoints beyond it signed entries that were deleted.
    public mutating func finish() {
        let end = head?.seq ?? 0
        if let last = pending.last {
            problems.append(.tailDeleted(checkpoint: last.index, seq: last.checkpoint.seq, head: end, time: last.checkpoint.time))
            checkpointsChecked += pending.count
            pending = []
        }
    }

    public var holds: Bool { problems.isEmpty }
}
