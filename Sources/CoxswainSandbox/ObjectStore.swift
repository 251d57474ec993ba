import Foundation

/// A failure the Kubernetes API reports as a `Status` object, with its reason and code.
struct APIError: Error, Sendable {
    let code: Int
    let reason: String
    let message: String
    var details: JSON = .null

    static func notFound(_ type: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "\(type.qualifiedName) \"\(name)\" not found",
            details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }
    static func alreadyExists(_ type: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 409, reason: "AlreadyExists", message: "\(type.qualifiedName) \"\(name)\" already exists",
            details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }
    static func conflict(_ type: ResourceType, _ name: String) -> APIError {
        APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(type.qualifiedName) \"\(name)\": the object has been modified; "
                + "please apply your changes to the latest version and try again",
            details: ["name": .string(name), "group": .string(type.group), "kind": .string(type.plural)])
    }
    static func badRequest(_ message: String) -> APIError { APIError(code: 400, reason: "BadRequest", message: message) }
    static func invalid(_ type: ResourceType, _ name: String, _ message: String) -> APIError {
        APIError(code: 422, reason: "Invalid", message: "\(type.kind) \"\(name)\" is invalid: \(message)")
    }

    var status: JSON {
        var status: JSON = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure", "message": .string(message),
            "reason": .string(reason), "code": .int(code),
        ]
        if details != .null { status["details"] = details }
        return status
    }
}

/// One change, as a watch reports it.
struct StoredEvent: Sendable {
    let resourceVersion: Int
    let type: String  // ADDED, MODIFIED, DELETED
    let resource: ResourceType
    let object: JSON
}

/// The objects of the sandbox cluster with the API server's bookkeeping: resource versions,
/// uids, generations, and a log of recent changes for watches that resume.
struct ObjectStore: Sendable {
    private(set) var objects: [ResourceType: [String: JSON]] = [:]
    private(set) var resourceVersion = 100
    private(set) var log: [StoredEvent] = []
    static let logLimit = 20_000

    static func key(_ namespace: String?, _ name: String) -> String { "\(namespace ?? "")/\(name)" }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    func get(_ type: ResourceType, _ namespace: String?, _ name: String) -> JSON? { objects[type]?[Self.key(namespace, name)] }

    func list(_ type: ResourceType, namespace: String?, labels: LabelSelector, fields: FieldSelector) -> [JSON] {
        (objects[type] ?? [:]).values
            .filter { namespace == nil || $0[path: "metadata.namespace"].string == namespace }
            .filter { labels.matches($0[path: "metadata.labels"].stringMap) && fields.matches($0) }
            .sorted {
                ($0[path: "metadata.namespace"].string ?? "", $0[path: "metadata.name"].string ?? "") < (
                    $1[path: "metadata.namespace"].string ?? "", $1[path: "metadata.name"].string ?? ""
                )
            }
    }

    private func requireNamespace(_ type: ResourceType, _ namespace: String?) throws(APIError) {
        guard type.namespaced, let namespace else { return }
        guard get(.namespaces, nil, namespace) != nil else { throw APIError.notFound(.namespaces, namespace) }
    }

    mutating func create(_ type: ResourceType, namespace: String?, _ body: JSON) throws(APIError) -> JSON {
        var object = body
        if object[path: "metadata.name"].string?.isEmpty ?? true, let prefix = object[path: "metadata.generateName"].string {
            object[path: "metadata.name"] = .string(prefix + Self.randomSuffix())
        }
        guard let name = object[path: "metadata.name"].string, !name.isEmpty else {
            throw APIError.invalid(type, "", "metadata.name: Required value: name or generateName is required")
        }
        try requireNamespace(type, namespace)
        if let declared = object[path: "metadata.namespace"].string, !declared.isEmpty, declared != namespace, type.namespaced {
            throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        guard get(type, namespace, name) == nil else { throw APIError.alreadyExists(type, name) }
        object["kind"] = .string(type.kind)
        object["apiVersion"] = .string(type.groupVersion)
        if type.namespaced { object[path: "metadata.namespace"] = .string(namespace ?? "default") }
        object[path: "metadata.uid"] = .string(UUID().uuidString.lowercased())
        object[path: "metadata.creationTimestamp"] = .string(Self.timestamp())
        object[path: "metadata.resourceVersion"] = .null
        object[path: "metadata.generation"] = 1
        if type == .services, object[path: "spec.clusterIP"] == .null {
            object[path: "spec.clusterIP"] = .string("10.96.\(Int.random(in: 1...254)).\(Int.random(in: 1...254))")
        }
        if type == .namespaces { object["status"] = ["phase": "Active"] }
        // No storage to provision: a claim is bound at once, as helm's wait expects.
        if type == .persistentVolumeClaims {
            object["status"] = ["phase": "Bound", "accessModes": object[path: "spec.accessModes"], "capacity": object[path: "spec.resources.requests"]]
        }
        return record(type, "ADDED", object)
    }

    /// PUT: the whole object. A stale `resourceVersion` is a conflict; status stays as it
    /// was for types with a status subresource unless `subresource` is `status`.
    mutating func replace(_ type: ResourceType, namespace: String?, name: String, _ body: JSON, statusOnly: Bool = false) throws(APIError) -> JSON {
        guard let current = get(type, namespace, name) else { throw APIError.notFound(type, name) }
        if let sent = body[path: "metadata.resourceVersion"].string, !sent.isEmpty, sent != current[path: "metadata.resourceVersion"].string {
            throw APIError.conflict(type, name)
        }
        var object: JSON
        if statusOnly {
            object = current
            object["status"] = body["status"]
        } else {
            object = body
            for field in ["uid", "creationTimestamp", "generation", "namespace", "name"] {
                object[path: "metadata.\(field)"] = current[path: "metadata.\(field)"]
            }
            object["kind"] = .string(type.kind)
            object["apiVersion"] = .string(type.groupVersion)
            if type.hasStatus { object["status"] = current["status"] }
            if let generation = current[path: "metadata.generation"].int, object["spec"] != current["spec"] {
                object[path: "metadata.generation"] = .int(generation + 1)
            }
        }
        if object == current { return current }
        return record(type, "MODIFIED", object)
    }

    mutating func delete(_ type: ResourceType, namespace: String?, name: String) throws(APIError) -> JSON {
        guard let current = get(type, namespace, name) else { throw APIError.notFound(type, name) }
        var gone = current
        gone[path: "metadata.deletionTimestamp"] = .string(Self.timestamp())
        return record(type, "DELETED", gone)
    }

    /// Stores a change under a new resource version and logs it for watches.
    private mutating func record(_ type: ResourceType, _ event: String, _ object: JSON) -> JSON {
        resourceVersion += 1
        var stored = object
        stored[path: "metadata.resourceVersion"] = .string(String(resourceVersion))
        let key = Self.key(stored[path: "metadata.namespace"].string, stored[path: "metadata.name"].string ?? "")
        if event == "DELETED" { objects[type]?[key] = nil } else { objects[type, default: [:]][key] = stored }
        log.append(StoredEvent(resourceVersion: resourceVersion, type: event, resource: type, object: stored))
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
        return stored
    }

    static func randomSuffix(_ count: Int = 5) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<count).map { _ in alphabet.randomElement() ?? "x" })
    }
}
