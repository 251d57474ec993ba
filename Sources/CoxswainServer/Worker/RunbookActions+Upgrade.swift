import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainCluster

/// The upgrade runbook's own actions: release channels, the promotion gate, the chart
/// check and `helm upgrade` itself, with the seed's troubleshooting for each helm text.
extension RunbookActions {
    func versionPolicy(job: Job, release: CoxswainConfiguration.Release) -> StepResult {
        guard let version = job.request.version.flatMap(UpgradeVersion.init(parsing:)) else {
            return .failed("the job carries no usable version", hint: nil)
        }
        let accepted =
            configuration.environments[release.environment]?.releaseChannels ?? ReleaseChannel.defaults(forEnvironment: release.environment)
        guard accepted.contains(version.channel) else {
            let list = ReleaseChannel.allCases.filter(accepted.contains).map(\.rawValue).joined(separator: ", ")
            return .failed(
                "`\(version.raw)` is a \(version.channel.rawValue) build; `\(release.environment)` accepts \(list) only.",
                hint:
                    "Use a versioned tag (immutable) such as `0.3.0`: find the newest on the project's GitHub Releases page, or list chart versions "
                    + "with `oras repo tags \(release.chart?.replacingOccurrences(of: "oci://", with: "") ?? "CHART")`.",
                note: "\(version.channel.rawValue) refused",
                audit: "version \(version.raw) (\(version.channel.rawValue)) refused in \(release.environment): accepts \(list)")
        }
        return .succeeded(
            "\(version.raw): \(version.channel.rawValue)", audit: "version \(version.raw) is \(version.channel.rawValue), accepted in \(release.environment)")
    }

    func promotionGate(job: Job, release: CoxswainConfiguration.Release) async -> StepResult {
        let configuration = configuration
        guard let after = configuration.environments[release.environment]?.promotionAfter else {
            return .succeeded("no gate in \(release.environment)", audit: "\(release.environment) has no promotion gate")
        }
        guard let version = job.request.version.flatMap(UpgradeVersion.init(parsing:)) else { return .failed("the job carries no usable version", hint: nil) }
        let missing = await promotionProblem(version: version, model: release.model, previous: after)
        guard let missing else {
            return .succeeded("\(version.display) validated in \(after)", audit: "promotion gate passed: \(version.display) deployed and validated in \(after)")
        }
        if job.request.overridePromotion {
            return .succeeded(
                "overridden by \(job.request.requestedBy)",
                audit: "promotion gate overridden by \(job.request.requestedBy): \(job.request.reason ?? "") (was: \(missing))")
        }
        return .failed(
            "promotion gate: \(missing)",
            hint:
                "Upgrade `\(after)` first with `/upgrade RELEASE \(version.raw)` and let it validate; an approver may override with "
                + "`--override-promotion REASON`.",
            note: "not promoted", audit: "promotion gate refused: \(missing)")
    }

    /// What is missing before `version` may go past `previous`, or nil when nothing is.
    private func promotionProblem(version: UpgradeVersion, model: String, previous: String) async -> String? {
        guard let source = configuration.releases.values.first(where: { $0.model == model && $0.environment == previous }) else {
            return "no release of `\(model)` is configured in `\(previous)` to promote from"
        }
        do {
            let current = try await cluster.helm.metadata(release: source.name, namespace: source.namespace)
            guard current.version == version.display, current.status == "deployed" else {
                return "`\(source.name)` in \(previous) runs chart version \(current.version) (\(current.status)), not \(version.display)"
            }
        } catch {
            return "could not read `\(source.name)` in \(previous): \(error.message)"
        }
        do {
            guard try await jobs.validatedUpgrade(release: source.name, version: version.display) != nil else {
                return "no Coxswain job validated \(version.display) on `\(source.name)` in \(previous)"
            }
        } catch {
            return "could not read from Coxswain's database whether a job validated \(version.display) on `\(source.name)` in \(previous): \(error)"
        }
        return nil
    }

    func chartExists(_ step: RunbookStep, job: Job, release: CoxswainConfiguration.Release) async -> StepResult {
        guard let chart = release.chart else {
            return .failed(
                "`\(release.name)` has no `chart:` in the configuration",
                hint: "Add the chart reference, e.g. chart: oci://ghcr.io/vllm-project/charts/semantic-router")
        }
        guard let version = job.request.version.flatMap(UpgradeVersion.init(parsing:)) else { return .failed("the job carries no usable version", hint: nil) }
        do {
            let output = try await cluster.helm.showChart(chart, version: version.chartVersion, timeout: step.timeout ?? GoDuration(milliseconds: 60_000))
            let appVersion = output.stdout.split(separator: "\n").first { $0.hasPrefix("appVersion:") }.map {
                $0.dropFirst("appVersion:".count).trimmingCharacters(in: .whitespaces)
            }
            return .succeeded("\(chart) \(version.display)\(appVersion.map { ", app \($0)" } ?? "")", audit: "\(output.commandLine): exit 0")
        } catch {
            if error.kind == .chartNotFound {
                return .failed(
                    "chart version not found: \(chart) has no version \(version.display) (\(error.message))",
                    hint:
                        "Check it exists: `helm show chart \(chart) --version \(version.display)`; list versions with `oras repo tags "
                        + "\(chart.replacingOccurrences(of: "oci://", with: ""))`. The release is untouched.",
                    note: "version not found", audit: "\(error.output?.commandLine ?? "helm show chart"): \(error.message)")
            }
            return clusterFailure(error, hint: "helm could not read the chart; the release is untouched.")
        }
    }

    func upgrade(
        _ step: RunbookStep, job: Job, release: CoxswainConfiguration.Release, report: inout RunReport, following: RolloutObserver
    ) async -> StepResult {
        guard let chart = release.chart, let version = job.request.version.flatMap(UpgradeVersion.init(parsing:)) else {
            return .failed("no chart or version to upgrade to", hint: nil)
        }
        report.upgradeStarted = true
        let helm = cluster.helm, timeout = step.timeout ?? GoDuration(milliseconds: 600_000)
        if let capacity = report.plan?.capacity, capacity.rollsOutNeutral {
            let back: RichText = report.lastGoodRevision.map { "roll back with \(code: "rollback \(release.name) \($0.revision)")" } ?? "roll back"
            return await neutrally(
                capacity, release: release, timeout: timeout, report: &report, following: following, what: "to \(version.display)",
                hint: { $0.accessHint(context: context) ?? "If the release is in a broken state, " + back + "." }
            ) { () async -> Result<ProcessOutput, ClusterFailure> in
                do throws(ClusterFailure) {
                    return .success(
                        try await helm.upgrade(
                            release: release.name, chart: chart, version: version.chartVersion, namespace: release.namespace,
                            valuesFiles: release.valuesFiles, timeout: timeout, wait: false))
                } catch { return .failure(error) }
            }
        }
        // helm upgrade stops cleanly on SIGTERM (it records the new revision failed), so a rollout that
        // cannot succeed ends as soon as the pods show it.
        report.podsBefore = await following.podNames()
        let outcome = await following.following(interrupting: true, old: report.podsBefore) { () async -> Result<ProcessOutput, ClusterFailure> in
            do throws(ClusterFailure) {
                return .success(
                    try await helm.upgrade(
                        release: release.name, chart: chart, version: version.chartVersion, namespace: release.namespace,
                        valuesFiles: release.valuesFiles, timeout: timeout))
            } catch { return .failure(error) }
        }
        let ns = release.namespace, name = release.name
        let back: RichText = report.lastGoodRevision.map { "\(command: "rollback \(name) \($0.revision)")" } ?? "a rollback"
        // helm that finished anyway (the pods recovered as it was stopped) has the last word.
        if let stuck = outcome.stuck, let stopped = outcome.value.failureOutput {
            return .failed(
                "stopped helm upgrade before its \(timeout) timeout: \(stuck.what)",
                hint: Troubleshooting.hint(forPodProblem: stuck.problem, release: name, namespace: ns)
                    + " helm marked the new revision failed; roll back while it is fixed: " + back + ".",
                note: "ended early: \(stuck.problem)", details: [.init("helm output", Self.excerpt(stopped))],
                audit: "\(stopped.commandLine) stopped: \(stuck.what)")
        }
        do throws(ClusterFailure) {
            let output = try outcome.value.get()
            return .succeeded("to \(version.display)", audit: "\(output.commandLine): exit 0", details: [.init("helm output", Self.excerpt(output))])
        } catch {
            let hint: RichText
            switch error.kind {
            case .operationInProgress:
                hint =
                    "Another helm operation left \(code: name) in a pending state. A rollback clears it: " + back
                    + " (or the button below), then upgrade again."
            case .noDeployedReleases:
                hint =
                    "\(code: name) has no deployed revision to upgrade (the first install failed?). Check \(code: "helm history \(name) -n \(ns)"); "
                    + "the way back is a fresh \(code: "helm install") of the last known good version."
            case .timedOut:
                hint =
                    "helm marked the new revision failed after \(code: "--wait") ran out (context deadline exceeded). Check pods with "
                    + "\(code: "kubectl describe pod POD -n \(ns)") (ImagePullBackOff: the tag may not exist yet) and roll back while it is fixed: " + back
                    + "."
            case .chartNotFound:
                hint = "helm could not fetch \(chart) version \(version.display): check \(code: "helm show chart \(chart) --version \(version.display)")."
            default:
                hint = "If the release is in a broken state, roll it back with validation: " + back + " (the button below does the same)."
            }
            let result = clusterFailure(error, hint: hint)
            return error.kind == .timedOut ? await withPodState(result, release: release) : result
        }
    }
}

extension Result where Failure == ClusterFailure {
    /// What the program printed when it failed.
    var failureOutput: ProcessOutput? {
        if case .failure(let failure) = self { return failure.output }
        return nil
    }
}
