import CoxswainCore
import Foundation
import Hummingbird

/// `GET /api/v1/registry[?environment=E]`: which models may receive traffic, for API routers.
struct RegistryController: Sendable {
    let registry: any RegistryStore
    let environments: [String]

    struct Entry: Codable, ResponseEncodable {
        var model: String
        var environment: String
        var release: String
        var endpoint: String
        var status: String
        var updatedAt: Date
        var updatedBy: String
    }
    struct Listing: ResponseEncodable { var models: [Entry] }
    struct Problem: ResponseEncodable { var error: String }

    func list(_ request: Request, context: some RequestContext) async throws -> Response {
        let environment = request.uri.queryParameters.get("environment")
        if let environment, !environments.contains(environment) {
            return try Problem(
                error:
                    "unknown environment \"\(environment)\"; known: \(environments.sorted().joined(separator: ", ")). Example: "
                    + "/api/v1/registry?environment=\(environments.sorted().first ?? "production")"
            )
            .response(from: request, context: context).withStatus(.badRequest)
        }
        let entries = try await registry.entries(environment: environment).map {
            Entry(
                model: $0.model, environment: $0.environment, release: $0.release, endpoint: $0.endpoint,
                status: $0.status.rawValue, updatedAt: $0.updatedAt, updatedBy: $0.updatedBy)
        }
        return try Listing(models: entries).response(from: request, context: context)
    }
}

extension Response {
    func withStatus(_ status: HTTPResponse.Status) -> Response {
        var copy = self
        copy.status = status
        return copy
    }
}
