import Foundation

extension SandboxCluster {
    /// What the controllers see, one line per workload object, for a test whose wait ran out:
    /// each Deployment's wanted and reported replicas, each ReplicaSet's revision, each pod's
    /// phase and readiness with its age, and when the controllers next wake by themselves.
    public func summary() -> String {
        let now = Date()
        var lines: [String] = []
        for deployment in store.list(.deployments, namespace: nil, labels: .everything, fields: .everything) {
            let status = deployment["status"]
            let reasons = (status["conditions"].array ?? []).map { "\($0["type"].string ?? "?")=\($0["reason"].string ?? "?")" }
            lines.append(
                "deployment \(Self.key(deployment)) gen \(deployment[path: "metadata.generation"].int ?? 0)"
                    + " observed \(status["observedGeneration"].int ?? 0) replicas \(deployment[path: "spec.replicas"].int ?? 1)"
                    + " updated \(status["updatedReplicas"].int ?? 0) ready \(status["readyReplicas"].int ?? 0)"
                    + " available \(status["availableReplicas"].int ?? 0) \(reasons.joined(separator: " "))")
        }
        // helm 3's wait also wants each ReplicaSet's generation observed, and finds the new one by its template.
        let templates = store.list(.deployments, namespace: nil, labels: .everything, fields: .everything).map { Self.withoutHash($0[path: "spec.template"]) }
        for set in store.list(.replicaSets, namespace: nil, labels: .everything, fields: .everything) {
            lines.append(
                "replicaset \(Self.key(set)) revision \(set[path: "metadata.annotations"][Self.revisionAnnotation].string ?? "?")"
                    + " gen \(set[path: "metadata.generation"].int ?? 0) observed \(set[path: "status.observedGeneration"].int ?? 0)"
                    + " wanted \(set[path: "spec.replicas"].int ?? 0) ready \(set[path: "status.readyReplicas"].int ?? 0)"
                    + " template \(templates.contains(Self.withoutHash(set[path: "spec.template"])) ? "a Deployment's" : "no Deployment's")")
        }
        for pod in store.list(.pods, namespace: nil, labels: .everything, fields: .everything) {
            let age = podStarted[Self.key(pod)].map { String(format: "%.2fs", now.timeIntervalSince($0)) } ?? "unknown"
            let ready = (pod[path: "status.conditions"].array ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
            lines.append("pod \(Self.key(pod)) \(pod[path: "status.phase"].string ?? "?") ready \(ready) age \(age)")
        }
        for watcher in watchers.values {
            lines.append(
                "watch \(watcher.type.plural) in \(watcher.namespace ?? "all namespaces") from \(watcher.since):"
                    + " \(watcher.sent) events sent since, the last at resource versions \(watcher.lastSent)")
        }
        // With the counts a wait reads, to tell a change no watch was sent from one a client misread.
        let deploymentChanges = store.log.filter { $0.resource == .deployments }.suffix(4).map {
            "\($0.resourceVersion) \($0.type) (ready \($0.object[path: "status.readyReplicas"].int ?? 0)"
                + " available \($0.object[path: "status.availableReplicas"].int ?? 0))"
        }
        lines.append("last Deployment changes: \(deploymentChanges.joined(separator: ", "))")
        lines.append("last requests and controller wake-ups:\n    " + recentRequests.joined(separator: "\n    "))
        let wake = wakeUpAt.map { String(format: "in %.2fs", $0.timeIntervalSince(now)) } ?? "none"
        lines.append("next wake-up: \(wake); open watches: \(watchers.count); resource version \(store.resourceVersion)")
        return lines.joined(separator: "\n")
    }

    /// Keeps the last requests the API answered and the controllers' wake-ups, for `summary()`.
    func note(request line: String) {
        recentRequests.append(line)
        if recentRequests.count > 60 { recentRequests.removeFirst(recentRequests.count - 60) }
    }
}
