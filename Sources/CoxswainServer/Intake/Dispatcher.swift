import CoxswainCore
import Foundation

/// The one way in for commands from every front end (Slack slash commands and buttons, the
/// console): parse, check who may, act, answer. Front ends only verify, decode and encode.
struct Dispatcher: Sendable {
    let configuration: CoxswainConfiguration
    let catalog: CommandCatalog
    let policy: AccessPolicy
    let intake: ChangeIntake
    let decisions: JobDecisions
    let queries: ReadOnlyQueries
    let watches: WatchRequests
    let resumptions: SyncResumption

    /// A typed command: `verb` and its text, as `invoked` names it.
    func dispatch(verb: String, text: String, invoked: String, style: CommandCatalog.Style, from origin: CommandOrigin) async -> DispatchReply {
        switch catalog.parse(verb: verb, text: text, invoked: invoked, style: style) {
        case .failure(let error): return .text(RichText(error.message))
        case .success(let command): return await dispatch(command, from: origin)
        }
    }

    /// A parsed command, or a button that stands for one (`shownPlanKey`: the plan it showed).
    func dispatch(_ command: ParsedCommand, from origin: CommandOrigin, shownPlanKey: String? = nil) async -> DispatchReply {
        switch command {
        case .help(let text): return .text(RichText(text))
        case .change(let change):
            let answer = await intake.accept(change, from: origin)
            return .text(answer.text, jobID: answer.jobID)
        case .approve(let id): return .text(await decisions.decide(.approve, jobID: id, origin: origin, shownPlanKey: shownPlanKey), jobID: id)
        case .deny(let id, let reason):
            return .text(await decisions.decide(.deny(reason: reason), jobID: id, origin: origin, shownPlanKey: shownPlanKey), jobID: id)
        case .confirm(let id): return .text(await decisions.decide(.confirm, jobID: id, origin: origin, shownPlanKey: shownPlanKey), jobID: id)
        case .cancel(let id): return .text(await decisions.decide(.cancel, jobID: id, origin: origin, shownPlanKey: nil), jobID: id)
        case .acknowledge(let id): return .text(await decisions.decide(.acknowledge, jobID: id, origin: origin, shownPlanKey: nil), jobID: id)
        case .watch(let release, let duration): return .text(await watches.start(release: release, duration: duration, origin: origin))
        case .query(let query, let isPublic):
            if let refusal = authorize(query, origin: origin) { return .text(refusal) }
            // Questions the database answers are answered now; the cluster's when it can.
            guard query.needsCluster else { return .text(await queries.answer(query, readable: readable(origin)), inChannel: isPublic, jobID: nil) }
            return .deferred(.query(query, public: isPublic))
        case .resumeSync(let release, let force):
            guard let environment = configuration.release(named: release)?.environment else {
                return .text("Coxswain does not know a release \(code: release); \(command: "releases") lists the ones you may read.")
            }
            // Sync back on may put back what Git says: as much a change as the rollback it follows.
            let decision = policy.decide(
                user: origin.user, groups: origin.groups, permission: .rollback, environment: environment, channel: origin.channel)
            if let refusal = decision.message { return .text(refusal) }
            return .deferred(.resumeSync(release: release, force: force))
        }
    }

    /// Does what a front end deferred and says how it went: a question's answer, or what became
    /// of a resumed sync (recorded, with the channel's notice at `place`).
    func perform(_ work: DeferredWork, origin: CommandOrigin, place: Notice.Place?) async -> DeferredAnswer {
        switch work {
        case .query(let query, _): return DeferredAnswer(text: await queries.answer(query, readable: readable(origin)))
        case .resumeSync(let release, let force): return await resumptions.run(release: release, force: force, user: origin.user, place: place)
        }
    }

    /// Environments whose jobs and releases this person may read.
    func readable(_ origin: CommandOrigin) -> Set<String> {
        Set(
            configuration.environments.keys.filter {
                policy.decide(user: origin.user, groups: origin.groups, permission: .read, environment: $0, channel: origin.channel).isAllowed
            })
    }

    /// Read-only questions need the read grant where they look (every role grants it in its
    /// environments unless the environment asks for an explicit grant).
    private func authorize(_ query: Query, origin: CommandOrigin) -> RichText? {
        let environment: String?
        switch query {
        case .history(let release), .status(let release): environment = configuration.release(named: release)?.environment
        case .jobs(let release): environment = release.flatMap { configuration.release(named: $0)?.environment }
        case .releases(let env): environment = env.flatMap { configuration.environments[$0] != nil ? $0 : nil }
        }
        if let environment {
            let decision = policy.decide(user: origin.user, groups: origin.groups, permission: .read, environment: environment, channel: origin.channel)
            return decision.message
        }
        // Unknown names are answered by the query itself; nothing to read there.
        if readable(origin).isEmpty {
            return "You (\(user: origin.user)) may not read any environment: you hold no Coxswain role. An administrator grants roles in the configuration."
        }
        return nil
    }
}
