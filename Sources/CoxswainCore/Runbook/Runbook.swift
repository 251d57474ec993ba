import Foundation

/// One action a runbook step can name. The worker knows how to run each one.
public enum RunbookAction: String, Sendable, CaseIterable, Codable {
    case versionPolicy = "version.policy"
    case promotionGate = "promotion.gate"
    case helmHistory = "helm.history"
    case chartExists = "chart.exists"
    case capacityCheck = "capacity.check"
    case gitopsCheck = "gitops.check"
    case helmUpgrade = "helm.upgrade"
    case confirm
    case registryDisable = "registry.disable"
    case helmRollback = "helm.rollback"
    case podsWait = "pods.wait"
    case probeHealth = "probe.health"
    case probeModels = "probe.models"
    case probeCompletion = "probe.completion"
    case registryEnable = "registry.enable"
    case verify

    /// Actions that change the cluster or the registry. They must come after `confirm`,
    /// where the approval gate stands.
    public var isMutating: Bool { [.registryDisable, .helmRollback, .helmUpgrade, .registryEnable].contains(self) }

    /// Actions that only read and decide; they may come before the history step.
    public var isCheckOnly: Bool { self == .versionPolicy || self == .promotionGate }

    /// The settings a step with this action may carry, and which of them it must carry.
    var allowedKeys: Set<String> {
        switch self {
        case .helmHistory: return ["max"]
        case .helmRollback, .helmUpgrade, .podsWait: return ["timeout", "unschedulable_after"]
        case .probeHealth, .probeModels, .chartExists: return ["timeout"]
        case .probeCompletion: return ["slo", "prompt", "max_tokens"]
        case .confirm, .registryDisable, .registryEnable, .verify, .versionPolicy, .promotionGate, .capacityCheck, .gitopsCheck: return []
        }
    }
    var requiredKeys: Set<String> {
        switch self {
        case .helmRollback, .helmUpgrade, .podsWait: return ["timeout"]
        default: return []
        }
    }
}

/// A step of a runbook as written in `commands/*.yaml`.
public struct RunbookStep: Sendable, Equatable {
    public var title: String
    public var action: RunbookAction
    public var timeout: GoDuration?
    public var max: Int?
    public var slo: GoDuration?
    public var prompt: String?
    public var maxTokens: Int?
    /// How long a new pod may stay unschedulable (no GPU free) before a wait for pods gives up
    /// early; a cluster autoscaler may add a node meanwhile.
    public var unschedulableAfter: GoDuration?

    public init(
        title: String, action: RunbookAction, timeout: GoDuration? = nil, max: Int? = nil,
        slo: GoDuration? = nil, prompt: String? = nil, maxTokens: Int? = nil, unschedulableAfter: GoDuration? = nil
    ) {
        self.title = title; self.action = action; self.timeout = timeout; self.max = max
        self.slo = slo; self.prompt = prompt; self.maxTokens = maxTokens; self.unschedulableAfter = unschedulableAfter
    }

    /// `unschedulable_after`, two minutes when the runbook does not say.
    public var unschedulableGrace: GoDuration { unschedulableAfter ?? GoDuration(milliseconds: 120_000) }
}

/// A slash command's procedure, loaded from `commands/NAME.yaml` at start-up.
public struct Runbook: Sendable, Equatable {
    public var command: String
    public var description: String
    public var usage: String
    public var steps: [RunbookStep]

    public func step(_ action: RunbookAction) -> RunbookStep? { steps.first { $0.action == action } }
}

/// A runbook file that cannot be used, phrased so the author can fix it.
public struct RunbookError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let step: String?
    public let problem: String
    public init(file: String, step: String?, problem: String) { self.file = file; self.step = step; self.problem = problem }
    public var description: String { "\(file)\(step.map { ": step \($0)" } ?? ""): \(problem)" }
}
