import Foundation
import CoxswainCore
import CoxswainStore
import CoxswainCluster

/// Releases that are plain Deployments (`kind: deployment`, seed section 3b): the same
/// runbook, with `kubectl rollout` in place of helm.
extension RunbookActions {
    static func deploymentName(_ release: CoxswainConfiguration.Release) -> String { release.deploymentName ?? release.name }

    /// `kubectl rollout undo deployment/NAME -n NS --to-revision=N`
    func rolloutUndo(release: CoxswainConfiguration.Release, plan: RollbackPlan, report: inout RunReport) async -> StepResult {
        let name = Self.deploymentName(release)
        do {
            let output = try await cluster.kubectl.rolloutUndo(deployment: name, namespace: release.namespace, toRevision: plan.to.revision)
            if output.stdout.contains("skipped rollback") {
                // kubectl changes nothing when the running template already is that revision.
                return .succeeded(
                    "skipped: already at revision \(plan.to.revision)'s template",
                    audit: "\(output.commandLine): \(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines))",
                    details: [.init("kubectl output", Self.excerpt(output))])
            }
            report.releaseChanged = true
            return .succeeded(
                "to revision \(plan.to.revision)", audit: "\(output.commandLine): exit 0", details: [.init("kubectl output", Self.excerpt(output))])
        } catch {
            let hint: RichText =
                error.kind == .revisionMissing
                ? "The revision is gone from the Deployment's history (revisionHistoryLimit?): "
                    + "\(code: "kubectl rollout history deployment/\(name) -n \(release.namespace)")."
                : "Check \(code: "kubectl rollout history deployment/\(name) -n \(release.namespace)") and "
                    + "\(code: "kubectl describe deployment \(name) -n \(release.namespace)")."
            return clusterFailure(error, hint: hint)
        }
    }

    func verifyDeployment(release: CoxswainConfiguration.Release, report: inout RunReport) async -> StepResult {
        let name = Self.deploymentName(release)
        do {
            let output = try await cluster.kubectl.rolloutStatus(deployment: name, namespace: release.namespace, timeout: GoDuration(milliseconds: 30_000))
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
                "rollout complete, registry ready",
                audit: "\(output.commandLine): \(output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)); registry ready")
        } catch {
            return clusterFailure(
                error, hint: "\(code: "kubectl rollout status deployment/\(name) -n \(release.namespace)") did not report a complete rollout.")
        }
    }
}
