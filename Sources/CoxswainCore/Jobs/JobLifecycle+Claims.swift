import Foundation

/// A running job's claim: renewed while its runner works, taken over when the runner is gone.
extension JobLifecycle {
    /// Extends the claim (or, `shortening`, sets its end: after a change to the cluster, whose
    /// whole timeout it covered); nil when `runner` no longer holds it (the caller must stop).
    public func renewed(_ job: Job, by runner: RunnerIdentity, generation: Int, until expiry: Date, shortening: Bool = false, now: Date) -> JobChange? {
        guard job.holds(runner, generation: generation), var claim = job.claim else { return nil }
        var job = job
        claim.renewedAt = now
        claim.expiresAt = shortening ? expiry : max(claim.expiresAt, expiry)
        job.claim = claim
        return JobChange(job: job)
    }

    /// Another runner continues a running job whose runner is gone. The steps recorded so far
    /// stay: the new runner decides from them (and from the release) where to go on.
    public func takenOver(_ job: Job, by runner: RunnerIdentity, why: Abandonment, until expiry: Date, now: Date) -> JobChange {
        var job = job
        let previous = job.claim
        let silentFor = previous.map { max(0, Int(now.timeIntervalSince($0.renewedAt).rounded())) }
        let after = silentFor.map { " after \($0) s" } ?? ""
        job.handover = "taken over by \(runner.name)\(after)"
        job.runnerID = runner.id
        job.claim = RunnerClaim(generation: (previous?.generation ?? 0) + 1, runner: runner, renewedAt: now, expiresAt: expiry)
        let from = previous.map { "\($0.runner.name), generation \($0.generation)" } ?? "an earlier version"
        let audit = AuditDraft(
            actor: "coxswain", event: "job.taken_over",
            detail: "\(runner.name) took the job over from \(from)\(after) (\(why.words)); last completed step: \(job.lastCompletedStep ?? "none")")
        return JobChange(job: job, audit: [audit], notices: [narrator.progress(job)])
    }
}

extension Job {
    /// Whether `runner` still holds this job in `generation`: every write a runner makes checks it.
    public func holds(_ runner: RunnerIdentity, generation: Int) -> Bool {
        state == .running && claim?.runner.id == runner.id && claim?.generation == generation
    }
}
