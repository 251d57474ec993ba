import Foundation

/// The seed runbooks' troubleshooting advice, matched to what went wrong, with the exact
/// command to run next.
public enum Troubleshooting {
    public static func hint(forPodProblem problem: String?, release: String, namespace: String) -> RichText {
        let problem = problem ?? ""
        if problem.contains("ImagePullBackOff") || problem.contains("ErrImagePull") {
            return "Image pull failure: the image or tag may not exist (release still publishing) or the pull secret is missing. "
                + "Check \(code: "kubectl get events -n \(namespace) | grep \"Failed to pull image\"") and \(code: "kubectl describe pod POD -n \(namespace)")."
        }
        if problem.contains("CrashLoopBackOff") || problem.contains("OOMKilled") {
            let oom = problem.contains("OOMKilled") ? " (OOMKilled: memory or GPU memory limits)" : ""
            return "Containers keep crashing\(oom). The previous container's logs say why: \(code: "kubectl logs POD -n \(namespace) --previous")."
        }
        if problem.contains("Pending") {
            return "Pods are Pending: usually no GPU capacity. Check \(code: "kubectl describe nodes | grep -A 5 \"Allocated resources\""), "
                + "\(code: "kubectl describe pod POD -n \(namespace)") and \(code: "kubectl get pvc -n \(namespace)")."
        }
        return timeoutHint(release: release, namespace: namespace)
    }

    public static func timeoutHint(release: String, namespace: String) -> RichText {
        "Check the release state with \(code: "helm history \(release) -n \(namespace)") and the startup/readiness probe timeouts with "
            + "\(code: "kubectl describe deployment \(release) -n \(namespace)")."
    }

    public static func releaseNotFound(release: String, namespace: String, known: [String]) -> RichText {
        let others = known.filter { $0 != release }
        return "helm has no release \(code: release) in namespace \(code: namespace). Verify with \(code: "helm list -n \(namespace)") or "
            + "\(code: "helm list --all-namespaces")." + (others.isEmpty ? "" : " Releases Coxswain knows: \(others.sorted().joined(separator: ", ")).")
    }

    /// A rollback that failed part-way: roll back again to the same revision, validated.
    public static func retryRollback(release: String, namespace: String, revision: Int) -> RichText {
        "If the release is in a broken state, roll it back again to the same revision: \(command: "rollback \(release) \(revision)") "
            + "(or by hand: \(code: "helm rollback \(release) \(revision) -n \(namespace) --wait")), then, if that fails too, reinstall the last "
            + "known good version (\(code: "helm history \(release) -n \(namespace)") shows it)."
    }

    public static func clusterUnreachable(context: String?) -> RichText {
        let flag = context.map { " --context \($0)" } ?? ""
        return "helm and kubectl cannot reach the Kubernetes API server. Check the kubeconfig Coxswain runs with (\(code: "KUBECONFIG")"
            + (context.map { ", context \(code: $0)" } ?? "") + "), the API server address and the network: \(code: "kubectl cluster-info\(flag)")."
    }

    public static func unauthorized(context: String?) -> RichText {
        let flag = context.map { " --context \($0)" } ?? ""
        return "The cluster refused Coxswain's credentials: the token or client certificate in its kubeconfig has expired or is wrong. "
            + "Check with \(code: "kubectl auth whoami\(flag)") and renew the credentials."
    }

    public static func forbidden(verb: String?, resource: String?, namespace: String?) -> RichText {
        let what = [verb, resource].compactMap { $0 }.joined(separator: " ")
        let ns = namespace.map { " -n \($0)" } ?? ""
        return "Kubernetes RBAC refused it: Coxswain's identity may not \(what.isEmpty ? "do this" : what)\(namespace.map { " in namespace \($0)" } ?? ""). "
            + "Grant it in the Role Coxswain is bound to (the chart's RBAC lists the verbs), then check with "
            + "\(code: "kubectl auth can-i \(verb ?? "VERB") \(resource ?? "RESOURCE")\(ns)")."
    }

    public static func registryStillDisabled(model: String, environment: String) -> RichText {
        "The model stays \(strong: "disabled") in the registry so no traffic is routed to an unhealthy deployment. Once it is healthy: "
            + "\(code: "coxswain registry enable --model-name \(model) --environment \(environment)")."
    }
}
