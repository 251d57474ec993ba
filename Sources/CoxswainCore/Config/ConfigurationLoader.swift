import Foundation
import Yams

/// Parses `coxswain.yaml` (see `deploy/coxswain.example.yaml`) into a validated
/// `CoxswainConfiguration`; the server's `ConfigurationFiles` reads the file. It fails closed: an unknown key, a name that refers to nothing,
/// or an environment whose approvals nobody could give stops start-up, and every error
/// names the file, the line, the key and what was expected.
public enum ConfigurationLoader {
    /// - Parameter baseDirectory: what relative paths in the file are relative to; nil leaves them as written.
    public static func parse(yaml text: String, file: String, baseDirectory: String? = nil) throws -> CoxswainConfiguration {
        let root: Node
        do {
            // The basic resolver: every plain scalar stays a string and is converted where it is read. Yams's
            // default resolver compiles seven NSRegularExpressions, which maps ICU (~7 MB resident) for good.
            guard let node = try Yams.compose(yaml: text, .basic) else { throw ConfigurationError(file: file, key: "(file)", problem: "is empty") }
            root = node
        } catch let error as YamlError {
            throw ConfigurationError(yaml: error, file: file)
        }
        if let mismatch = configurationShape.check(root) {
            throw ConfigurationError(file: file, key: mismatch.path, problem: mismatch.problem, line: mismatch.line, column: mismatch.column)
        }
        let raw: RawConfiguration
        do {
            raw = try YAMLNodeDecoder.decode(RawConfiguration.self, from: root)
        } catch let error as DecodingError {
            let mark = root.node(at: error.pathComponents)?.mark
            throw ConfigurationError(file: file, key: error.keyPath, problem: error.problem, line: mark?.line, column: mark?.column)
        }
        return try raw.validated(file: file, root: root, baseDirectory: baseDirectory)
    }

    /// Every key the file may hold.
    static let configurationShape: YAMLShape = {
        let names = YAMLShape.list(.scalar, example: "[C0OPS, C0INCIDENT]")
        let signals = ServingSignal.allCases.map(\.rawValue)
        let queries = YAMLShape.fields(Dictionary(uniqueKeysWithValues: (["requests", "errors", "p95"] + signals).map { ($0, YAMLShape.scalar) }))
        let serving = ServingSignal.allCases.flatMap { ["\($0.rawValue)_\($0.againstBaseline ? "factor" : "over")", "\($0.rawValue)_for"] }
        let watchKeys = [
            "duration", "interval", "rate_window", "baseline_window", "error_rate", "error_for", "latency_factor", "latency_for", "min_requests",
            "auto_rollback",
        ]
        let scalars = Dictionary(uniqueKeysWithValues: (watchKeys + serving).map { ($0, YAMLShape.scalar) })
        let watch = YAMLShape.fields(scalars.merging(["queries": queries]) { $1 })
        return .fields([
            "server": .fields(["host": .scalar, "port": .scalar, "operator_host": .scalar, "operator_port": .scalar]),
            "command_prefix": .scalar,
            "database": .scalar,
            "commands": .scalar,
            "slack": .fields([
                "api_url": .scalar, "audit_channel": .scalar, "response_url_hosts": .list(.scalar, example: "[hooks.slack.com]"),
                "give_up_after": .scalar, "mode": .scalar, "edit_interval": .scalar,
            ]),
            "mattermost": .fields(["url": .scalar, "public_url": .scalar, "audit_channel": .scalar, "give_up_after": .scalar]),
            "cluster": .fields([
                "helm": .scalar, "kubectl": .scalar, "context": .scalar, "read_timeout": .scalar,
                "gpu_resources": .list(.scalar, example: "[nvidia.com/gpu, amd.com/gpu]"), "argocd_namespace": .scalar,
                "environment": .list(.scalar, example: "[AWS_PROFILE, AWS_REGION]"),
            ]),
            "worker": .fields(["max_concurrent_jobs": .scalar, "shutdown_grace": .scalar, "lease_duration": .scalar]),
            "environments": .named(
                .fields([
                    "namespace": .scalar, "approvals": .scalar, "approval_ttl": .scalar, "channels": names,
                    "release_channels": .list(.scalar, example: "[versioned, nightly]"), "promotion_after": .scalar, "read_requires_grant": .scalar,
                    "capacity": .fields(["when_short": .scalar]), "gitops": .scalar,
                    "watch": watch,
                ]), example: "production: { namespace: production }"),
            "releases": .named(
                .fields([
                    "model": .scalar, "environment": .scalar, "endpoint": .scalar, "namespace": .scalar, "ready_endpoint": .scalar,
                    "completion_slo": .scalar, "max_model_len": .scalar, "kind": .scalar, "chart": .scalar,
                    "values": .list(.scalar, example: "[values-production.yaml]"),
                    "deployment": .scalar, "watch_queries": queries,
                ]), example: "llama-2-7b-production: { model: llama-2-7b, environment: production, endpoint: http://… }"),
            "users": .named(.list(.scalar, example: "[development, production]"), example: "U0123ALICE: [production]"),
            "roles": .named(
                .fields([
                    "grants": .list(.scalar, example: "[rollback, cancel]"), "environments": .list(.scalar, example: "[production]"),
                    "usergroups": .list(.scalar, example: "[S0123ONCALL]"),
                ]), example: "approver: { grants: [approve], environments: [production] }"),
            "members": .named(.list(.scalar, example: "[approver]"), example: "U0789CAROL: [approver]"),
            "emergency": .fields(["reminder_interval": .scalar, "watch_timeout": .scalar]),
            "usergroup_ttl": .scalar,
            "prometheus": .fields(["url": .scalar, "token_file": .scalar, "timeout": .scalar]),
            "watch": watch,
            "retention": .fields(["notices": .scalar, "request_keys": .scalar]),
            "audit": .fields(["installation": .scalar, "checkpoint_interval": .scalar, "checkpoint_file": .scalar, "checkpoint_url": .scalar]),
        ])
    }()
}

extension ConfigurationError {
    init(yaml error: YamlError, file: String) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            self.init(file: file, key: "(file)", problem: "is not valid YAML: \(problem)", line: mark.line, column: mark.column)
        default:
            self.init(file: file, key: "(file)", problem: "is not valid YAML: \(error)")
        }
    }
}

extension DecodingError {
    var pathComponents: [String] {
        let path: [any CodingKey]
        switch self {
        case .keyNotFound(_, let context): path = context.codingPath
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): path = context.codingPath
        @unknown default: path = []
        }
        return path.map { $0.intValue.map(String.init) ?? $0.stringValue }
    }

    /// The dotted key the error is about, e.g. `releases.llama-2-7b-production.endpoint`.
    var keyPath: String {
        var parts = pathComponents
        if case .keyNotFound(let key, _) = self { parts.append(key.stringValue) }
        let text = parts.joined(separator: ".")
        return text.isEmpty ? "(top level)" : text
    }

    var problem: String {
        switch self {
        case .keyNotFound: return "is required but missing"
        case .typeMismatch(let type, _): return "has the wrong type: expected \(Self.describe(type))"
        case .valueNotFound(let type, _): return "is empty: expected \(Self.describe(type))"
        case .dataCorrupted(let context): return context.debugDescription
        @unknown default: return "is invalid"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type: return "a whole number"
        case is Bool.Type: return "true or false"
        case is [String].Type: return "a list of strings"
        default: return "a mapping (key: value)"
        }
    }
}
