import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// One HTTP listener for everything the sandbox simulates: the Kubernetes API (what a
/// kubeconfig names), the model endpoints (`/models/…`), a Helm chart repository
/// (`/charts/…`) and the Slack Web API (`/slack/api/…`).
public struct SandboxServer: Sendable {
    public let cluster: SandboxCluster
    let kubernetes: KubernetesAPI
    let models: ModelEndpoints
    let slack = SlackSink()
    let chartsDirectory: URL?

    public init(cluster: SandboxCluster, chartsDirectory: URL? = nil, kubernetesVersion: String = "v1.32.3") {
        self.cluster = cluster
        kubernetes = KubernetesAPI(cluster: cluster, kubernetesVersion: kubernetesVersion)
        models = ModelEndpoints(cluster: cluster, traffic: ModelTraffic())
        self.chartsDirectory = chartsDirectory
    }

    public func respond(_ request: Request, context: some RequestContext) async throws -> Response {
        let response = try await route(request, context: context)
        context.logger.debug("\(request.method) \(request.uri) \(request.headers[.contentType] ?? "-") → \(response.status.code)")
        if !request.uri.path.hasPrefix("/models") {
            await cluster.note(request: "\(Date().timeIntervalSince1970) \(request.method) \(request.uri) → \(response.status.code)")
        }
        return response
    }

    private func route(_ request: Request, context: some RequestContext) async throws -> Response {
        let segments = request.uri.path.split(separator: "/").map(String.init)
        switch segments.first {
        case "models": return try await models.respond(request, segments: segments)
        case "slack": return try await slack.respond(request, segments: segments)
        case "charts": return chart(segments)
        default: return try await kubernetes.respond(request, context: context)
        }
    }

    private func chart(_ segments: [String]) -> Response {
        guard segments.count == 2, let folder = chartsDirectory, !segments[1].hasPrefix("."),
            let data = FileManager.default.contents(atPath: folder.appendingPathComponent(segments[1]).path)
        else { return ModelEndpoints.text("404 page not found", status: .notFound) }
        var headers = HTTPFields()
        headers[.contentType] = segments[1].hasSuffix(".yaml") ? "application/x-yaml" : "application/gzip"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(data: data)))
    }

    /// The listener, on `host:port` (0: any free port; `onRunning` hears which).
    public func application(
        host: String = "127.0.0.1", port: Int = 0, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let server = self
        return Application(
            responder: CallbackResponder { (request: Request, context: BasicRequestContext) in try await server.respond(request, context: context) },
            configuration: .init(address: .hostname(host, port: port), serverName: "coxswain-sandbox"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// A kubeconfig naming the sandbox's API server, as `kubectl config view` would write it.
    public static func kubeconfig(port: Int, namespace: String = "default") -> String {
        """
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            server: http://127.0.0.1:\(port)
          name: sandbox
        contexts:
        - context:
            cluster: sandbox
            namespace: \(namespace)
            user: sandbox
          name: sandbox
        current-context: sandbox
        users:
        - name: sandbox
          user:
            token: sandbox-token
        preferences: {}

        """
    }
}
