import CoxswainCluster
import CoxswainCore
import Foundation

/// Answers `history`, `status`, `releases` and `jobs`, showing only environments the asker
/// may read. Cluster calls get a short timeout, and a cluster that does not answer is said
/// to be so.
struct ReadOnlyQueries: Sendable {
    let configuration: CoxswainConfiguration
    let jobs: any JobStore
    let registry: any RegistryStore
    let watches: any WatchStore
    let probe: ModelEndpointProbe
    /// helm and kubectl with the read timeout these answers get.
    let helm: HelmClient
    let kubectl: KubectlClient
    /// Read-only answers should come quickly or say why not.
    static let clusterTimeout = GoDuration(milliseconds: 10_000)
    private var timeout: GoDuration { min(configuration.cluster.readTimeout, Self.clusterTimeout) }

    init(
        configuration: CoxswainConfiguration, cluster: ClusterTools, probe: ModelEndpointProbe, jobs: any JobStore, registry: any RegistryStore,
        watches: any WatchStore
    ) {
        self.configuration = configuration; self.probe = probe; self.jobs = jobs; self.registry = registry; self.watches = watches
        let timeout = min(configuration.cluster.readTimeout, Self.clusterTimeout)
        let settings = configuration.cluster
        helm = HelmClient(runner: cluster.runner, program: settings.helm, kubeContext: settings.kubeContext, readTimeout: timeout)
        kubectl = KubectlClient(runner: cluster.runner, program: settings.kubectl, kubeContext: settings.kubeContext, readTimeout: timeout)
    }

    func answer(_ query: Query, readable: Set<String>) async -> RichText {
        do {
            switch query {
            case .history(let release): return try await history(release, readable: readable)
            case .status(let release): return try await status(release, readable: readable)
            case .releases(let environment): return try await releases(environment, readable: readable)
            case .jobs(let release): return try await jobs(release, readable: readable)
            }
        } catch {
            return "Coxswain could not read its database: \(String(describing: error))"
        }
    }

    private func unknownRelease(_ name: String, readable: Set<String>) -> RichText {
        let known = configuration.releases.values.filter { readable.contains($0.environment) }.map(\.name).sorted()
        return "Coxswain does not know a release \(code: name). Releases you may read: \(known.isEmpty ? "none" : known.joined(separator: ", "))."
    }

    private func clusterProblem(_ error: ClusterFailure, _ what: String) -> RichText {
        switch error.kind {
        case .timedOut: return "The cluster did not answer \(code: what) within \(timeout): \(error.message)"
        case .releaseNotFound: return "helm has no such release: \(error.message)"
        default:
            return "\(code: what) failed: \(error.message)" + (error.accessHint(context: configuration.cluster.kubeContext).map { " " + $0 } ?? "")
        }
    }

    func history(_ name: String, readable: Set<String>) async throws -> RichText {
        guard let release = configuration.release(named: name), readable.contains(release.environment) else { return unknownRelease(name, readable: readable) }
        let revisions: [HelmRevision]
        if release.kind == .deployment {
            let deployment = release.deploymentName ?? name
            do { (revisions, _) = try await kubectl.rolloutHistory(deployment: deployment, namespace: release.namespace) } catch {
                return clusterProblem(error, "kubectl rollout history deployment/\(deployment) -n \(release.namespace)")
            }
        } else {
            do { (revisions, _) = try await helm.history(release: name, namespace: release.namespace, max: 20) } catch {
                return clusterProblem(error, "helm history \(name) -n \(release.namespace)")
            }
        }
        let oldest = revisions.map(\.revision).min() ?? 0
        let jobs = try await self.jobs.jobsByCreatedRevision(release: name, since: oldest)
        let passed = try await self.jobs.revisionsThatPassedAWatch(release: name, since: oldest)
        let header = ["REV", "STATUS", "CHART", "APP", "UPDATED", "DESCRIPTION", "BY COXSWAIN", "WATCH"]
        var rows: [[String]] = []
        for revision in revisions.sorted(by: { $0.revision > $1.revision }) {
            let job = jobs[revision.revision].map { "job #\($0.id) by \($0.request.requestedBy)" + ($0.request.reason.map { ": \($0)" } ?? "") } ?? ""
            rows.append([
                String(revision.revision), revision.status, revision.chart, revision.appVersion,
                String(revision.updated.prefix(19)), revision.description, job, passed[revision.revision] == nil ? "" : "passed",
            ])
        }
        return "History of \(code: name) (\(release.environment), ns \(release.namespace)), newest first:\n"
            + "\(preformatted: TextTable.render(header, rows))"
    }

    func status(_ name: String, readable: Set<String>) async throws -> RichText {
        guard let release = configuration.release(named: name), readable.contains(release.environment) else { return unknownRelease(name, readable: readable) }
        var lines: [RichText] = ["Status of \(code: name) (\(release.environment), ns \(release.namespace))"]
        if release.kind == .deployment {
            let deployment = release.deploymentName ?? name
            do {
                let output = try await kubectl.rolloutStatus(deployment: deployment, namespace: release.namespace, timeout: GoDuration(milliseconds: 5_000))
                lines.append("• rollout: " + output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            } catch { lines.append("• rollout: " + clusterProblem(error, "kubectl rollout status deployment/\(deployment)")) }
        } else {
            do {
                let current = try await helm.metadata(release: name, namespace: release.namespace)
                lines.append("• helm: revision \(current.revision) \(current.status) (\(current.chartSummary))")
            } catch { lines.append("• helm: " + clusterProblem(error, "helm get metadata \(name) -n \(release.namespace)")) }
        }
        do {
            let (pods, _) = try await kubectl.pods(release: name, namespace: release.namespace)
            lines.append("• pods: \(pods.summary)")
        } catch { lines.append("• pods: " + clusterProblem(error, "kubectl get pods")) }
        let entry = try await registry.entry(model: release.model, environment: release.environment)
        lines.append("• registry: \(code: release.model) \(entry?.status.rawValue ?? "not registered") in \(release.environment)")
        do {
            let response = try await probe.get(release.endpoint, path: "health", timeout: .seconds(3))
            let problem = ProbeEvaluation.judge(path: "/health", statusCode: response.statusCode, body: response.body)
            lines.append("• health: " + (problem ?? "/health 200 in \(response.latencyMilliseconds) ms"))
        } catch { lines.append("• health: \(error.description)") }
        let open = try await jobs.recentJobs(release: name, limit: 20).filter { !$0.state.isFinished }
        let jobsLine =
            open.isEmpty
            ? RichText("none running or queued")
            : open.map { RichText("#\($0.id) \($0.request.command) \($0.state.words) (by \(user: $0.request.requestedBy))") }.joined(separator: ", ")
        lines.append("• jobs: " + jobsLine)
        if let watch = try await watches.activeWatches().first(where: { $0.release == name }) {
            lines.append("• watch: " + Self.watchLine(watch))
        }
        return lines.joined(separator: "\n")
    }

    /// "after job #12 until 14:20:00 UTC: error rate 0.4%, P95 210 ms"
    static func watchLine(_ watch: ModelWatch) -> RichText {
        let figures = watch.last.map { "error rate \(WatchJudge.percent($0.errorRate))" + ($0.p95.map { ", P95 \(WatchJudge.seconds($0))" } ?? "") }
        let now = watch.inconclusiveReason.map { "cannot judge (\($0))" } ?? figures ?? "no reading yet"
        let after: RichText = watch.jobID.map { " after job #\($0)" } ?? watch.requestedBy.map { " for \(user: $0)" } ?? ""
        return "watching \(code: watch.release)\(after) until \(WatchJudge.clock(watch.endsAt)): \(now)"
    }

    func releases(_ environment: String?, readable: Set<String>) async throws -> RichText {
        if let environment, configuration.environments[environment] == nil || !readable.contains(environment) {
            return "There is no environment \(code: environment) you may read. Environments you may read: \(readable.sorted().joined(separator: ", "))."
        }
        let selected = configuration.releases.values.filter { (environment == nil || $0.environment == environment) && readable.contains($0.environment) }
            .sorted { $0.name < $1.name }
        guard !selected.isEmpty else { return "No releases are configured" + (environment.map { " in \(code: $0)" } ?? "") + "." }
        let helm = self.helm, kubectl = self.kubectl
        let statuses = await withTaskGroup(of: (String, String).self) { group in
            for release in selected {
                group.addTask { (release.name, await Self.currentState(of: release, helm: helm, kubectl: kubectl)) }
            }
            var all: [String: String] = [:]
            for await (name, text) in group { all[name] = text }
            return all
        }
        let header = ["RELEASE", "ENV", "MODEL", "REGISTRY", "DEPLOYED"]
        var rows: [[String]] = []
        for release in selected {
            let entry = try await registry.entry(model: release.model, environment: release.environment)
            rows.append([release.name, release.environment, release.model, entry?.status.rawValue ?? "-", statuses[release.name] ?? "-"])
        }
        return "Releases" + (environment.map { " in \(code: $0)" } ?? "") + "\n\(preformatted: TextTable.render(header, rows))"
    }

    /// A Helm release's `helm status`, or a plain Deployment's newest rollout revision.
    static func currentState(of release: CoxswainConfiguration.Release, helm: HelmClient, kubectl: KubectlClient) async -> String {
        do throws(ClusterFailure) {
            if release.kind == .deployment {
                let (revisions, _) = try await kubectl.rolloutHistory(deployment: release.deploymentName ?? release.name, namespace: release.namespace)
                return "deployment revision \(revisions.last?.revision ?? 0)"
            }
            let current = try await helm.metadata(release: release.name, namespace: release.namespace)
            return "revision \(current.revision) \(current.status) (\(current.chartSummary))"
        } catch {
            return error.kind == .timedOut ? "cluster did not answer" : error.message
        }
    }

    func jobs(_ release: String?, readable: Set<String>) async throws -> RichText {
        if let release, configuration.release(named: release).map({ !readable.contains($0.environment) }) ?? true {
            return unknownRelease(release, readable: readable)
        }
        let jobs = try await self.jobs.recentJobs(release: release, limit: 50).filter { readable.contains($0.request.environment) }.prefix(10)
        let watches = try await self.watches.activeWatches().filter { watch in
            (release == nil || watch.release == release) && readable.contains(watch.environment)
        }
        var text: RichText = "No jobs yet" + (release.map { " for \(code: $0)" } ?? "") + "."
        if !jobs.isEmpty {
            let header = ["JOB", "COMMAND", "RELEASE", "ENV", "STATE", "PLAN", "BY", "OUTCOME"]
            let rows = jobs.map { job in
                [
                    "#\(job.id)", job.request.command, job.request.release, job.request.environment, job.state.rawValue, job.plan?.shortText ?? "-",
                    job.request.requestedBy, String((job.outcome ?? "").prefix(60)),
                ]
            }
            text = "Recent jobs" + (release.map { " for \(code: $0)" } ?? "") + "\n\(preformatted: TextTable.render(header, rows))"
        }
        for watch in watches { text += "\n👀 " + Self.watchLine(watch) }
        return text
    }
}
