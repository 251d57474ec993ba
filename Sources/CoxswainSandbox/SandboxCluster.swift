import Foundation

/// The sandbox cluster: its objects, the watches open on them, and the controllers that
/// turn Deployments into ReplicaSets and pods that start, become ready or fail as their
/// image says. One actor, so every API call sees one consistent state.
public actor SandboxCluster {
    struct Watcher {
        let type: ResourceType
        let namespace: String?
        let labels: LabelSelector
        let fields: FieldSelector
        let continuation: AsyncStream<JSON>.Continuation
        /// For `summary()`: where the watch started (with the versions of the initial objects
        /// and bookmark it was sent) and the versions of the last events sent after.
        let since: String
        var sent = 0
        var lastSent: [Int] = []
    }

    var store = ObjectStore()
    var watchers: [UUID: Watcher] = [:]
    /// When each pod was created, for its life cycle.
    var podStarted: [String: Date] = [:]
    /// When each Deployment started its current rollout, for its progress deadline.
    var progressSince: [String: Date] = [:]
    let timing: PodTiming
    var wakeUp: Task<Void, Never>?
    var wakeUpAt: Date?
    /// The last requests answered, oldest first (see `summary()`).
    var recentRequests: [String] = []

    public init(timing: PodTiming = PodTiming(), namespaces: [String] = ["default"], nodes: [SandboxNode] = SandboxNode.roomy) {
        self.timing = timing
        for name in Set(namespaces + ["default", "kube-system"]) {
            _ = try? store.create(.namespaces, namespace: nil, ["metadata": ["name": .string(name)]])
        }
        for node in nodes { _ = try? store.create(.nodes, namespace: nil, node.json) }
    }

    // MARK: the API

    func get(_ type: ResourceType, _ namespace: String?, _ name: String) throws(APIError) -> JSON {
        guard let object = store.get(type, namespace, name) else { throw APIError.notFound(type, name) }
        return object
    }

    func list(_ type: ResourceType, namespace: String?, labels: LabelSelector, fields: FieldSelector) -> JSON {
        let items = store.list(type, namespace: namespace, labels: labels, fields: fields)
        return [
            "kind": .string(type.kind + "List"), "apiVersion": .string(type.groupVersion),
            "metadata": ["resourceVersion": .string(String(store.resourceVersion))], "items": .array(items),
        ]
    }

    func create(_ type: ResourceType, namespace: String?, _ body: JSON) throws(APIError) -> JSON {
        let created = try store.create(type, namespace: namespace, body)
        afterChange()
        return created
    }

    func replace(_ type: ResourceType, namespace: String?, name: String, _ body: JSON, statusOnly: Bool) throws(APIError) -> JSON {
        let replaced = try store.replace(type, namespace: namespace, name: name, body, statusOnly: statusOnly)
        afterChange()
        return replaced
    }

    func patch(
        _ type: ResourceType, namespace: String?, name: String, kind: PatchType, _ body: JSON, statusOnly: Bool
    ) throws(APIError) -> JSON {
        guard let current = store.get(type, namespace, name) else {
            // Server-side apply creates what does not exist yet.
            guard kind == .apply else { throw APIError.notFound(type, name) }
            var object = body
            object[path: "metadata.name"] = .string(name)
            return try create(type, namespace: namespace, object)
        }
        var patched: JSON
        do {
            switch kind {
            case .merge: patched = Patches.merge(current, body)
            case .strategic: patched = Patches.strategic(current, body)
            case .json: patched = try Patches.jsonPatch(current, body)
            case .apply: patched = Self.apply(body, onto: current)
            }
        } catch let failure as PatchFailure {
            throw APIError(code: 422, reason: "Invalid", message: failure.message)
        } catch {
            throw APIError.badRequest("\(error)")
        }
        // A patch does not carry the version it was made from unless it says so.
        if body[path: "metadata.resourceVersion"] == .null {
            patched[path: "metadata.resourceVersion"] = current[path: "metadata.resourceVersion"]
        }
        if statusOnly {
            return try replace(type, namespace: namespace, name: name, patched, statusOnly: true)
        }
        // Patching the main resource never changes its status, as on a real API server.
        let result = try store.replace(type, namespace: namespace, name: name, patched)
        afterChange()
        return result
    }

    /// Server-side apply, for the fields helm applies: metadata labels and annotations are
    /// merged; every field the applied configuration names is set (mappings field by field,
    /// lists whole), and fields it does not name stay as another manager left them (a paused
    /// Deployment stays paused).
    static func apply(_ applied: JSON, onto current: JSON) -> JSON {
        func merged(_ applied: JSON, onto current: JSON) -> JSON {
            guard let fields = applied.object, current.object != nil else { return applied }
            var result = current
            for (key, value) in fields { result[key] = merged(value, onto: current[key]) }
            return result
        }
        var result = current
        for (key, value) in applied.object ?? [:] where !["metadata", "status", "kind", "apiVersion"].contains(key) {
            result[key] = merged(value, onto: current[key])
        }
        for field in ["labels", "annotations"] {
            let merged = current[path: "metadata.\(field)"].stringMap.merging(applied[path: "metadata.\(field)"].stringMap) { $1 }
            result[path: "metadata.\(field)"] = merged.isEmpty ? .null : JSON(merged)
        }
        return result
    }

    func delete(_ type: ResourceType, namespace: String?, name: String) throws(APIError) -> JSON {
        let gone = try store.delete(type, namespace: namespace, name: name)
        collectGarbage(owner: gone)
        afterChange()
        return [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success",
            "details": ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural), "uid": gone[path: "metadata.uid"]],
        ]
    }

    /// Deleting an owner deletes what it owns (foreground or background alike: at once here).
    private func collectGarbage(owner: JSON) {
        guard let uid = owner[path: "metadata.uid"].string else { return }
        for type in [ResourceType.replicaSets, .pods] {
            for object in store.list(type, namespace: owner[path: "metadata.namespace"].string, labels: .everything, fields: .everything)
            where (object[path: "metadata.ownerReferences"].array ?? []).contains(where: { $0["uid"].string == uid }) {
                if let gone = try? store.delete(type, namespace: object[path: "metadata.namespace"].string, name: object[path: "metadata.name"].string ?? "") {
                    collectGarbage(owner: gone)
                }
            }
        }
    }

    /// A watch: changes after `resourceVersion` (or, without one, every object as ADDED
    /// first), as JSON watch events, until `timeout` or the client goes away.
    func watch(
        _ type: ResourceType, namespace: String?, labels: LabelSelector, fields: FieldSelector, resourceVersion: String?,
        sendInitialEvents: Bool, timeout: Duration
    ) -> AsyncStream<JSON> {
        let (stream, continuation) = AsyncStream<JSON>.makeStream(bufferingPolicy: .unbounded)
        func matches(_ object: JSON) -> Bool {
            (namespace == nil || object[path: "metadata.namespace"].string == namespace)
                && labels.matches(object[path: "metadata.labels"].stringMap) && fields.matches(object)
        }
        let since = Int(resourceVersion ?? "") ?? 0
        var initial: [String] = []
        if since == 0 || sendInitialEvents {
            for object in store.list(type, namespace: namespace, labels: labels, fields: fields) {
                continuation.yield(["type": "ADDED", "object": object])
                initial.append(object[path: "metadata.resourceVersion"].string ?? "?")
            }
            if sendInitialEvents {
                initial.append("bookmark \(store.resourceVersion)")
                continuation.yield([
                    "type": "BOOKMARK",
                    "object": [
                        "kind": .string(type.kind), "apiVersion": .string(type.groupVersion),
                        "metadata": [
                            "resourceVersion": .string(String(store.resourceVersion)),
                            "annotations": ["k8s.io/initial-events-end": "true"],
                        ],
                    ],
                ])
            }
        } else if let oldest = store.log.first?.resourceVersion, since < oldest - 1 {
            continuation.yield([
                "type": "ERROR",
                "object": APIError(code: 410, reason: "Expired", message: "too old resource version: \(since) (\(oldest))").status,
            ])
            continuation.finish()
            return stream
        } else {
            for event in store.log where event.resourceVersion > since && event.resource == type && matches(event.object) {
                continuation.yield(["type": .string(event.type), "object": event.object])
            }
        }
        let id = UUID()
        watchers[id] = Watcher(
            type: type, namespace: namespace, labels: labels, fields: fields, continuation: continuation,
            since: "\(resourceVersion ?? "none")\(sendInitialEvents ? " (initial events)" : ""), sent at once: [\(initial.joined(separator: ", "))]")
        // The API server ends a watch after its timeoutSeconds; the client then watches again.
        let timer = Task {
            try? await Task.sleep(for: timeout)
            continuation.finish()
        }
        continuation.onTermination = { _ in
            timer.cancel()
            Task { await self.endWatch(id) }
        }
        return stream
    }

    private func endWatch(_ id: UUID) { watchers[id] = nil }

    /// Ends every open watch, as an API server does when it stops (its listener cannot stop
    /// gracefully while watches hold connections open).
    public func endWatches() {
        for watcher in watchers.values { watcher.continuation.finish() }
        watchers = [:]
        wakeUp?.cancel()
    }

    // MARK: after every change

    private var delivered = 0

    /// Runs the controllers, then tells the watches what changed.
    func afterChange() {
        reconcile()
        let fresh = store.log.drop { $0.resourceVersion <= delivered }
        for event in fresh {
            for (id, watcher) in watchers where watcher.type == event.resource {
                let object = event.object
                guard watcher.namespace == nil || object[path: "metadata.namespace"].string == watcher.namespace,
                    watcher.labels.matches(object[path: "metadata.labels"].stringMap), watcher.fields.matches(object)
                else { continue }
                watcher.continuation.yield(["type": .string(event.type), "object": object])
                watchers[id]?.sent += 1
                let versions = watcher.lastSent.suffix(5) + [event.resourceVersion]
                watchers[id]?.lastSent = Array(versions)
            }
        }
        delivered = store.resourceVersion
    }
}
