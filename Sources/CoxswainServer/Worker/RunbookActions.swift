import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainCluster

/// What each runbook action does against the cluster, the model endpoint and the registry.
/// Each returns a `StepOutcome`; none throws, because every failure is something to report.
struct RunbookActions: Sendable {
    let dependencies: ServerDependencies
    let probe = ModelEndpointProbe()

    func perform(_ step: RunbookStep, job: JobRecord, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        switch step.action {
        case .helmHistory: return await history(step, job: job, release: release, state: &state)
        case .confirm: return confirm(job: job, release: release, state: state)
        case .registryDisable: return await setRegistry(.disabled, job: job, release: release, state: &state)
        case .helmRollback:
            var outcome = await rollback(step, emergency: job.emergency, release: release, state: state)
            if outcome.status == .succeeded, let reason = job.reason { await annotate(reason: reason, job: job, release: release, outcome: &outcome) }
            return outcome
        case .podsWait: return await waitForPods(step, emergency: job.emergency, release: release, state: &state)
        case .probeHealth: return await health(step, emergency: job.emergency, release: release, state: &state)
        case .probeCompletion: return await completion(step, release: release, state: &state)
        case .registryEnable: return await setRegistry(.ready, job: job, release: release, state: &state)
        case .verify: return await verify(release: release, state: &state)
        case .versionPolicy: return versionPolicy(job: job, release: release)
        case .promotionGate: return await promotionGate(job: job, release: release)
        case .chartExists: return await chartExists(step, job: job, release: release)
        case .helmUpgrade: return await upgrade(step, job: job, release: release, state: &state)
        }
    }

    private func history(_ step: RunbookStep, job: JobRecord, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        let revisions: [HelmRevision]
        let output: ProcessOutput
        do {
            if release.kind == .deployment {
                (revisions, output) = try await dependencies.kubectl.rolloutHistory(deployment: Self.deploymentName(release), namespace: release.namespace)
            } else {
                (revisions, output) = try await dependencies.helm.history(release: release.name, namespace: release.namespace, max: step.max ?? 20)
            }
        } catch {
            if error.kind == .releaseNotFound {
                let hint = Troubleshooting.releaseNotFound(release: release.name, namespace: release.namespace, known: Array(dependencies.configuration.releases.keys))
                return .failed("helm says: \(error.message)", hint: hint, details: error.output.map { [("helm output", $0.errorText)] } ?? [],
                               audit: "\(error.output?.commandLine ?? "helm history"): \(error.message)")
            }
            return clusterFailure(error, hint: Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace))
        }
        let table = Self.historyTable(revisions)
        let decided: Result<RollbackPlan, RollbackRefusal>
        if job.command == "/upgrade", let version = job.requestedVersion.flatMap(UpgradeVersion.init(parsing:)) {
            state.lastGoodRevision = revisions.filter { ["deployed", "superseded"].contains($0.status) }.max { $0.revision < $1.revision }
            decided = UpgradePlanner.plan(release: release.name, history: revisions, chartName: Self.chartName(release), version: version)
        } else {
            decided = RollbackPlanner.plan(release: release.name, history: revisions, requested: job.requestedRevision)
        }
        switch decided {
        case .failure(let refusal):
            return .failed(refusal.message, hint: nil, note: "refused", details: [("helm history", table)], audit: "\(output.commandLine): \(refusal.message)")
        case .success(let plan):
            state.plan = plan
            return .succeeded(plan.shortText, audit: "\(output.commandLine): \(revisions.count) revisions; plan \(plan.shortText)",
                              details: [("helm history", table)])
        }
    }

    func confirm(job: JobRecord, release: CoxswainConfiguration.Release, state: RunState) -> StepOutcome {
        guard let plan = state.plan else { return .failed("no plan was decided", hint: "the runbook must start with helm.history") }
        let line = "\(job.command.dropFirst()) \(release.name) (\(release.environment), ns \(release.namespace)): \(plan.shortText)"
        var outcome = StepOutcome.succeeded("from \(plan.from.summary) to \(plan.to.summary)", audit: "plan confirmed: \(line)")
        outcome.ephemeral = "Job #\(job.id ?? 0) plan: \(line) — from \(plan.from.summary) to \(plan.to.summary)."
        return outcome
    }

    static func chartName(_ release: CoxswainConfiguration.Release) -> String {
        release.chart.map { String($0.split(separator: "/").last ?? Substring($0)) } ?? release.name
    }

    private func setRegistry(_ status: RegistryEntry.Status, job: JobRecord, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        do {
            try await dependencies.database.setRegistryStatus(
                model: release.model, environment: release.environment, status: status, actor: "coxswain", jobID: job.id,
                reason: "job #\(job.id ?? 0) \(job.command) \(release.name)", now: dependencies.now())
        } catch {
            return .failed("registry update failed: \(error)", hint: nil)
        }
        if status == .disabled { state.registryDisabled = true } else { state.registryDisabled = false }
        let word = status == .disabled ? "disabled" : "ready"
        return .succeeded("\(release.model) \(word) in \(release.environment)", audit: "registry: \(release.model) in \(release.environment) -> \(word)")
    }

    private func rollback(_ step: RunbookStep, emergency: Bool, release: CoxswainConfiguration.Release, state: RunState) async -> StepOutcome {
        guard let plan = state.plan else { return .failed("no plan was decided", hint: "the runbook must start with helm.history") }
        if release.kind == .deployment { return await rolloutUndo(release: release, plan: plan) }
        do {
            // Break-glass does not wait inside helm: the next steps watch pods and health.
            let output = try await dependencies.helm.rollback(release: release.name, revision: plan.to.revision, namespace: release.namespace,
                                                              wait: emergency ? nil : (step.timeout ?? GoDuration(milliseconds: 600_000)))
            return .succeeded("to revision \(plan.to.revision)", audit: "\(output.commandLine): exit 0",
                              details: [("helm output", Self.excerpt(output))])
        } catch {
            let hint: String
            switch error.kind {
            case .timedOut: hint = Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace) + " A failed `--wait` leaves the new revision marked failed."
            case .revisionMissing: hint = "The revision disappeared from the history meanwhile: `helm history \(release.name) -n \(release.namespace)`."
            default: hint = "If the release is in a broken state, the seed's path is `helm rollback \(release.name) -n \(release.namespace) --wait` again, then a reinstall of the last known good version."
            }
            return clusterFailure(error, hint: hint)
        }
    }

    private func waitForPods(_ step: RunbookStep, emergency: Bool, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        let timeout = emergency ? dependencies.configuration.emergency.watchTimeout : (step.timeout ?? GoDuration(milliseconds: 300_000))
        var waitFailure: ClusterFailure?
        var waitOutput: ProcessOutput?
        do {
            waitOutput = release.kind == .deployment
                ? try await dependencies.kubectl.rolloutStatus(deployment: Self.deploymentName(release), namespace: release.namespace, timeout: timeout)
                : try await dependencies.kubectl.waitForReadyPods(release: release.name, namespace: release.namespace, timeout: timeout)
        } catch { waitFailure = error }

        // The pod table is worth reading whether or not the wait succeeded.
        let report: PodReport?
        var details: [(title: String, body: String)] = []
        do {
            let (pods, _) = try await dependencies.kubectl.pods(release: release.name, namespace: release.namespace)
            report = pods
            details.append(("pods", pods.table))
        } catch {
            report = nil
            details.append(("kubectl get pods", error.message))
        }
        if let waitFailure {
            let hint = Troubleshooting.hint(forPodProblem: report?.mainProblem, release: release.name, namespace: release.namespace)
            let what = report.map { "pods not ready within \(timeout): \($0.summary)" } ?? waitFailure.message
            if let text = waitFailure.output?.errorText { details.insert(("kubectl wait", text), at: 0) }
            state.validation.append("pods ❌ \(report?.summary ?? "unknown")")
            return .failed(what, hint: hint, note: report?.summary ?? "not ready", details: details,
                           audit: "\(waitFailure.output?.commandLine ?? "kubectl wait"): \(waitFailure.message)")
        }
        let summary = report?.summary ?? "ready"
        state.validation.append("pods \(summary)")
        return .succeeded(summary, audit: "\(waitOutput?.commandLine ?? "kubectl wait"): \(summary)", details: details)
    }

    private func health(_ step: RunbookStep, emergency: Bool, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        guard emergency else { return await healthOnce(step, release: release, state: &state) }
        // Break-glass watches health until it passes or the watch timeout runs out.
        let deadline = ContinuousClock.now + dependencies.configuration.emergency.watchTimeout.duration
        while true {
            var attempt = state
            let outcome = await healthOnce(step, release: release, state: &attempt)
            if outcome.status == .succeeded || ContinuousClock.now >= deadline {
                state = attempt
                return outcome
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    private func healthOnce(_ step: RunbookStep, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        let timeout = (step.timeout ?? GoDuration(milliseconds: 10_000)).duration
        var paths = ["/health"]
        if release.hasReadyEndpoint { paths.append("/ready") }
        var notes: [String] = []
        for path in paths {
            let url = release.endpoint.appendingPathComponent(String(path.dropFirst())).absoluteString
            do {
                let response = try await probe.get(release.endpoint, path: String(path.dropFirst()), timeout: timeout)
                if let problem = ProbeEvaluation.judge(path: path, statusCode: response.statusCode, body: response.body) {
                    state.validation.append("\(path) ❌")
                    return .failed(problem, hint: podsHint(release), note: (notes + ["\(path) \(response.statusCode)"]).joined(separator: ", "),
                                   details: [(path, "HTTP \(response.statusCode)\n\(String(decoding: response.body.prefix(500), as: UTF8.self))")],
                                   audit: "GET \(url): \(problem)")
                }
                notes.append("\(path) \(response.statusCode) in \(response.latencyMilliseconds) ms")
            } catch {
                state.validation.append("\(path) ❌")
                return .failed(error.description, hint: podsHint(release), note: "\(path) unreachable", audit: "GET \(url): \(error.description)")
            }
        }
        state.validation.append(contentsOf: notes)
        return .succeeded(notes.joined(separator: ", "), audit: notes.joined(separator: "; "),
                          details: [("probes", notes.map { "GET \(release.endpoint.absoluteString)\($0)" }.joined(separator: "\n"))])
    }

    private func completion(_ step: RunbookStep, release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        let slo = release.completionSLO ?? step.slo ?? GoDuration(milliseconds: 3000)
        let prompt = step.prompt ?? "Hello, how are you?"
        do {
            let response = try await probe.completion(release.endpoint, model: release.model, prompt: prompt, maxTokens: step.maxTokens ?? 10,
                                                      temperature: 0.7, timeout: slo.duration + .seconds(10))
            let latency = DurationText.format(milliseconds: response.latencyMilliseconds)
            switch ProbeEvaluation.completionText(statusCode: response.statusCode, body: response.body) {
            case .failure(let problem):
                state.validation.append("completion ❌")
                return .failed(problem.description, hint: "Check the model server's logs: `kubectl logs -l app.kubernetes.io/instance=\(release.name) -n \(release.namespace) --tail=50`.",
                               note: "no completion", audit: "POST /v1/completions: \(problem.description)")
            case .success(let text):
                guard response.latencyMilliseconds <= slo.milliseconds else {
                    state.validation.append("completion ❌ \(latency) (SLO \(slo))")
                    return .failed("completion took \(latency), over the \(slo) SLO", hint: "The model answers but too slowly: check GPU load and `kubectl logs -l app.kubernetes.io/instance=\(release.name) -n \(release.namespace) --tail=50`; P95 latency over 3 s is itself a rollback trigger.",
                                   note: "\(latency) (SLO \(slo))", details: [("completion", "latency \(latency)\ntext: \(text.prefix(200))")],
                                   audit: "POST /v1/completions: \(response.latencyMilliseconds) ms, over SLO \(slo)")
                }
                state.validation.append("completion \(latency) (SLO \(slo))")
                return .succeeded("\(latency) (SLO \(slo))", audit: "POST /v1/completions: \(response.latencyMilliseconds) ms within SLO \(slo)",
                                  details: [("completion", "latency \(latency)\ntext: \(text.prefix(200))")])
            }
        } catch {
            state.validation.append("completion ❌")
            return .failed(error.description, hint: podsHint(release), note: "unreachable", audit: "POST /v1/completions: \(error.description)")
        }
    }

    private func verify(release: CoxswainConfiguration.Release, state: inout RunState) async -> StepOutcome {
        guard let plan = state.plan else { return .failed("no plan was decided", hint: nil) }
        if release.kind == .deployment { return await verifyDeployment(release: release, state: &state) }
        let expected = plan.from.revision + 1
        do {
            let (status, output) = try await dependencies.helm.status(release: release.name, namespace: release.namespace)
            guard status.info.status == "deployed", status.version == expected else {
                return .failed("helm status shows revision \(status.version) \(status.info.status), expected revision \(expected) deployed",
                               hint: "Someone or something else may have changed the release meanwhile: `helm history \(release.name) -n \(release.namespace)`.",
                               audit: "\(output.commandLine): revision \(status.version) \(status.info.status)")
            }
            let entry = try? await dependencies.database.registryEntry(model: release.model, environment: release.environment)
            guard entry?.status == .ready else {
                return .failed("the registry shows \(release.model) \(entry?.status.rawValue ?? "missing") in \(release.environment)", hint: nil)
            }
            state.validation.append("registry ready")
            return .succeeded("revision \(status.version) deployed, registry ready", audit: "\(output.commandLine): revision \(status.version) deployed; registry ready")
        } catch {
            return clusterFailure(error, hint: Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace))
        }
    }

    /// Records the reason on the release's Deployments (the seed's `helm annotate` step). A
    /// failure here is reported but does not fail the rollback that already happened.
    private func annotate(reason: String, job: JobRecord, release: CoxswainConfiguration.Release, outcome: inout StepOutcome) async {
        let value = "\(reason) (coxswain job #\(job.id ?? 0) by \(job.requestedBy))"
        do {
            let output = try await dependencies.kubectl.annotateDeployments(release: release.name, namespace: release.namespace,
                                                                            key: "coxswain.dev/rollback-reason", value: value)
            outcome.auditDetail += "; \(output.commandLine): exit 0"
        } catch {
            outcome.note = (outcome.note ?? "") + " (reason annotation failed)"
            outcome.details.append(("kubectl annotate", error.message))
            outcome.auditDetail += "; annotate failed: \(error.message)"
        }
    }

    // MARK: helpers

    private func podsHint(_ release: CoxswainConfiguration.Release) -> String {
        "Check whether the pods are ready: `kubectl get pods -l app.kubernetes.io/instance=\(release.name) -n \(release.namespace)`; if they are stuck Not Ready, the previous version is failing too."
    }

    func clusterFailure(_ error: ClusterFailure, hint: String?) -> StepOutcome {
        let details = error.output.map { [("\($0.argv.first ?? "") output", Self.excerpt($0))] } ?? []
        return .failed(error.message, hint: hint, details: details, audit: "\(error.output?.commandLine ?? "call"): \(error.message)")
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
