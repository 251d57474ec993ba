import Foundation

/// How notices are stored, by every store alike: JSON of the domain's `Notice`.
public enum NoticeCoding {
    public static func encode(_ notice: Notice) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(notice), as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> Notice {
        try JSONDecoder().decode(Notice.self, from: Data(text.utf8))
    }
}

extension Notice.Place {
    /// The place as one string: the store orders and replaces notices by it, and a front end
    /// names its message references by it (`live`, `approval:2`, `person:U0123ALICE`).
    public var key: String {
        switch self {
        case .live: return "live"
        case .thread: return "thread"
        case .approval(let round): return "approval:\(round)"
        case .person(let user): return "person:\(user)"
        case .auditChannel: return "audit"
        case .jobChannel: return "job-channel"
        case .channel(let id): return "channel:\(id)"
        }
    }
}
