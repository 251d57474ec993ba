import CoxswainCore
import Foundation
import Logging

/// `/watch RELEASE [DURATION]`: the watch a change gets, asked for by someone who may read
/// the release. The answer is immediate; Prometheus is first asked by the watch service (the
/// webhook never waits for it), and the verdict goes to the channel it was asked in.
struct WatchRequests: Sendable {
    let configuration: CoxswainConfiguration
    let rollbackCommand: String?
    let watches: any WatchStore
    let health: any StoreHealth
    let now: @Sendable () -> Date
    let logger: Logger
    let policy: AccessPolicy
    let signal: WorkSignal
    let notifierSignal: WorkSignal

    func start(release name: String, duration: GoDuration?, origin: CommandOrigin) async -> RichText {
        guard let release = configuration.release(named: name) else {
            return "Coxswain does not know a release \(code: name); \(command: "releases") lists the ones you may read."
        }
        let decision = policy.decide(
            user: origin.user, groups: origin.groups, permission: .read, environment: release.environment, channel: origin.channel)
        if let refusal = decision.message { return refusal }
        guard configuration.prometheus != nil else {
            return "Coxswain cannot watch: its configuration has no \(code: "prometheus:") (the Prometheus that scrapes your models). "
                + "An administrator adds it; the README's \"After a change: the watch\" says how."
        }
        var watchPolicy = configuration.watchPolicy(release: release)
        if let duration {
            guard duration > watchPolicy.interval else {
                return "A watch must last longer than one reading (\(watchPolicy.interval)); got \(duration). Example: \(command: "watch \(name) 30m")"
            }
            watchPolicy.duration = duration
        }
        let now = self.now()
        var watch = ModelWatch(
            jobID: nil, kind: nil, release: release.name, environment: release.environment, namespace: release.namespace, model: release.model,
            revisionBefore: nil, startedAt: now, endsAt: now.addingTimeInterval(watchPolicy.duration.seconds), baselineP95: nil)
        watch.requestedBy = origin.user
        // A chat channel gets the verdict; the console has none, so the audit channel does.
        watch.channel = origin.channel == AccessPolicy.consoleChannel || origin.channel.isEmpty ? nil : origin.channel
        watch.needsBaseline = true
        let rollback = rollbackCommand ?? "/rollback"
        let (audit, notices) = WatchNarrator(policy: watchPolicy, rollbackCommand: rollback).started(watch)
        let watches = self.watches, first = watch
        do {
            let started = try await Persistence.webhook(logger).run("start watching \(name)") {
                try await watches.startWatch(first, audit: audit, notices: notices, now: now)
            }
            guard started != nil else { return "\(code: name) is already being watched; \(command: "jobs") shows until when." }
        } catch {
            return ChangeIntake.cannotRecord(error, health: health)
        }
        signal.signal()
        notifierSignal.signal()
        let place = watch.channel == nil ? "the audit channel" : "this channel"
        return "👀 Watching \(code: name) on Prometheus for \(watchPolicy.duration); the verdict follows in \(place)."
    }
}
