import Foundation

/// The seed runbook's troubleshooting advice, matched to what went wrong.
public enum Troubleshooting {
    public static func hint(forPodProblem problem: String?, release: String, namespace: String) -> String {
        let problem = problem ?? ""
        if problem.contains("ImagePullBackOff") || problem.contains("ErrImagePull") {
            return "Image pull failure: the image or tag may not exist (release still publishing) or the pull secret is missing. Check `kubectl get events -n \(namespace) | grep \"Failed to pull image\"` and `kubectl describe pod POD -n \(namespace)`."
        }
        if problem.contains("CrashLoopBackOff") || problem.contains("OOMKilled") {
            return "Containers keep crashing\(problem.contains("OOMKilled") ? " (OOMKilled: memory or GPU memory limits)" : ""). The previous container's logs say why: `kubectl logs POD -n \(namespace) --previous`."
        }
        if problem.contains("Pending") {
            return "Pods are Pending: usually no GPU capacity. Check `kubectl describe nodes | grep -A 5 \"Allocated resources\"`, `kubectl describe pod POD -n \(namespace)` and `kubectl get pvc -n \(namespace)`."
        }
        return timeoutHint(release: release, namespace: namespace)
    }

    public static func timeoutHint(release: String, namespace: String) -> String {
        "Check the release state with `helm history \(release) -n \(namespace)` and the startup/readiness probe timeouts with `kubectl describe deployment \(release) -n \(namespace)`."
    }

    public static func releaseNotFound(release: String, namespace: String, known: [String]) -> String {
        let others = known.filter { $0 != release }
        return "helm has no release `\(release)` in namespace `\(namespace)`. Verify with `helm list -n \(namespace)` or `helm list --all-namespaces`."
            + (others.isEmpty ? "" : " Releases Coxswain knows: \(others.sorted().joined(separator: ", ")).")
    }

    public static let registryStillDisabled = "The model stays *disabled* in the registry so no traffic is routed to an unhealthy deployment. Once it is healthy: `coxswain registry enable --model-name MODEL --environment ENV`."
}
