import ArgumentParser
import CoxswainCore
import CoxswainStore
import Foundation

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show jobs and their steps (the database is opened read-only).", subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent jobs, newest first.")
        @OptionGroup var options: ConfigOption
        @Option(help: "How many.") var limit: Int = 20
        @Flag(help: "Only break-glass jobs no approver has acknowledged yet.") var unacknowledged = false

        func run() async throws {
            let store = try await StoreAccess.open(options.config, forWriting: false)
            let jobs =
                unacknowledged
                ? try await store.stores.jobs.unacknowledgedEmergencies()
                : try await store.stores.jobs.recentJobs(release: nil, limit: max(1, limit))
            let rows: [[String]] = jobs.map { job in
                [
                    String(job.id), job.request.command, job.request.release, job.request.environment, job.state.rawValue,
                    job.plan?.shortText ?? "-", job.request.requestedBy, job.createdAt.iso8601,
                ]
            }
            print(TextTable.render(["ID", "COMMAND", "RELEASE", "ENV", "STATE", "PLAN", "BY", "CREATED"], rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job: its request, steps, outcome and audit entries.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "The job id, e.g. 12 or #12.") var id: String

        func run() async throws {
            guard let jobID = Int64(id.trimmingCharacters(in: CharacterSet(charactersIn: "#"))) else {
                throw CLIError("\"\(id)\" is not a job id; example: coxswain jobs show 12")
            }
            let store = try await StoreAccess.open(options.config, forWriting: false)
            guard let job = try await store.stores.jobs.job(id: jobID) else { throw CLIError("no job #\(jobID); `coxswain jobs list` shows recent ones") }
            let request = job.request
            print("Job #\(jobID): \(request.command) \(request.release) (\(request.environment), ns \(request.namespace))")
            print("state: \(job.state.rawValue)\(job.outcome.map { " — \($0)" } ?? "")")
            if request.emergency { print("break-glass: " + (job.acknowledgedBy.map { "acknowledged by \($0)" } ?? "NOT acknowledged")) }
            print(
                "requested by \(request.requestedBy) in \(request.channel.isEmpty ? request.platform : request.channel) at \(job.createdAt.iso8601)"
                    + (request.reason.map { ", reason: \($0)" } ?? ""))
            if !job.followers.isEmpty { print("followed by \(job.followers.joined(separator: ", "))") }
            if let plan = job.plan { print("plan: \(plan.shortText) (from \(plan.from.summary) to \(plan.to.summary))") }
            print("\nsteps:")
            for step in job.steps {
                print("  \(step.status.symbol) \(step.title)\(step.durationMilliseconds.map { " (\($0) ms)" } ?? "")\(step.note.map { " · \($0)" } ?? "")")
            }
            print("\nmessages:")
            let notices = try await store.stores.outbox.notices(jobID: jobID)
            if notices.isEmpty { print("  none kept (those of a finished job are deleted after `retention.notices`, 720h by default)") }
            for (notice, state, attempts) in notices {
                let first = notice.plainText.split(separator: "\n").first.map(String.init) ?? ""
                print("  \(state)\(attempts > 1 ? " after \(attempts) attempts" : "")  \(Self.placeName(notice.place))  \(first.prefix(100))")
            }
            print("\naudit:")
            for entry in try await store.stores.audit.entries(jobID: jobID) {
                print("  \(entry.at.iso8601)  \(entry.actor)  \(entry.event)  \(entry.detail)")
            }
        }

        static func placeName(_ place: Notice.Place) -> String {
            switch place {
            case .live: return "live message"
            case .thread: return "thread"
            case .approval(let round): return "approval request \(round)"
            case .person(let user): return "to \(user)"
            case .auditChannel: return "audit channel"
            case .jobChannel: return "job's channel"
            case .channel(let channel): return "channel \(channel)"
            }
        }
    }
}
