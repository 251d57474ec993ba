import Foundation

/// Judges what a model endpoint answered, as the seed's validation steps do.
public enum ProbeEvaluation {
    /// `/health` and `/ready` must answer 200. vLLM answers with an empty body; when a JSON
    /// `status` field is present it must be `ok` (health) or `ready`/`ok` (ready).
    public static func judge(path: String, statusCode: Int, body: Data) -> String? {
        guard statusCode == 200 else { return "GET \(path) answered HTTP \(statusCode)" }
        guard !body.isEmpty,
            let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let status = object["status"] as? String
        else { return nil }
        let accepted = path.hasSuffix("/ready") ? ["ready", "ok"] : ["ok"]
        return accepted.contains(status.lowercased()) ? nil : "GET \(path) answered status \"\(status)\" (expected \(accepted.joined(separator: " or ")))"
    }

    /// A completion must be HTTP 200 with at least one choice carrying text. Returns the
    /// text or the problem.
    public static func completionText(statusCode: Int, body: Data) -> Result<String, CompletionProblem> {
        guard statusCode == 200 else {
            let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
            return .failure(.init(description: "POST /v1/completions answered HTTP \(statusCode): \(excerpt)"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let choices = object["choices"] as? [[String: Any]],
            let text = choices.first?["text"] as? String, !text.isEmpty
        else {
            return .failure(.init(description: "POST /v1/completions answered without a choice carrying text"))
        }
        return .success(text)
    }

    public struct CompletionProblem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }
}
