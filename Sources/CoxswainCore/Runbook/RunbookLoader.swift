import Foundation
import Yams

/// Reads and checks a runbook file. A runbook that would misbehave during an incident
/// (unknown action, typo in a setting, rollback before the history step decided a
/// target) stops start-up instead.
public enum RunbookLoader {
    public static func parse(yaml text: String, file: String) throws -> Runbook {
        func fail(_ step: String?, _ problem: String) -> RunbookError { RunbookError(file: file, step: step, problem: problem) }
        let root: Node?
        do { root = try Yams.compose(yaml: text, .basic) } catch let error as YamlError {
            let problem = ConfigurationError(yaml: error, file: file)
            throw fail(nil, problem.problem + (problem.line.map { " (line \($0), column \(problem.column ?? 0))" } ?? ""))
        }
        guard let mapping = root?.mapping else { throw fail(nil, "must be a mapping with command, description, usage and steps") }
        let topLevel = ["command", "description", "usage", "steps"]
        for key in mapping.keys.compactMap(\.string) where !topLevel.contains(key) {
            let nearest = YAMLShape.nearest(to: key, in: topLevel).map { "; did you mean `\($0)`?" } ?? "; settings: \(topLevel.joined(separator: ", "))"
            throw fail(nil, "`\(key)` is not a setting\(nearest)")
        }

        func string(_ key: String) throws -> String {
            guard let value = mapping[key]?.string, !value.isEmpty else { throw fail(nil, "`\(key)` is required (a string)") }
            return value
        }
        let command = try string("command")
        guard Validation.isSlashCommand(command) else {
            throw fail(nil, "`command` must be a slash and a lowercase name of at most 31 characters, e.g. /rollback, got \(command)")
        }
        guard let stepNodes = mapping["steps"]?.sequence, !stepNodes.isEmpty else {
            throw fail(nil, "`steps` is required: a list of steps, each with an `action`")
        }

        var steps: [RunbookStep] = []
        for (index, node) in stepNodes.enumerated() {
            let label = "\(index + 1)"
            guard let stepMap = node.mapping else { throw fail(label, "must be a mapping with action and title") }
            guard let actionName = stepMap["action"]?.string else {
                throw fail(label, "`action` is required; one of: \(RunbookAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard let action = RunbookAction(rawValue: actionName) else {
                throw fail(label, "unknown action `\(actionName)`; known actions: \(RunbookAction.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let named = "\(label) (\(actionName))"
            let keys = Set(stepMap.keys.compactMap(\.string)).subtracting(["action", "title"])
            if let unknown = keys.subtracting(action.allowedKeys).sorted().first {
                let allowed = action.allowedKeys.sorted()
                throw fail(named, "unknown setting `\(unknown)`; \(actionName) accepts \(allowed.isEmpty ? "no settings" : allowed.joined(separator: ", "))")
            }
            if let missing = action.requiredKeys.subtracting(keys).sorted().first {
                throw fail(named, "`\(missing)` is required, e.g. \(missing): 10m0s")
            }
            func duration(_ key: String) throws -> GoDuration? {
                guard let node = stepMap[key] else { return nil }
                guard let text = node.string, let value = GoDuration(parsing: text), value.milliseconds > 0 else {
                    throw fail(named, "`\(key)` must be a duration such as 300s or 10m0s")
                }
                return value
            }
            func integer(_ key: String, range: ClosedRange<Int>) throws -> Int? {
                guard let node = stepMap[key] else { return nil }
                guard let value = node.int, range.contains(value) else {
                    throw fail(named, "`\(key)` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
                }
                return value
            }
            if steps.contains(where: { $0.action == action }) { throw fail(named, "`\(actionName)` appears twice") }
            steps.append(
                RunbookStep(
                    title: stepMap["title"]?.string ?? actionName,
                    action: action,
                    timeout: try duration("timeout"),
                    max: try integer("max", range: 1...256),
                    slo: try duration("slo"),
                    prompt: stepMap["prompt"]?.string,
                    maxTokens: try integer("max_tokens", range: 1...4096),
                    unschedulableAfter: try duration("unschedulable_after")))
        }
        try checkOrder(steps, fail: fail)
        return Runbook(command: command, description: try string("description"), usage: try string("usage"), steps: steps)
    }

    /// The order the seed's procedure depends on.
    private static func checkOrder(_ steps: [RunbookStep], fail: (String?, String) -> RunbookError) throws {
        func position(_ action: RunbookAction) -> Int? { steps.firstIndex { $0.action == action } }
        // Only read-only checks may precede the history step, which decides the plan.
        guard let history = position(.helmHistory), steps[..<history].allSatisfy(\.action.isCheckOnly) else {
            throw fail(
                nil,
                "the first step must be helm.history (only version.policy and promotion.gate may come before it): it decides the target before "
                    + "anything is touched"
            )
        }
        // The approval gate runs right after `confirm`: nothing may change before it.
        if let firstChange = steps.firstIndex(where: \.action.isMutating) {
            guard let confirm = position(.confirm), confirm < firstChange else {
                throw fail(nil, "confirm must come before \(steps[firstChange].action.rawValue): approvals are checked at confirm, before anything changes")
            }
        }
        // The capacity and GitOps checks need the plan and must be seen by the approver.
        for check in [RunbookAction.capacityCheck, .gitopsCheck] {
            if let at = position(check), !(history < at && at < (position(.confirm) ?? steps.count)) {
                throw fail(nil, "\(check.rawValue) must come after helm.history and before confirm: the approver sees what it found")
            }
        }
        if position(.helmRollback) != nil && position(.helmUpgrade) != nil {
            throw fail(nil, "a runbook either rolls back (helm.rollback) or upgrades (helm.upgrade), not both")
        }
        if let rollback = position(.helmRollback), let disable = position(.registryDisable), disable > rollback {
            throw fail(nil, "registry.disable must come before helm.rollback: traffic must stop before the release changes")
        }
        if let enable = position(.registryEnable) {
            for check in [RunbookAction.podsWait, .probeHealth, .probeModels, .probeCompletion] {
                if let p = position(check), p > enable { throw fail(nil, "registry.enable must come after \(check.rawValue): validate before re-enabling") }
            }
            guard position(.registryDisable) != nil else { throw fail(nil, "registry.enable without registry.disable") }
        }
    }
}
