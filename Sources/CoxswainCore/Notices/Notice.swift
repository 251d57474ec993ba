import Foundation

/// Something people must be told, decided by the domain and stored in the outbox in the
/// same transaction as the change it reports. Each front end renders it when it delivers
/// it (Slack: Block Kit; the console: lines of text), so nothing platform-specific is
/// stored or decided here.
public struct Notice: Sendable, Equatable, Codable {
    /// Where a notice goes, in the job's terms; the front end knows the platform's places.
    public enum Place: Sendable, Equatable, Codable, Hashable {
        /// The job's one live message: posted once, then replaced by newer ones.
        case live
        /// A reply under the job's live message.
        case thread
        /// The job's approval (or confirmation) request of that round: posted once, then
        /// replaced by newer ones. A new round (the plan changed) is a new message, so the
        /// approvers are notified again.
        case approval(round: Int)
        /// Only this person: the requester, a follower, someone who clicked a button.
        case person(String)
        /// The audit channel.
        case auditChannel
        /// A new message in the job's channel.
        case jobChannel
        /// A new message in this channel (answers asked for with `--public`).
        case channel(String)

        /// Notices at these places replace each other: only the newest undelivered one matters.
        public var isReplaceable: Bool {
            switch self {
            case .live, .approval: return true
            default: return false
            }
        }
    }

    public enum Body: Sendable, Equatable, Codable {
        /// The live message's content: the job's steps as they stand.
        case progress(JobProgress)
        /// Text, with buttons (or their typed equivalents) where a decision is wanted.
        case message(RichText, actions: [NoticeAction])
    }

    public var jobID: Int64?
    public var place: Place
    public var body: Body

    public init(jobID: Int64?, place: Place, body: Body) {
        self.jobID = jobID; self.place = place; self.body = body
    }

    public static func message(_ text: RichText, jobID: Int64?, place: Place, actions: [NoticeAction] = []) -> Notice {
        Notice(jobID: jobID, place: place, body: .message(text, actions: actions))
    }

    /// The text of the notice, for logs, tests and front ends without formatting.
    public var plainText: String {
        switch body {
        case .message(let text, _): return text.plainText
        case .progress(let progress): return progress.plainText
        }
    }
}

/// A decision a notice offers: Slack shows a button, the console the command to type.
public struct NoticeAction: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case approve, deny, acknowledge, rollback, confirm
    }
    public enum Style: String, Sendable, Codable { case primary, danger }
    public struct Confirmation: Sendable, Equatable, Codable {
        public var title: String
        public var text: RichText
        public init(title: String, text: RichText) { self.title = title; self.text = text }
    }

    public var kind: Kind
    public var label: String
    /// What comes back when it is chosen (job, plan key, revision).
    public var value: String
    public var style: Style?
    /// Asked before the choice counts.
    public var confirmation: Confirmation?
    /// The same decision as a command, for front ends without buttons: `approve 12`.
    public var typed: String

    public init(kind: Kind, label: String, value: String, style: Style? = nil, confirmation: Confirmation? = nil, typed: String) {
        self.kind = kind; self.label = label; self.value = value; self.style = style; self.confirmation = confirmation; self.typed = typed
    }
}

/// A job's story so far, as its live message shows it.
public struct JobProgress: Sendable, Equatable, Codable {
    public struct Step: Sendable, Equatable, Codable {
        public var title: String
        /// nil: not started yet.
        public var status: StepStatus?
        public var durationMilliseconds: Int?
        /// One short line after the title: "revision 5 -> 4", "2/2 ready", "812 ms".
        public var note: String?
        public init(title: String, status: StepStatus?, durationMilliseconds: Int? = nil, note: String? = nil) {
            self.title = title; self.status = status; self.durationMilliseconds = durationMilliseconds; self.note = note
        }
    }

    public var jobID: Int64
    public var planLine: String
    public var requestedBy: String
    public var reason: String?
    public var state: JobState
    public var steps: [Step]
    /// Closing lines (result, release, registry, validation, time), or the queue line.
    public var summary: [RichText]
    /// "taken over by replica coxswain-2 (pid 1) after 31 s", when another runner finished it.
    public var handover: String?

    public init(
        jobID: Int64, planLine: String, requestedBy: String, reason: String?, state: JobState, steps: [Step], summary: [RichText],
        handover: String? = nil
    ) {
        self.jobID = jobID; self.planLine = planLine; self.requestedBy = requestedBy; self.reason = reason
        self.state = state; self.steps = steps; self.summary = summary; self.handover = handover
    }

    public var plainText: String {
        var lines = ["Job #\(jobID) · \(planLine) (\(state.words))", "requested by @\(requestedBy)" + (reason.map { " · reason: \($0)" } ?? "")
                + (handover.map { " · \($0)" } ?? "")]
        for step in steps {
            var line = "\(step.status?.symbol ?? "▫️") \(step.title)"
            if let ms = step.durationMilliseconds { line += " — \(DurationText.format(milliseconds: ms))" }
            if let note = step.note, !note.isEmpty { line += " · \(note)" }
            lines.append(line)
        }
        return (lines + summary.map(\.plainText)).joined(separator: "\n")
    }
}
