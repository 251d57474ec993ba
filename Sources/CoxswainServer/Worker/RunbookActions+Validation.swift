import CoxswainCluster
import CoxswainCore
import Foundation

/// The seed's validation steps: pods ready, `/health` and `/ready`, a completion within the
/// SLO, and the release and registry as they should be afterwards.
extension RunbookActions {
    func waitForPods(
        _ step: RunbookStep, emergency: Bool, release: CoxswainConfiguration.Release, report: inout RunReport, following: RolloutObserver
    ) async -> StepResult {
        let timeout = emergency ? configuration.emergency.watchTimeout : (step.timeout ?? GoDuration(milliseconds: 300_000))
        let kubectl = cluster.kubectl, deployment = Self.deploymentName(release)
        // kubectl only reads here: when the pods show the wait cannot succeed, it is stopped at once.
        // The pods that ran before the change are not judged; when that is unknown (a job taken over
        // after the change), none is, and the wait runs to its own end.
        let outcome = await following.following(interrupting: true, old: report.podsBefore) { () async -> (ProcessOutput?, ClusterFailure?) in
            var waitFailure: ClusterFailure?
            var waitOutput: ProcessOutput?
            let deadline = ContinuousClock.now + timeout.duration
            repeat {
                // The first wait has the runbook's timeout as written; a second one what is left of it.
                let left = waitFailure == nil ? timeout : GoDuration(milliseconds: max(1, Int((deadline - ContinuousClock.now).components.seconds)) * 1000)
                do throws(ClusterFailure) {
                    waitOutput =
                        release.kind == .deployment
                        ? try await kubectl.rolloutStatus(deployment: deployment, namespace: release.namespace, timeout: left)
                        : try await kubectl.waitForReadyPods(release: release.name, namespace: release.namespace, timeout: left)
                    waitFailure = nil
                } catch { waitFailure = error }
                // kubectl wait lists the pods once; a pod the rollout deletes meanwhile ends it with
                // `Error from server (NotFound): pods "…" not found`. Waiting again sees the new set.
            } while waitFailure.map(Self.podWentAway) == true && deadline - ContinuousClock.now > .seconds(1) && CommandInterrupt.current?.fired != true
            return (waitOutput, waitFailure)
        }
        let (waitOutput, waitFailure) = outcome.value

        // The pod table is worth reading whether or not the wait succeeded.
        let podReport: PodReport?
        var details: [StepResult.Detail] = []
        do {
            let (pods, _) = try await cluster.kubectl.pods(release: release.name, namespace: release.namespace)
            podReport = pods
            details.append(.init("pods", pods.table))
        } catch {
            podReport = nil
            details.append(.init("kubectl get pods", error.message))
        }
        if let stuck = outcome.stuck, waitFailure != nil {
            report.validation.append("pods ❌ \(stuck.problem)")
            return .failed(
                "ended the wait before its \(timeout) timeout: \(stuck.what)",
                hint: Troubleshooting.hint(forPodProblem: stuck.problem, release: release.name, namespace: release.namespace),
                note: "ended early: \(stuck.problem)", details: details, audit: "\(waitFailure?.output?.commandLine ?? "kubectl wait") stopped: \(stuck.what)")
        }
        if let waitFailure {
            let hint = Troubleshooting.hint(forPodProblem: podReport?.mainProblem, release: release.name, namespace: release.namespace)
            let what = podReport.map { "pods not ready within \(timeout): \($0.summary)" } ?? waitFailure.message
            if let text = waitFailure.output?.errorText { details.insert(.init("kubectl wait", text), at: 0) }
            report.validation.append("pods ❌ \(podReport?.summary ?? "unknown")")
            return .failed(
                what, hint: hint, note: podReport?.summary ?? "not ready", details: details,
                audit: "\(waitFailure.output?.commandLine ?? "kubectl wait"): \(waitFailure.message)")
        }
        let summary = podReport?.summary ?? "ready"
        report.validation.append("pods \(summary)")
        return .succeeded(summary, audit: "\(waitOutput?.commandLine ?? "kubectl wait"): \(summary)", details: details)
    }

    func health(_ step: RunbookStep, emergency: Bool, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        guard emergency else { return await healthOnce(step, release: release, report: &report) }
        // Break-glass watches health until it passes or the watch timeout runs out.
        let deadline = ContinuousClock.now + configuration.emergency.watchTimeout.duration
        while true {
            var attempt = report
            let outcome = await healthOnce(step, release: release, report: &attempt)
            if outcome.status == .succeeded || ContinuousClock.now >= deadline || Task.isCancelled {
                report = attempt
                return outcome
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    func healthOnce(_ step: RunbookStep, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        let timeout = (step.timeout ?? GoDuration(milliseconds: 10_000)).duration
        var paths = ["/health"]
        if release.hasReadyEndpoint { paths.append("/ready") }
        var notes: [String] = []
        for path in paths {
            let url = release.endpoint.appendingPathComponent(String(path.dropFirst())).absoluteString
            do {
                let response = try await probe.get(release.endpoint, path: String(path.dropFirst()), timeout: timeout)
                if let problem = ProbeEvaluation.judge(path: path, statusCode: response.statusCode, body: response.body) {
                    report.validation.append("\(path) ❌")
                    return .failed(
                        problem, hint: podsHint(release), note: (notes + ["\(path) \(response.statusCode)"]).joined(separator: ", "),
                        details: [.init(path, "HTTP \(response.statusCode)\n\(String(decoding: response.body.prefix(500), as: UTF8.self))")],
                        audit: "GET \(url): \(problem)")
                }
                notes.append("\(path) \(response.statusCode) in \(response.latencyMilliseconds) ms")
            } catch {
                report.validation.append("\(path) ❌")
                return .failed(error.description, hint: podsHint(release), note: "\(path) unreachable", audit: "GET \(url): \(error.description)")
            }
        }
        report.validation.append(contentsOf: notes)
        return .succeeded(
            notes.joined(separator: ", "), audit: notes.joined(separator: "; "),
            details: [.init("probes", notes.map { "GET \(release.endpoint.absoluteString)\($0)" }.joined(separator: "\n"))])
    }

    /// `probe.models`: the pods serve the model the release is configured for.
    func servedModel(_ step: RunbookStep, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        let timeout = (step.timeout ?? GoDuration(milliseconds: 10_000)).duration
        let url = release.endpoint.appendingPathComponent("v1/models").absoluteString
        do {
            let response = try await probe.get(release.endpoint, path: "v1/models", timeout: timeout)
            let body = String(decoding: response.body.prefix(500), as: UTF8.self)
            let verdict = ProbeEvaluation.servedModel(
                statusCode: response.statusCode, body: response.body, expected: release.model, maxModelLen: release.maxModelLen)
            switch verdict {
            case .failure(let problem):
                report.validation.append("served model ❌")
                return .failed(
                    problem.description,
                    hint: "The pods run other weights than the configuration names: check the image and the model arguments with "
                        + "\(code: "kubectl get pods -l app.kubernetes.io/instance=\(release.name) -n \(release.namespace) -o yaml"), "
                        + "and `model:` / `max_model_len:` of the release in the configuration." as RichText,
                    note: "wrong model", details: [.init("/v1/models", "HTTP \(response.statusCode)\n\(body)")],
                    audit: "GET \(url): \(problem.description)")
            case .success(let note):
                report.validation.append("serves \(note)")
                return .succeeded(note, audit: "GET \(url): serves \(note)", details: [.init("/v1/models", body)])
            }
        } catch {
            report.validation.append("served model ❌")
            return .failed(error.description, hint: podsHint(release), note: "unreachable", audit: "GET \(url): \(error.description)")
        }
    }

    func completion(_ step: RunbookStep, release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        let slo = release.completionSLO ?? step.slo ?? GoDuration(milliseconds: 3000)
        let prompt = step.prompt ?? "Hello, how are you?"
        do {
            let response = try await probe.completion(
                release.endpoint, model: release.model, prompt: prompt, maxTokens: step.maxTokens ?? 10,
                temperature: 0.7, timeout: slo.duration + .seconds(10))
            let latency = DurationText.format(milliseconds: response.latencyMilliseconds)
            switch ProbeEvaluation.completionText(statusCode: response.statusCode, body: response.body) {
            case .failure(let problem):
                report.validation.append("completion ❌")
                return .failed(
                    problem.description, hint: "Check the model server's logs: \(code: Self.logsCommand(release))." as RichText,
                    note: "no completion", audit: "POST /v1/completions: \(problem.description)")
            case .success(let text):
                guard response.latencyMilliseconds <= slo.milliseconds else {
                    report.validation.append("completion ❌ \(latency) (SLO \(slo))")
                    return .failed(
                        "completion took \(latency), over the \(slo) SLO",
                        hint:
                            "The model answers but too slowly: check GPU load and \(code: Self.logsCommand(release)); "
                            + "P95 latency over 3 s is itself a rollback trigger." as RichText,
                        note: "\(latency) (SLO \(slo))", details: [.init("completion", "latency \(latency)\ntext: \(text.prefix(200))")],
                        audit: "POST /v1/completions: \(response.latencyMilliseconds) ms, over SLO \(slo)")
                }
                report.validation.append("completion \(latency) (SLO \(slo))")
                return .succeeded(
                    "\(latency) (SLO \(slo))", audit: "POST /v1/completions: \(response.latencyMilliseconds) ms within SLO \(slo)",
                    details: [.init("completion", "latency \(latency)\ntext: \(text.prefix(200))")])
            }
        } catch {
            report.validation.append("completion ❌")
            return .failed(error.description, hint: podsHint(release), note: "unreachable", audit: "POST /v1/completions: \(error.description)")
        }
    }

    func verify(release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        guard let plan = report.plan else { return .failed("no plan was decided", hint: nil) }
        if release.kind == .deployment { return await verifyDeployment(release: release, report: &report) }
        let expected = plan.from.revision + 1
        do {
            let (status, output) = try await cluster.helm.status(release: release.name, namespace: release.namespace)
            guard status.info.status == "deployed", status.version == expected else {
                return .failed(
                    "helm status shows revision \(status.version) \(status.info.status), expected revision \(expected) deployed",
                    hint: "Someone or something else may have changed the release meanwhile: \(code: "helm history \(release.name) -n \(release.namespace)")."
                        as RichText,
                    audit: "\(output.commandLine): revision \(status.version) \(status.info.status)")
            }
            let entry: RegistryEntry?
            do {
                entry = try await registry.entry(model: release.model, environment: release.environment)
            } catch {
                return Self.storeReadFailed("the registry entry of \(release.model) in \(release.environment)", error)
            }
            guard entry?.status == .ready else {
                return .failed("the registry shows \(release.model) \(entry?.status.rawValue ?? "missing") in \(release.environment)", hint: nil)
            }
            report.validation.append("registry ready")
            return .succeeded(
                "revision \(status.version) deployed, registry ready", audit: "\(output.commandLine): revision \(status.version) deployed; registry ready")
        } catch {
            return clusterFailure(error, hint: Troubleshooting.timeoutHint(release: release.name, namespace: release.namespace))
        }
    }

    func podsHint(_ release: CoxswainConfiguration.Release) -> RichText {
        "Check whether the pods are ready: \(code: "kubectl get pods -l app.kubernetes.io/instance=\(release.name) -n \(release.namespace)"); "
            + "if they are stuck Not Ready, the previous version is failing too."
    }

    /// The command that shows a release's model server logs, for hints.
    static func logsCommand(_ release: CoxswainConfiguration.Release) -> String {
        "kubectl logs -l app.kubernetes.io/instance=\(release.name) -n \(release.namespace) --tail=50"
    }

    static func podWentAway(_ failure: ClusterFailure) -> Bool {
        (failure.output?.errorText ?? failure.message).contains("(NotFound): pods \"")
    }

    /// After helm's `--wait` ran out, what the pods say: their state joins helm's error in the
    /// result (helm only says the deadline passed), with the hint for the pods' problem first.
    func withPodState(_ result: StepResult, release: CoxswainConfiguration.Release) async -> StepResult {
        guard let (pods, _) = try? await cluster.kubectl.pods(release: release.name, namespace: release.namespace) else { return result }
        var result = result
        result.details.append(.init("pods", pods.table))
        guard var failure = result.failure else { return result }
        failure.what += " — pods: \(pods.summary)"
        if let problem = pods.mainProblem {
            let podHint = Troubleshooting.hint(forPodProblem: problem, release: release.name, namespace: release.namespace)
            failure.hint = failure.hint.map { podHint + " " + $0 } ?? podHint
        }
        result.failure = failure
        return result
    }
}
