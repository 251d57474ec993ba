import Foundation

/// A store operation that did not happen, described for the operator and classified so
/// the caller knows whether trying again can help. Nothing was written when it is thrown.
public struct StoreFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Another process holds the database's write lock.
        case busy
        /// No space left for the database (disk or quota full).
        case full
        /// Reading or writing the file failed (I/O error, file gone).
        case io
        /// The database was opened read-only, or the file or folder is not writable.
        case readOnly
        /// The file is not a Coxswain database, is damaged, or is of an unknown version.
        case unusable
        /// The operation was given up (a deadline passed, or it was cancelled) before it ran.
        case cancelled
        case other
    }

    public var kind: Kind
    /// The database: a file path, or a connection's name.
    public var location: String
    /// What was tried, e.g. "record job #12's step".
    public var operation: String
    /// The database's own words.
    public var detail: String

    public init(kind: Kind, location: String, operation: String, detail: String) {
        self.kind = kind; self.location = location; self.operation = operation; self.detail = detail
    }

    /// Worth trying again in a moment: the lock may be released, space freed, the disk back.
    public var isTransient: Bool { [.busy, .full, .io, .cancelled].contains(kind) }

    /// What a person asking for something is told: the cause, in a few words.
    public var cause: String {
        switch kind {
        case .busy: return "the database is locked by another process"
        case .full: return "the disk holding the database is full"
        case .io: return "the database file cannot be read or written"
        case .readOnly: return "the database is read-only"
        case .unusable: return "the database cannot be used"
        case .cancelled: return "the database did not answer in time"
        case .other: return "the database refused the change"
        }
    }

    public var description: String { "\(operation) in \(location) failed: \(cause) (\(detail))" }
}

/// Someone else changed the job since it was read; reload it and decide again.
public struct StoreConflict: Error, Sendable, CustomStringConvertible {
    public var jobID: Int64
    public init(jobID: Int64) { self.jobID = jobID }
    public var description: String { "job #\(jobID) was changed by someone else meanwhile" }
}
