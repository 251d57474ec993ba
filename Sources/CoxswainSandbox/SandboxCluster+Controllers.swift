import Foundation

/// The controllers the runbooks depend on, simplified but with the same observable results
/// as Kubernetes': a Deployment owns one ReplicaSet per pod template (numbered by the
/// `deployment.kubernetes.io/revision` annotation, reused and renumbered on rollback), the
/// new one is scaled up and the old ones down once the new pods are ready, and statuses
/// and conditions read as `kubectl rollout status`, helm's wait and kstatus expect.
extension SandboxCluster {
    static let revisionAnnotation = "deployment.kubernetes.io/revision"
    static let hashLabel = "pod-template-hash"

    func reconcile() {
        for _ in 0..<8 {
            let before = store.resourceVersion
            reconcileDeployments()
            reconcileReplicaSets()
            schedulePods()
            reconcilePods()
            if store.resourceVersion == before { break }
        }
        scheduleNextChange()
    }

    private func owned(by owner: JSON, _ type: ResourceType) -> [JSON] {
        let uid = owner[path: "metadata.uid"]
        return store.list(type, namespace: owner[path: "metadata.namespace"].string, labels: .everything, fields: .everything).filter {
            ($0[path: "metadata.ownerReferences"].array ?? []).contains { $0["uid"] == uid }
        }
    }

    private func ownerReference(_ owner: JSON, kind: String, apiVersion: String) -> JSON {
        [
            "apiVersion": .string(apiVersion), "kind": .string(kind), "name": owner[path: "metadata.name"], "uid": owner[path: "metadata.uid"],
            "controller": true, "blockOwnerDeletion": true,
        ]
    }

    /// Kubernetes' pod-template-hash: a 32-bit FNV hash of the template, its decimal digits
    /// spelt in the alphabet names are made of.
    static func templateHash(_ template: JSON) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in template.data {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(String(hash).utf8.map { alphabet[Int($0) % alphabet.count] })
    }

    static func withoutHash(_ template: JSON) -> JSON {
        var copy = template
        copy[path: "metadata.labels"][hashLabel] = .null
        if copy[path: "metadata.labels"].object?.isEmpty == true { copy[path: "metadata.labels"] = .null }
        return copy
    }

    private func isReady(_ pod: JSON) -> Bool {
        (pod[path: "status.conditions"].array ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
    }

    private func write(_ type: ResourceType, _ object: JSON, statusOnly: Bool = false) {
        _ = try? store.replace(
            type, namespace: object[path: "metadata.namespace"].string, name: object[path: "metadata.name"].string ?? "", object, statusOnly: statusOnly)
    }

    private func reconcileDeployments() {
        for deployment in store.list(.deployments, namespace: nil, labels: .everything, fields: .everything) {
            reconcile(deployment: deployment)
        }
    }

    private func reconcile(deployment: JSON) {
        let namespace = deployment[path: "metadata.namespace"].string
        let replicas = deployment[path: "spec.replicas"].int ?? 1
        let template = deployment[path: "spec.template"]
        var sets = owned(by: deployment, .replicaSets)
        let revision = { (set: JSON) in Int(set[path: "metadata.annotations"][Self.revisionAnnotation].string ?? "") ?? 0 }
        let newest = sets.map(revision).max() ?? 0
        var current = sets.first { Self.withoutHash($0[path: "spec.template"]) == Self.withoutHash(template) }
        let annotations = deployment[path: "metadata.annotations"].stringMap.filter {
            $0.key != Self.revisionAnnotation && $0.key != "kubectl.kubernetes.io/last-applied-configuration"
        }
        if var set = current {
            if revision(set) != newest {
                // A rollback: the old ReplicaSet becomes the newest revision again.
                set[path: "metadata.annotations"] = JSON(annotations.merging([Self.revisionAnnotation: String(newest + 1)]) { $1 })
                write(.replicaSets, set)
                progressSince[Self.key(deployment)] = Date()
            }
        } else {
            let hash = Self.templateHash(template)
            var podTemplate = template
            podTemplate[path: "metadata.labels"][Self.hashLabel] = .string(hash)
            var selector = deployment[path: "spec.selector"]
            selector["matchLabels"][Self.hashLabel] = .string(hash)
            var labels = template[path: "metadata.labels"].stringMap
            labels[Self.hashLabel] = hash
            let set: JSON = [
                "metadata": [
                    "name": .string("\(deployment[path: "metadata.name"].string ?? "")-\(hash)"), "labels": JSON(labels),
                    "annotations": JSON(annotations.merging([Self.revisionAnnotation: String(newest + 1)]) { $1 }),
                    "ownerReferences": [ownerReference(deployment, kind: "Deployment", apiVersion: "apps/v1")],
                ],
                "spec": ["replicas": 0, "selector": selector, "template": podTemplate],
            ]
            _ = try? store.create(.replicaSets, namespace: namespace, set)
            progressSince[Self.key(deployment)] = Date()
        }
        sets = owned(by: deployment, .replicaSets)
        current = sets.first { Self.withoutHash($0[path: "spec.template"]) == Self.withoutHash(template) }
        guard let newSet = current else { return }
        if deployment[path: "spec.paused"].bool != true {
            for (set, wanted) in scaled(sets, newSet: newSet, deployment: deployment) where set[path: "spec.replicas"].int != wanted {
                var set = set
                set[path: "spec.replicas"] = .int(wanted)
                write(.replicaSets, set)
            }
        }
        var updated = store.get(.deployments, namespace, deployment[path: "metadata.name"].string ?? "") ?? deployment
        let revisionNow = String(revision(store.get(.replicaSets, namespace, newSet[path: "metadata.name"].string ?? "") ?? newSet))
        if updated[path: "metadata.annotations"][Self.revisionAnnotation].string != revisionNow {
            updated[path: "metadata.annotations"][Self.revisionAnnotation] = .string(revisionNow)
            write(.deployments, updated)
            updated = store.get(.deployments, namespace, deployment[path: "metadata.name"].string ?? "") ?? updated
        }
        let status = deploymentStatus(updated, sets: owned(by: updated, .replicaSets), newSet: newSet)
        if updated["status"] != status {
            updated["status"] = status
            write(.deployments, updated, statusOnly: true)
        }
    }

    /// One step of the Deployment controller's strategy, as Kubernetes takes it: `Recreate` scales
    /// the old ReplicaSets to zero and starts the new one once their pods are gone;
    /// `RollingUpdate` grows the new one while all of them stay within replicas + maxSurge, and
    /// shrinks the old ones (not-ready pods first) while ready pods stay at least replicas -
    /// maxUnavailable. With maxSurge 0 and maxUnavailable 1, a pod is replaced one at a time,
    /// never needing room for one more.
    private func scaled(_ sets: [JSON], newSet: JSON, deployment: JSON) -> [(JSON, Int)] {
        let replicas = deployment[path: "spec.replicas"].int ?? 1
        let isNew = { (set: JSON) in set[path: "metadata.uid"] == newSet[path: "metadata.uid"] }
        var wanted = Dictionary(uniqueKeysWithValues: sets.map { ($0[path: "metadata.uid"].string ?? "", $0[path: "spec.replicas"].int ?? 0) })
        let newID = newSet[path: "metadata.uid"].string ?? ""
        let ready = Dictionary(uniqueKeysWithValues: sets.map { ($0[path: "metadata.uid"].string ?? "", owned(by: $0, .pods).filter(isReady).count) })
        let old = sets.filter { !isNew($0) }.sorted { revisionNumber($0) < revisionNumber($1) }
        let oldIDs = old.map { $0[path: "metadata.uid"].string ?? "" }
        let strategy = deployment[path: "spec.strategy"]
        if strategy["type"].string == "Recreate" {
            for id in oldIDs { wanted[id] = 0 }
            let oldPods = old.reduce(0) { $0 + owned(by: $1, .pods).count }
            wanted[newID] = oldPods == 0 ? replicas : (wanted[newID] ?? 0)
            return sets.map { ($0, wanted[$0[path: "metadata.uid"].string ?? ""] ?? 0) }
        }
        let surge = Self.count(strategy[path: "rollingUpdate.maxSurge"], of: replicas, roundUp: true)
        var unavailable = Self.count(strategy[path: "rollingUpdate.maxUnavailable"], of: replicas, roundUp: false)
        if surge == 0 && unavailable == 0 { unavailable = 1 }  // rounding down can give both zero; Kubernetes then allows one
        let total = { wanted.values.reduce(0, +) }
        let newWanted = wanted[newID] ?? 0
        if newWanted > replicas {
            wanted[newID] = replicas
        } else if newWanted < replicas {
            wanted[newID] = min(replicas, newWanted + max(0, replicas + surge - total()))
        }
        let minAvailable = replicas - unavailable
        var allowed = total() - minAvailable - ((wanted[newID] ?? 0) - (ready[newID] ?? 0))
        // Pods that are not ready go first: they serve nothing.
        for id in oldIDs where allowed > 0 {
            let notReady = max(0, (wanted[id] ?? 0) - (ready[id] ?? 0))
            let down = min(notReady, allowed)
            wanted[id] = (wanted[id] ?? 0) - down
            allowed -= down
        }
        var spare = ready.values.reduce(0, +) - minAvailable
        for id in oldIDs where spare > 0 && allowed > 0 {
            let down = min(wanted[id] ?? 0, spare, allowed)
            wanted[id] = (wanted[id] ?? 0) - down
            spare -= down
            allowed -= down
        }
        return sets.map { ($0, wanted[$0[path: "metadata.uid"].string ?? ""] ?? 0) }
    }

    private func revisionNumber(_ set: JSON) -> Int { Int(set[path: "metadata.annotations"][Self.revisionAnnotation].string ?? "") ?? 0 }

    /// maxSurge / maxUnavailable: a count, or a percentage of replicas (25% when unset).
    static func count(_ value: JSON, of replicas: Int, roundUp: Bool) -> Int {
        if let number = value.int { return max(0, number) }
        let text = value.string ?? "25%"
        guard text.hasSuffix("%"), let percent = Double(text.dropLast()) else { return Int(text) ?? 0 }
        let exact = Double(replicas) * percent / 100
        return Int(roundUp ? exact.rounded(.up) : exact.rounded(.down))
    }

    static func key(_ object: JSON) -> String {
        ObjectStore.key(object[path: "metadata.namespace"].string, object[path: "metadata.name"].string ?? "")
    }

    private func deploymentStatus(_ deployment: JSON, sets: [JSON], newSet: JSON) -> JSON {
        let replicas = deployment[path: "spec.replicas"].int ?? 1
        let pods = sets.flatMap { owned(by: $0, .pods) }
        let newPods = owned(by: newSet, .pods)
        let ready = pods.filter(isReady).count
        let updated = newPods.count
        let complete = updated == replicas && newPods.filter(isReady).count == replicas && pods.count == replicas
        let setName = newSet[path: "metadata.name"].string ?? ""
        let since = progressSince[Self.key(deployment)] ?? Date.distantPast
        let deadline = TimeInterval(deployment[path: "spec.progressDeadlineSeconds"].int ?? 600)
        let stamp = JSON.string(ObjectStore.timestamp(since))
        let progressing: JSON
        if complete {
            progressing = [
                "type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                "message": .string("ReplicaSet \"\(setName)\" has successfully progressed."), "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            ]
        } else if Date().timeIntervalSince(since) > deadline {
            progressing = [
                "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                "message": .string("ReplicaSet \"\(setName)\" has timed out progressing."), "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            ]
        } else {
            progressing = [
                "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                "message": .string("ReplicaSet \"\(setName)\" is progressing."), "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            ]
        }
        let available = ready >= replicas
        let availability: JSON = [
            "type": "Available", "status": available ? "True" : "False",
            "reason": available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
            "message": available ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
            "lastUpdateTime": stamp, "lastTransitionTime": stamp,
        ]
        var status: JSON = [
            "observedGeneration": deployment[path: "metadata.generation"], "replicas": .int(pods.count), "updatedReplicas": .int(updated),
            "readyReplicas": .int(ready), "availableReplicas": .int(ready), "conditions": [availability, progressing],
        ]
        if pods.count - ready > 0 { status["unavailableReplicas"] = .int(max(replicas, pods.count) - ready) }
        if ready == 0 {
            status["readyReplicas"] = .null
            status["availableReplicas"] = .null
        }
        return status
    }

    private func reconcileReplicaSets() {
        for set in store.list(.replicaSets, namespace: nil, labels: .everything, fields: .everything) {
            let namespace = set[path: "metadata.namespace"].string
            let wanted = set[path: "spec.replicas"].int ?? 0
            var pods = owned(by: set, .pods)
            let setName = set[path: "metadata.name"].string ?? ""
            while pods.count < wanted {
                var pod = set[path: "spec.template"]
                pod[path: "metadata.name"] = .string("\(setName)-\(ObjectStore.randomSuffix())")
                pod[path: "metadata.ownerReferences"] = [ownerReference(set, kind: "ReplicaSet", apiVersion: "apps/v1")]
                pod["status"] = ["phase": "Pending"]
                guard let created = try? store.create(.pods, namespace: namespace, pod) else { break }
                pods.append(created)
            }
            for extra in pods.sorted(by: { !isReady($0) && isReady($1) }).prefix(max(0, pods.count - wanted)) {
                _ = try? store.delete(.pods, namespace: namespace, name: extra[path: "metadata.name"].string ?? "")
                podStarted[Self.key(extra)] = nil
                pods.removeAll { $0[path: "metadata.uid"] == extra[path: "metadata.uid"] }
            }
            let ready = pods.filter(isReady).count
            var status: JSON = [
                "replicas": .int(pods.count), "fullyLabeledReplicas": .int(pods.count), "observedGeneration": set[path: "metadata.generation"],
            ]
            if ready > 0 {
                status["readyReplicas"] = .int(ready)
                status["availableReplicas"] = .int(ready)
            }
            if set["status"] != status, var current = store.get(.replicaSets, namespace, setName) {
                current["status"] = status
                write(.replicaSets, current, statusOnly: true)
            }
        }
    }

    private func reconcilePods() {
        let now = Date()
        for pod in store.list(.pods, namespace: nil, labels: .everything, fields: .everything) {
            let started = podStarted[Self.key(pod)] ?? now
            let (status, _) = PodBehaviour(pod: pod).status(
                of: pod, elapsed: now.timeIntervalSince(started), timing: timing, unschedulable: unschedulableMessage(pod))
            if pod["status"] != status {
                var changed = pod
                changed["status"] = status
                write(.pods, changed, statusOnly: true)
            }
        }
    }

    /// Wakes the controllers when the next pod or rollout changes by itself; nothing runs
    /// while nothing is due.
    func scheduleNextChange() {
        let now = Date()
        var next: Date?
        for pod in store.list(.pods, namespace: nil, labels: .everything, fields: .everything) {
            let started = podStarted[Self.key(pod)] ?? now
            let unschedulable = unschedulableMessage(pod)
            if let change = PodBehaviour(pod: pod).status(of: pod, elapsed: now.timeIntervalSince(started), timing: timing, unschedulable: unschedulable)
                .nextChange
            {
                let at = now.addingTimeInterval(max(0.01, change))
                next = min(next ?? at, at)
            }
        }
        for deployment in store.list(.deployments, namespace: nil, labels: .everything, fields: .everything)
        where deployment[path: "status.conditions"].array?.contains(where: { $0["reason"] == "ReplicaSetUpdated" }) == true {
            let since = progressSince[Self.key(deployment)] ?? now
            let at = since.addingTimeInterval(TimeInterval(deployment[path: "spec.progressDeadlineSeconds"].int ?? 600) + 0.01)
            next = min(next ?? at, at)
        }
        guard let next, next != wakeUpAt else { return }
        wakeUp?.cancel()
        wakeUpAt = next
        note(request: "\(now.timeIntervalSince1970) controllers: wake-up set for \(next.timeIntervalSince1970)")
        wakeUp = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(Int(max(0, next.timeIntervalSinceNow) * 1000) + 1))
            if Task.isCancelled { return }
            await self?.wake()
        }
    }

    private func wake() {
        note(request: "\(Date().timeIntervalSince1970) controllers: woken")
        wakeUpAt = nil
        afterChange()
    }
}
