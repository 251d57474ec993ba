import CoxswainCluster
import CoxswainCore
import Foundation

/// What each runbook action does against the cluster, the model endpoint and the registry.
/// Each returns a `StepResult`; none throws, because every failure is something to report.
/// Registry changes are returned, not made: the store commits them with the step's result.
struct RunbookActions: Sendable {
    let configuration: CoxswainConfiguration
    let cluster: ClusterTools
    let probe: ModelEndpointProbe
    let jobs: any JobStore
    let registry: any RegistryStore

    var context: String? { configuration.cluster.kubeContext }

    /// - Parameter progress: hears how a wait for pods is going, for the running step's line.
    func perform(
        _ step: RunbookStep, job: Job, release: CoxswainConfiguration.Release, report: inout RunReport, progress: @escaping StepProgress = { _ in }
    ) async -> StepResult {
        let following = observer(step, release: release, progress: progress)
        switch step.action {
        case .helmHistory: return await history(step, job: job, release: release, report: &report)
        case .confirm: return confirm(job: job, release: release, report: report)
        case .registryDisable:
            return await withSyncSuspended(job: job, release: release, report: &report) { report in
                registry(.disabled, job: job, release: release, report: &report)
            }
        case .helmRollback:
            return await withSyncSuspended(job: job, release: release, report: &report) { report in
                var result = await rollback(step, emergency: job.request.emergency, release: release, report: &report, following: following)
                if result.status == .succeeded, let reason = job.request.reason { await annotate(reason: reason, job: job, release: release, result: &result) }
                return result
            }
        case .podsWait: return await waitForPods(step, emergency: job.request.emergency, release: release, report: &report, following: following)
        case .probeHealth: return await health(step, emergency: job.request.emergency, release: release, report: &report)
        case .probeModels: return await servedModel(step, release: release, report: &report)
        case .probeCompletion: return await completion(step, release: release, report: &report)
        case .registryEnable: return registry(.ready, job: job, release: release, report: &report)
        case .verify: return await verify(release: release, report: &report)
        case .versionPolicy: return versionPolicy(job: job, release: release)
        case .promotionGate: return await promotionGate(job: job, release: release)
        case .chartExists: return await chartExists(step, job: job, release: release)
        case .capacityCheck: return await capacity(job: job, release: release, report: &report)
        case .gitopsCheck: return await gitops(job: job, release: release, report: &report)
        case .helmUpgrade:
            return await withSyncSuspended(job: job, release: release, report: &report) { report in
                await upgrade(step, job: job, release: release, report: &report, following: following)
            }
        }
    }

    private func history(_ step: RunbookStep, job: Job, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        let revisions: [HelmRevision]
        let output: ProcessOutput
        do {
            if release.kind == .deployment {
                (revisions, output) = try await cluster.kubectl.rolloutHistory(deployment: Self.deploymentName(release), namespace: release.namespace)
            } else {
                (revisions, output) = try await cluster.helm.history(release: release.name, namespace: release.namespace, max: step.max ?? 20)
            }
        } catch {
            if error.kind == .releaseNotFound {
                let hint = Troubleshooting.releaseNotFound(
                    release: release.name, namespace: release.namespace, known: Array(configuration.releases.keys))
                return .failed(
                    "helm says: \(error.message)", hint: hint, details: error.output.map { [.init("helm output", Self.excerpt($0))] } ?? [],
                    audit: "\(error.output?.commandLine ?? "helm history"): \(error.message)")
            }
            return clusterFailure(error, hint: Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace))
        }
        let table = Self.historyTable(revisions)
        let oldest = revisions.map(\.revision).min() ?? 0
        // Without this list the planner could pick a revision a rollback left: a read that fails ends the step.
        let coxswainRollbacks: Set<Int>
        do {
            coxswainRollbacks = try await jobs.revisionsRolledBackFrom(release: release.name, since: oldest)
        } catch {
            return Self.storeReadFailed("which revisions earlier rollbacks left", error, details: [.init("helm history", table)])
        }
        let decided: Result<RollbackPlan, RollbackRefusal>
        if job.request.kind == .upgrade, let version = job.request.version.flatMap(UpgradeVersion.init(parsing:)) {
            if let current = revisions.max(by: { $0.revision < $1.revision }) {
                report.lastGoodRevision =
                    ["deployed", "superseded"].contains(current.status)
                    ? current
                    : RollbackPlanner.lastGood(revisions, before: current, rolledBackFrom: coxswainRollbacks)
            }
            decided = UpgradePlanner.plan(release: release.name, history: revisions, chartName: Self.chartName(release), version: version)
        } else {
            do {
                if let moved = try await basisCheck(job, revisions: revisions) { report.basis = moved }
            } catch {
                return Self.storeReadFailed("which jobs made the release's recent revisions", error, details: [.init("helm history", table)])
            }
            let passedWatch: [Int: Int64]
            do {
                passedWatch = job.request.revision == nil ? try await jobs.revisionsThatPassedAWatch(release: release.name, since: oldest) : [:]
            } catch {
                return Self.storeReadFailed("which revisions passed a watch", error, details: [.init("helm history", table)])
            }
            decided = RollbackPlanner.plan(
                release: release.name, history: revisions, requested: job.request.revision, rolledBackFrom: coxswainRollbacks, passedWatch: passedWatch)
        }
        switch decided {
        case .failure(let refusal):
            if report.basis != nil {
                // The release moved and no plan is left: say so rather than refuse.
                return .succeeded("no plan left", audit: "\(output.commandLine): \(refusal.message)", details: [.init("helm history", table)])
            }
            return .failed(
                refusal.message, hint: nil, note: "refused", details: [.init("helm history", table)], audit: "\(output.commandLine): \(refusal.message)")
        case .success(let plan):
            report.plan = plan
            return .succeeded(
                plan.shortText, audit: "\(output.commandLine): \(revisions.count) revisions; plan \(plan.shortText)",
                details: [.init("helm history", table)])
        }
    }

    /// A queued rollback runs against the release the requester saw. When it has moved since,
    /// the job does not plan anew on its own: if Coxswain already rolled it back from there,
    /// there is nothing to do; otherwise the requester confirms the new plan.
    private func basisCheck(_ job: Job, revisions: [HelmRevision]) async throws -> BasisCheck? {
        guard let basis = job.basisRevision, let current = revisions.max(by: { $0.revision < $1.revision }), current.revision != basis else { return nil }
        let oldest = min(basis, revisions.map(\.revision).min() ?? basis)
        let byRevision = try await jobs.jobsByCreatedRevision(release: job.request.release, since: oldest)
        if let other = byRevision[basis + 1], other.id != job.id, other.request.kind == .rollback, other.plan?.from.revision == basis,
            job.request.revision == nil || job.request.revision == other.plan?.to.revision
        {
            return .alreadyDone(by: other.id, current: current)
        }
        let who = byRevision[current.revision].map { "by Coxswain job #\($0.id)" } ?? "not by Coxswain"
        return .moved(why: "\(job.request.release) moved from revision \(basis) to \(current.revision) since you asked (\(who)).")
    }

    /// A read of Coxswain's own records that the plan depends on failed: nothing has changed
    /// yet, and a plan made without it could be wrong, so the step ends here.
    static func storeReadFailed(_ what: String, _ error: any Error, details: [StepResult.Detail] = []) -> StepResult {
        .failed(
            "could not read \(what) from Coxswain's database (\(error)); nothing was changed",
            hint: "a plan made without it could pick the wrong revision; run the command again once \(code: "/readyz") answers ready",
            details: details, audit: "store read failed: \(what): \(error)")
    }

    func confirm(job: Job, release: CoxswainConfiguration.Release, report: RunReport) -> StepResult {
        guard let plan = report.plan else { return .failed("no plan was decided", hint: "the runbook must start with helm.history") }
        let line = "\(job.request.verb) \(release.name) (\(release.environment), ns \(release.namespace)): \(plan.shortText)"
        let why = (plan.rule.map { "; target: \($0.text)" } ?? "") + (plan.capacity.map { "; GPUs: \($0.text)" } ?? "")
            + (plan.gitops.map { "; GitOps: \($0.text)" } ?? "")
        var result = StepResult.succeeded("from \(plan.from.summary) to \(plan.to.summary)\(why)", audit: "plan confirmed: \(line)\(why)")
        result.requesterNote = "Job #\(job.id) plan: \(line) — from \(plan.from.summary) to \(plan.to.summary)\(why)."
        return result
    }

    static func chartName(_ release: CoxswainConfiguration.Release) -> String {
        release.chart.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? release.name
    }

    private func registry(_ status: RegistryStatus, job: Job, release: CoxswainConfiguration.Release, report: inout RunReport) -> StepResult {
        report.registryDisabled = status == .disabled
        let word = status == .disabled ? "disabled" : "ready"
        var result = StepResult.succeeded(
            "\(release.model) \(word) in \(release.environment)", audit: "registry: \(release.model) in \(release.environment) -> \(word)")
        result.registry = RegistryUpdate(
            model: release.model, environment: release.environment, status: status,
            reason: "job #\(job.id) \(job.request.command) \(release.name)")
        return result
    }

    func observer(_ step: RunbookStep, release: CoxswainConfiguration.Release, progress: @escaping StepProgress) -> RolloutObserver {
        RolloutObserver(
            kubectl: cluster.kubectl, release: release, interval: max(.seconds(1), configuration.slack.editInterval.duration),
            unschedulableGrace: step.unschedulableGrace, progress: progress)
    }

    private func rollback(
        _ step: RunbookStep, emergency: Bool, release: CoxswainConfiguration.Release, report: inout RunReport, following: RolloutObserver
    ) async -> StepResult {
        guard let plan = report.plan else { return .failed("no plan was decided", hint: "the runbook must start with helm.history") }
        let retry = Troubleshooting.retryRollback(release: release.name, namespace: release.namespace, revision: plan.to.revision)
        if let capacity = plan.capacity, capacity.rollsOutNeutral, !emergency {
            let helm = cluster.helm, kubectl = cluster.kubectl, deployment = Self.deploymentName(release), revision = plan.to.revision
            return await neutrally(
                capacity, release: release, timeout: step.timeout ?? GoDuration(milliseconds: 600_000), report: &report, following: following,
                what: "to revision \(revision)", hint: { $0.accessHint(context: context) ?? retry }
            ) { [kind = release.kind] () async -> Result<ProcessOutput, ClusterFailure> in
                do throws(ClusterFailure) {
                    if kind == .deployment {
                        return .success(try await kubectl.rolloutUndo(deployment: deployment, namespace: release.namespace, toRevision: revision))
                    }
                    return .success(try await helm.rollback(release: release.name, revision: revision, namespace: release.namespace, wait: nil))
                } catch { return .failure(error) }
            }
        }
        if release.kind == .deployment {
            report.podsBefore = await following.podNames()
            return await rolloutUndo(release: release, plan: plan, report: &report)
        }
        // Break-glass does not wait inside helm: the next steps watch pods and health.
        let wait = emergency ? nil : (step.timeout ?? GoDuration(milliseconds: 600_000))
        let helm = cluster.helm, revision = plan.to.revision
        let call = { @Sendable () async -> Result<ProcessOutput, ClusterFailure> in
            do throws(ClusterFailure) {
                return .success(try await helm.rollback(release: release.name, revision: revision, namespace: release.namespace, wait: wait))
            } catch { return .failure(error) }
        }
        // helm rollback does not stop cleanly part-way (it has no signal handling: the revision would stay
        // pending-rollback), so its wait is followed and shown, never interrupted.
        report.podsBefore = await following.podNames()
        let outcome: RolloutObserver.Outcome<Result<ProcessOutput, ClusterFailure>>
        if wait == nil {
            outcome = .init(value: await call(), stuck: nil)
        } else {
            outcome = await following.following(interrupting: false, old: report.podsBefore, call)
        }
        do throws(ClusterFailure) {
            let output = try outcome.value.get()
            report.releaseChanged = true
            return .succeeded("to revision \(plan.to.revision)", audit: "\(output.commandLine): exit 0", details: [.init("helm output", Self.excerpt(output))])
        } catch {
            let hint: RichText
            switch error.kind {
            case .timedOut:
                hint =
                    Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace)
                    + " A failed \(code: "--wait") leaves the new revision marked failed. " + retry
            case .revisionMissing:
                hint = "The revision disappeared from the history meanwhile: \(code: "helm history \(release.name) -n \(release.namespace)")."
            default: hint = error.accessHint(context: context) ?? retry
            }
            var result = clusterFailure(error, hint: hint)
            if let stuck = outcome.stuck { result.failure?.what += " — \(stuck.what)" }
            return error.kind == .timedOut ? await withPodState(result, release: release) : result
        }
    }

    /// Records the reason on the release's Deployments (the seed's `helm annotate` step). A
    /// failure here is reported but does not fail the rollback that already happened.
    private func annotate(reason: String, job: Job, release: CoxswainConfiguration.Release, result: inout StepResult) async {
        let value = "\(reason) (coxswain job #\(job.id) by \(job.request.requestedBy))"
        do {
            let output = try await cluster.kubectl.annotateDeployments(
                release: release.name, namespace: release.namespace,
                key: "coxswain.dev/rollback-reason", value: value)
            result.auditDetail += "; \(output.commandLine): exit 0"
        } catch {
            result.note = (result.note ?? "") + " (reason annotation failed)"
            result.details.append(.init("kubectl annotate", error.message))
            result.auditDetail += "; annotate failed: \(error.message)"
        }
    }

    // MARK: helpers

    func clusterFailure(_ error: ClusterFailure, hint: RichText?) -> StepResult {
        let details = error.output.map { [StepResult.Detail("\($0.argv.first ?? "") output", Self.excerpt($0))] } ?? []
        return .failed(
            error.message, hint: error.accessHint(context: context) ?? hint, details: details,
            audit: "\(error.output?.commandLine ?? "call"): \(error.message)")
    }

    static func excerpt(_ output: ProcessOutput) -> String {
        let text = [output.stdout, output.stderr].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }.joined(separator: "\n")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.count > 30 ? lines.suffix(30) : lines[...]
        return "$ \(output.commandLine)\n" + kept.joined(separator: "\n")
    }

    static func historyTable(_ revisions: [HelmRevision]) -> String {
        var lines = ["REVISION  STATUS      CHART  APP VERSION  DESCRIPTION"]
        for revision in revisions.sorted(by: { $0.revision > $1.revision }) {
            lines.append("\(revision.revision)  \(revision.status)  \(revision.chart)  \(revision.appVersion)  \(revision.description)")
        }
        return lines.joined(separator: "\n")
    }
}
