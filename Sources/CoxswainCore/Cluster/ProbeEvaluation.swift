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

    /// `GET /v1/models` must list the model the release is configured for and, when the
    /// configuration gives one, that model's `max_model_len`: pods can come up healthy on other
    /// weights (a wrong image tag, a values file from another release), and a completion asked
    /// of another name would only fail later. Returns the note for the step or the problem.
    public static func servedModel(statusCode: Int, body: Data, expected model: String, maxModelLen: Int?) -> Result<String, CompletionProblem> {
        guard statusCode == 200 else {
            let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
            return .failure(.init(description: "GET /v1/models answered HTTP \(statusCode): \(excerpt)"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let data = object["data"] as? [[String: Any]] else {
            return .failure(.init(description: "GET /v1/models answered without a list of models (`data`)"))
        }
        let served = data.compactMap { $0["id"] as? String }
        guard let card = data.first(where: { $0["id"] as? String == model }) else {
            let names = served.isEmpty ? "no model" : served.map { "`\($0)`" }.joined(separator: ", ")
            return .failure(.init(description: "the server serves \(names), not `\(model)`, the model the release is configured for"))
        }
        let length = (card["max_model_len"] as? NSNumber)?.intValue
        guard let expected = maxModelLen else { return .success(length.map { "\(model) (max_model_len \($0))" } ?? model) }
        guard let length else {
            return .failure(.init(description: "`\(model)` is served, but GET /v1/models does not give its max_model_len (expected \(expected))"))
        }
        guard length == expected else {
            return .failure(.init(description: "`\(model)` is served with max_model_len \(length), but the release expects \(expected)"))
        }
        return .success("\(model) (max_model_len \(length))")
    }
}
