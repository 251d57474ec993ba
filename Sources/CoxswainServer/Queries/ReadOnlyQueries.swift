import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainCluster
import CoxswainChat

/// Answers `/history`, `/status`, `/releases` and `/jobs`. Cluster calls get a short
/// timeout, and a cluster that does not answer is said to be so.
struct ReadOnlyQueries: Sendable {
    let dependencies: ServerDependencies
    let probe = ModelEndpointProbe()
    /// Read-only answers should come quickly or say why not.
    static let clusterTimeout = GoDuration(milliseconds: 10_000)

    private var configuration: CoxswainConfiguration { dependencies.configuration }
    private var helm: HelmClient {
        HelmClient(runner: dependencies.commandRunner, program: configuration.cluster.helm, kubeContext: configuration.cluster.kubeContext,
                   readTimeout: min(configuration.cluster.readTimeout, Self.clusterTimeout))
    }
    private var kubectl: KubectlClient {
        KubectlClient(runner: dependencies.commandRunner, program: configuration.cluster.kubectl, kubeContext: configuration.cluster.kubeContext,
                      readTimeout: min(configuration.cluster.readTimeout, Self.clusterTimeout))
    }

    func answer(_ query: Query) async -> String {
        do {
            switch query {
            case .history(let release): return try await history(release)
            case .status(let release): return try await status(release)
            case .releases(let environment): return try await releases(environment)
            case .jobs(let release): return try await jobs(release)
            }
        } catch {
            return "Coxswain could not read its database: \(error)"
        }
    }

    private func unknownRelease(_ name: String) -> String {
        "Coxswain does not know a release `\(name)`. Releases it knows: \(configuration.releases.keys.sorted().joined(separator: ", "))."
    }

    private func clusterProblem(_ error: ClusterFailure, _ what: String) -> String {
        switch error.kind {
        case .timedOut: return "The cluster did not answer \(what) within \(min(configuration.cluster.readTimeout, Self.clusterTimeout)): \(error.message)"
        case .releaseNotFound: return "helm has no such release: \(error.message)"
        default: return "\(what) failed: \(error.message)"
        }
    }

    func history(_ name: String) async throws -> String {
        guard let release = configuration.release(named: name) else { return unknownRelease(name) }
        let revisions: [HelmRevision]
        if release.kind == .deployment {
            let deployment = release.deploymentName ?? name
            do { (revisions, _) = try await kubectl.rolloutHistory(deployment: deployment, namespace: release.namespace) }
            catch { return clusterProblem(error, "`kubectl rollout history deployment/\(deployment) -n \(release.namespace)`") }
        } else {
            do { (revisions, _) = try await helm.history(release: name, namespace: release.namespace, max: 20) }
            catch { return clusterProblem(error, "`helm history \(name) -n \(release.namespace)`") }
        }
        let jobs = try await dependencies.database.jobsByCreatedRevision(release: name)
        let header = ["REV", "STATUS", "CHART", "APP", "UPDATED", "DESCRIPTION", "BY COXSWAIN"]
        var rows: [[String]] = []
        for revision in revisions.sorted(by: { $0.revision > $1.revision }) {
            let job = jobs[revision.revision].map { "job #\($0.id ?? 0) by \($0.requestedBy)\($0.reason.map { ": \($0)" } ?? "")" } ?? ""
            rows.append([String(revision.revision), revision.status, revision.chart, revision.appVersion,
                         String(revision.updated.prefix(19)), revision.description, job])
        }
        return "*History of `\(name)`* (\(release.environment), ns \(release.namespace)), newest first:\n```\n\(TextTable.render(header, rows))\n```"
    }

    func status(_ name: String) async throws -> String {
        guard let release = configuration.release(named: name) else { return unknownRelease(name) }
        var lines = ["*Status of `\(name)`* (\(release.environment), ns \(release.namespace))"]
        if release.kind == .deployment {
            let deployment = release.deploymentName ?? name
            do {
                let output = try await kubectl.rolloutStatus(deployment: deployment, namespace: release.namespace, timeout: GoDuration(milliseconds: 5_000))
                lines.append("• rollout: " + output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            } catch { lines.append("• rollout: " + clusterProblem(error, "`kubectl rollout status deployment/\(deployment)`")) }
        } else {
            do {
                let (status, _) = try await helm.status(release: name, namespace: release.namespace)
                lines.append("• helm: revision \(status.version) \(status.info.status) (\(status.chartSummary))")
            } catch { lines.append("• helm: " + clusterProblem(error, "`helm status`")) }
        }
        do {
            let (pods, _) = try await kubectl.pods(release: name, namespace: release.namespace)
            lines.append("• pods: \(pods.summary)")
        } catch { lines.append("• pods: " + clusterProblem(error, "`kubectl get pods`")) }
        let entry = try await dependencies.database.registryEntry(model: release.model, environment: release.environment)
        lines.append("• registry: `\(release.model)` \(entry?.status.rawValue ?? "not registered") in \(release.environment)")
        do {
            let response = try await probe.get(release.endpoint, path: "health", timeout: .seconds(3))
            let problem = ProbeEvaluation.judge(path: "/health", statusCode: response.statusCode, body: response.body)
            lines.append("• health: " + (problem ?? "/health 200 in \(response.latencyMilliseconds) ms"))
        } catch { lines.append("• health: \(error.description)") }
        let open = try await dependencies.database.recentJobs(release: name, limit: 20).filter { !$0.state.isFinished }
        lines.append("• jobs: " + (open.isEmpty ? "none running or queued"
            : open.map { "#\($0.id ?? 0) \($0.command) \($0.state.rawValue.replacingOccurrences(of: "_", with: " ")) (by <@\($0.requestedBy)>)" }.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    func releases(_ environment: String?) async throws -> String {
        if let environment, configuration.environments[environment] == nil {
            return "There is no environment `\(environment)`. Environments: \(configuration.environments.keys.sorted().joined(separator: ", "))."
        }
        let selected = configuration.releases.values.filter { environment == nil || $0.environment == environment }.sorted { $0.name < $1.name }
        guard !selected.isEmpty else { return "No releases are configured\(environment.map { " in `\($0)`" } ?? "")." }
        let helm = self.helm
        let statuses = await withTaskGroup(of: (String, String).self) { group in
            for release in selected {
                group.addTask {
                    do throws(ClusterFailure) {
                        let (status, _) = try await helm.status(release: release.name, namespace: release.namespace)
                        return (release.name, "revision \(status.version) \(status.info.status) (\(status.chartSummary))")
                    } catch {
                        return (release.name, error.kind == .timedOut ? "cluster did not answer" : error.message)
                    }
                }
            }
            var all: [String: String] = [:]
            for await (name, text) in group { all[name] = text }
            return all
        }
        let header = ["RELEASE", "ENV", "MODEL", "REGISTRY", "HELM"]
        var rows: [[String]] = []
        for release in selected {
            let entry = try await dependencies.database.registryEntry(model: release.model, environment: release.environment)
            rows.append([release.name, release.environment, release.model, entry?.status.rawValue ?? "-", statuses[release.name] ?? "-"])
        }
        return "*Releases\(environment.map { " in `\($0)`" } ?? "")*\n```\n\(TextTable.render(header, rows))\n```"
    }

    func jobs(_ release: String?) async throws -> String {
        if let release, configuration.release(named: release) == nil { return unknownRelease(release) }
        let jobs: [JobRecord]
        if let release { jobs = try await dependencies.database.recentJobs(release: release, limit: 10) }
        else { jobs = try await dependencies.database.recentJobs(limit: 10) }
        guard !jobs.isEmpty else { return "No jobs yet\(release.map { " for `\($0)`" } ?? "")." }
        let header = ["JOB", "COMMAND", "RELEASE", "ENV", "STATE", "PLAN", "BY", "OUTCOME"]
        var rows: [[String]] = []
        for job in jobs {
            rows.append(["#\(job.id ?? 0)", job.command, job.release, job.environment, job.state.rawValue, job.plan?.shortText ?? "-",
                         job.requestedBy, String((job.outcome ?? "").prefix(60))])
        }
        return "*Recent jobs\(release.map { " for `\($0)`" } ?? "")*\n```\n\(TextTable.render(header, rows))\n```"
    }
}
