import CoxswainCluster
import CoxswainCore
import Foundation

/// `capacity.check`: before anything changes, whether the rollout's extra pods fit on the GPUs
/// left. The verdict joins the plan, so the approver sees it; what happens when it does not
/// fit is the environment's `capacity.when_short` (stop by default).
extension RunbookActions {
    func capacity(job: Job, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        guard report.plan != nil else { return .failed("no plan was decided", hint: "the runbook must start with helm.history") }
        let whenShort = configuration.environments[release.environment]?.capacityWhenShort ?? .stop
        let resources = configuration.cluster.gpuResources
        let finding: CapacityPreflight.Finding
        let outputs: [ProcessOutput]
        do {
            (finding, outputs) = try await cluster.kubectl.capacity(
                release: release.name, deployment: release.kind == .deployment ? Self.deploymentName(release) : nil, namespace: release.namespace,
                resources: resources)
        } catch {
            // Unknown is not "fits": only an environment that goes ahead anyway, or break-glass, goes on.
            let why = "could not count free GPUs: \(error.message)"
            guard whenShort == .stop && !job.request.emergency else {
                let going = job.request.emergency ? "break-glass" : "when_short: \(whenShort)"
                return .succeeded("not checked (\(error.message))", audit: "capacity: \(why); going on (\(going))")
            }
            return clusterFailure(
                error,
                hint: "Coxswain lists nodes and the pods on them to count free GPUs (the chart's ClusterRole grants it: "
                    + "\(code: "kubectl auth can-i list nodes")). Nothing was changed. Break-glass (\(code: "--emergency")) is not stopped by this check.")
        }
        report.deploymentsJSON = outputs.first.map { Data($0.stdout.utf8) }
        let detail = [StepResult.Detail("capacity", outputs.map(\.commandLine).joined(separator: "\n"))]
        guard case .verdict(let verdict) = finding else {
            return .succeeded("no GPUs requested", audit: "capacity: the release's pods request none of \(resources.joined(separator: ", "))", details: detail)
        }
        let plan = CapacityPlan(verdict: verdict, whenShort: whenShort)
        report.plan?.capacity = plan
        guard !verdict.fits, whenShort == .stop, !job.request.emergency else {
            return .succeeded(plan.text, audit: "capacity: \(plan.text)", details: detail)
        }
        let key = "environments.\(release.environment).capacity.when_short"
        return .failed(
            "the rollout will not fit: \(verdict.text); nothing was changed", hint: Self.shortHint(verdict, key: key), note: "will not fit",
            details: detail, audit: "capacity: \(plan.text); stopped (when_short: stop)")
    }

    static func shortHint(_ verdict: CapacityVerdict, key: String) -> RichText {
        let missing = verdict.surgePods - verdict.podsThatFit
        return "Make room for \(missing) more pod\(missing == 1 ? "" : "s") of \(verdict.perPod) (scale down another model, or add a node), then run it again. "
            + "Or let the environment decide: \(code: "\(key): neutral") replaces one pod at a time with no extra GPU "
            + "(\(verdict.neutralCost)); \(code: "proceed") goes ahead and the new pods wait Pending until GPUs free up."
    }
}

/// A capacity-neutral change (`capacity.when_short: neutral` on a rollout that does not fit):
/// no extra pod is ever asked for, so none waits `Pending` for a GPU.
extension RunbookActions {
    /// Pauses the Deployment with maxSurge 0 / maxUnavailable 1 (a plain Deployment is not
    /// paused: `kubectl rollout undo` refuses a paused one), runs `change` (helm without its own
    /// wait: a paused Deployment never becomes ready), resumes it with that strategy again (helm
    /// may have applied the chart's), follows `kubectl rollout status` while the pods are
    /// replaced one at a time, then puts the strategy back as it was written. A rollout that
    /// does not finish keeps the neutral strategy, so nothing asks for a GPU afterwards; the
    /// failure says how to put it back.
    func neutrally(
        _ capacity: CapacityPlan, release: CoxswainConfiguration.Release, timeout: GoDuration, report: inout RunReport, following: RolloutObserver,
        what: String, hint: (ClusterFailure) -> RichText?, change: @escaping @Sendable () async -> Result<ProcessOutput, ClusterFailure>
    ) async -> StepResult {
        let kubectl = cluster.kubectl, name = capacity.verdict.deployment, ns = release.namespace
        let pause = release.kind != .deployment
        var outputs: [ProcessOutput] = []
        do throws(ClusterFailure) {
            outputs.append(try await kubectl.patchDeployment(name, namespace: ns, patch: CapacityVerdict.neutralPatch(paused: pause)))
        } catch {
            return clusterFailure(error, hint: "Nothing was changed: the Deployment could not be set to roll out one pod at a time.")
        }
        report.podsBefore = await following.podNames()
        switch await change() {
        case .failure(let error):
            // The change did not happen: the Deployment goes back to how it was.
            _ = try? await kubectl.patchDeployment(name, namespace: ns, patch: CapacityVerdict.neutralPatch(paused: false))
            _ = try? await kubectl.patchDeployment(name, namespace: ns, patch: capacity.verdict.restoringPatch)
            return clusterFailure(error, hint: hint(error))
        case .success(let output):
            outputs.append(output)
        }
        report.releaseChanged = true
        let putBack: RichText =
            "The Deployment keeps maxSurge 0 / maxUnavailable 1 so that nothing waits for a GPU; once it is healthy, "
            + "\(code: "kubectl patch deployment \(name) -n \(ns) --type merge -p '\(capacity.verdict.restoringPatch)'") puts its strategy back."
        do throws(ClusterFailure) {
            if pause { outputs.append(try await kubectl.patchDeployment(name, namespace: ns, patch: CapacityVerdict.neutralPatch(paused: false))) }
        } catch {
            return clusterFailure(
                error, hint: "The change is made but the Deployment is still paused: \(code: "kubectl rollout resume deployment/\(name) -n \(ns)"). " + putBack)
        }
        let outcome = await following.following(interrupting: true, old: report.podsBefore) { () async -> Result<ProcessOutput, ClusterFailure> in
            do throws(ClusterFailure) {
                return .success(try await kubectl.rolloutStatus(deployment: name, namespace: ns, timeout: timeout))
            } catch { return .failure(error) }
        }
        switch outcome.value {
        case .failure(let error):
            let podHint = outcome.stuck.map { Troubleshooting.hint(forPodProblem: $0.problem, release: release.name, namespace: ns) + " " }
            var result = clusterFailure(error, hint: (podHint ?? "") + putBack)
            if let stuck = outcome.stuck { result.failure?.what = "the one-pod-at-a-time rollout stopped: \(stuck.what)" }
            return result
        case .success(let output):
            outputs.append(output)
        }
        var note = "\(what), one pod at a time (capacity-neutral)"
        do throws(ClusterFailure) {
            outputs.append(try await kubectl.patchDeployment(name, namespace: ns, patch: capacity.verdict.restoringPatch))
        } catch {
            note += "; its strategy could not be put back"
        }
        return .succeeded(
            note, audit: outputs.map { "\($0.commandLine): exit 0" }.joined(separator: "; "),
            details: [.init("capacity-neutral rollout", outputs.map { Self.excerpt($0) }.joined(separator: "\n\n"))])
    }
}
