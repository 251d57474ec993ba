import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTTP face of the sandbox cluster: the paths, verbs, query parameters and answers of
/// the Kubernetes API that helm and kubectl use, in JSON.
struct KubernetesAPI: Sendable {
    let cluster: SandboxCluster
    let version: JSON

    init(cluster: SandboxCluster, kubernetesVersion: String = "v1.32.3") {
        self.cluster = cluster
        let parts = kubernetesVersion.dropFirst().split(separator: ".")
        version = [
            "major": .string(String(parts.first ?? "1")), "minor": .string(String(parts.dropFirst().first ?? "32")),
            "gitVersion": .string(kubernetesVersion + "+coxswain-sandbox"), "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.23.7", "compiler": "gc", "platform": "linux/amd64",
        ]
    }

    /// Where a request points: a resource type, maybe a namespace, a name and a subresource.
    struct Target {
        let type: ResourceType
        let namespace: String?
        let name: String?
        let subresource: String?
    }

    static func target(_ segments: [String]) -> Target? {
        let groupVersion: String
        var rest: ArraySlice<String>
        if segments.first == "api", segments.count >= 3 {
            groupVersion = segments[1]
            rest = segments[2...]
        } else if segments.first == "apis", segments.count >= 4 {
            groupVersion = "\(segments[1])/\(segments[2])"
            rest = segments[3...]
        } else {
            return nil
        }
        var namespace: String?
        if rest.first == "namespaces", rest.count >= 3 {
            namespace = rest[rest.startIndex + 1]
            rest = rest.dropFirst(2)
        }
        guard let plural = rest.first, let type = ResourceType.find(groupVersion: groupVersion, plural: plural) else { return nil }
        let name = rest.dropFirst().first
        let subresource = rest.dropFirst(2).first
        return Target(type: type, namespace: type.namespaced ? namespace : nil, name: name, subresource: subresource)
    }

    func respond(_ request: Request, context: some RequestContext) async throws -> Response {
        let path = request.uri.path
        let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        let query = request.uri.queryParameters
        switch path {
        case "/version": return Self.json(version)
        case "/api": return Self.json(ResourceType.coreVersions)
        case "/apis": return Self.json(ResourceType.groups)
        case "/healthz", "/readyz", "/livez": return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
        // No schemas: clients that validate (helm, kubectl) find none for a type and let the
        // server decide, as they do for a custom resource without one.
        case "/openapi/v3": return Self.json(["paths": [:]])
        case "/openapi/v2":
            // An empty OpenAPI v2 document in protobuf (zero bytes: every field at its default).
            var headers = HTTPFields()
            headers[.contentType] = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
            return Response(status: .ok, headers: headers)
        default: break
        }
        if segments.count == 2, segments[0] == "api", let list = ResourceType.resourceList(groupVersion: segments[1]) { return Self.json(list) }
        if segments.count == 3, segments[0] == "apis", let list = ResourceType.resourceList(groupVersion: "\(segments[1])/\(segments[2])") {
            return Self.json(list)
        }
        guard let target = Self.target(segments) else {
            return Self.failure(APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource"))
        }
        do {
            let labels = try LabelSelector(query["labelSelector"].map(String.init))
            let fields = try FieldSelector(query["fieldSelector"].map(String.init))
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let statusOnly = target.subresource == "status"
            let dryRun = query["dryRun"] != nil
            if target.type == .pods, target.subresource == "log", request.method == .get, let name = target.name {
                let pod = try await cluster.get(.pods, target.namespace, name)
                let lines = try PodBehaviour(pod: pod).log(of: pod, previous: ["true", "1"].contains(query["previous"].map(String.init) ?? ""))
                let tail = Int(query["tailLines"].map(String.init) ?? "") ?? lines.count
                return ModelEndpoints.text(lines.suffix(max(0, tail)).map { $0 + "\n" }.joined())
            }
            switch (request.method, target.name) {
            case (.get, nil) where ["true", "1"].contains(query["watch"].map(String.init) ?? ""):
                return await watch(target, labels: labels, fields: fields, query: query)
            case (.get, nil):
                return Self.json(await cluster.list(target.type, namespace: target.namespace, labels: labels, fields: fields))
            case (.get, let name?):
                return Self.json(try await cluster.get(target.type, target.namespace, name))
            case (.post, nil):
                let object = try Self.decode(body, contentType: request.headers[.contentType]).compacted
                if dryRun { return Self.json(object, status: .created) }
                return Self.json(try await cluster.create(target.type, namespace: target.namespace, object), status: .created)
            case (.put, let name?):
                let object = try Self.decode(body, contentType: request.headers[.contentType]).compacted
                if dryRun { return Self.json(object) }
                return Self.json(try await cluster.replace(target.type, namespace: target.namespace, name: name, object, statusOnly: statusOnly))
            case (.patch, let name?):
                guard let kind = PatchType(contentType: request.headers[.contentType]) else {
                    return Self.failure(
                        APIError(
                            code: 415, reason: "UnsupportedMediaType",
                            message: "the body of the request was in an unknown format - accepted media types include: "
                                + "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"))
                }
                let patch = kind == .apply ? try Self.decode(body).compacted : try Self.decode(body)
                if dryRun { return Self.json(try await cluster.get(target.type, target.namespace, name)) }
                let patched = try await cluster.patch(target.type, namespace: target.namespace, name: name, kind: kind, patch, statusOnly: statusOnly)
                return Self.json(patched)
            case (.delete, let name?):
                if dryRun { return Self.json(try await cluster.get(target.type, target.namespace, name)) }
                return Self.json(try await cluster.delete(target.type, namespace: target.namespace, name: name))
            default:
                return Self.failure(APIError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource"))
            }
        } catch let error as APIError {
            return Self.failure(error)
        } catch is SelectorError {
            return Self.failure(APIError.badRequest("unable to parse requirement: invalid label selector"))
        } catch {
            return Self.failure(APIError.badRequest("\(error)"))
        }
    }

    private func watch(_ target: Target, labels: LabelSelector, fields: FieldSelector, query: Parameters) async -> Response {
        let timeout = Int(query["timeoutSeconds"].map(String.init) ?? "") ?? 1800
        let events = await cluster.watch(
            target.type, namespace: target.namespace, labels: labels, fields: fields, resourceVersion: query["resourceVersion"].map(String.init),
            sendInitialEvents: query["sendInitialEvents"] == "true", timeout: .seconds(timeout))
        let body = ResponseBody { writer in
            for await event in events { try await writer.write(ByteBuffer(data: event.data + Data("\n".utf8))) }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.transferEncoding] = "chunked"
        return Response(status: .ok, headers: headers, body: body)
    }

    static func decode(_ body: ByteBuffer, contentType: String? = nil) throws -> JSON {
        if contentType?.hasPrefix(KubernetesProtobuf.contentType) == true {
            do { return try KubernetesProtobuf.decode(Data(buffer: body)) } catch {
                throw APIError(code: 415, reason: "UnsupportedMediaType", message: "the sandbox reads protobuf only for Secrets (helm's storage)")
            }
        }
        do { return try JSON.parse(Data(buffer: body)) } catch {
            throw APIError.badRequest("the body of the request was not valid JSON: \(error)")
        }
    }

    static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: value.data)))
    }

    static func failure(_ error: APIError) -> Response { json(error.status, status: HTTPResponse.Status(code: error.code)) }
}
