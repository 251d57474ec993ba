import Foundation

/// From revision X to revision Y, decided from the release's history.
///
/// For an upgrade, `to` is the revision helm will create and `targetVersion` the chart
/// version it will carry.
public struct RollbackPlan: Sendable, Equatable, Codable {
    public var from: HelmRevision
    public var to: HelmRevision
    public var targetVersion: String?
    /// Why a rollback goes to `to`; nil for an upgrade (and for plans stored before it was recorded).
    public var rule: TargetRule?
    /// Whether the rollout fits on the GPUs left (the capacity check), once it has run.
    public var capacity: CapacityPlan?
    /// Who else keeps the release as Git says (the GitOps check), when someone does.
    public var gitops: GitOpsPlan?

    public init(from: HelmRevision, to: HelmRevision, targetVersion: String? = nil, rule: TargetRule? = nil) {
        self.from = from; self.to = to; self.targetVersion = targetVersion; self.rule = rule
    }

    /// "revision 5 -> 4", or "revision 5 -> 0.3.0" for an upgrade
    public var shortText: String { "revision \(from.revision) -> \(targetVersion ?? String(to.revision))" }
    /// "5->4" / "5->0.3.0": what an approval button carries, so a click counts only for the plan it showed.
    public var key: String { "\(from.revision)->\(targetVersion ?? String(to.revision))" }

    /// The plan as decided from the history, before the checks after it (capacity, GitOps) added to it.
    public var asDecided: RollbackPlan {
        var plan = self
        plan.capacity = nil
        plan.gitops = nil
        return plan
    }

    /// Reads the stored form back.
    public init?(json: String) {
        guard let plan = try? JSONDecoder().decode(RollbackPlan.self, from: Data(json.utf8)) else { return nil }
        self = plan
    }

    /// The stored form; approvals are bound to this exact text, so it is canonical.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// Which rule chose a rollback's target, said in the plan the approver sees.
public enum TargetRule: Sendable, Equatable, Codable {
    /// The requester named the revision.
    case requested
    /// The newest revision whose watch after the change (by job `job`) ended healthy.
    case passedWatch(job: Int64)
    /// No eligible revision passed a watch: the newest that deployed and that no rollback left.
    case lastDeployed

    public var text: String {
        switch self {
        case .requested: return "the revision asked for"
        case .passedWatch(let job): return "the newest revision that passed a watch after its change (job #\(job))"
        case .lastDeployed: return "the newest revision that deployed and that no rollback left (none newer passed a watch)"
        }
    }
}

/// Why a rollback will not be attempted. Decided before anything is touched.
public enum RollbackRefusal: Error, Sendable, Equatable {
    case noHistory(release: String)
    case onlyOneRevision(release: String, revision: Int)
    case targetMissing(release: String, requested: Int, available: [Int])
    case targetIsCurrent(release: String, revision: Int)
    case noSuccessfulEarlierRevision(release: String, current: Int, available: [Int])

    public var message: String {
        switch self {
        case .noHistory(let r):
            return "`\(r)` has no revisions in its Helm history; there is nothing to roll back to."
        case .onlyOneRevision(let r, let rev):
            return "`\(r)` is at revision \(rev) and has no earlier one: already at the first revision; fix forward with an upgrade."
        case .targetMissing(let r, let requested, let available):
            return "`\(r)` has no revision \(requested). Revisions that exist: \(available.map(String.init).joined(separator: ", ")). "
                + "Example: `/rollback \(r) \(available.dropLast().last ?? available.first ?? 1)`"
        case .targetIsCurrent(let r, let rev):
            return "`\(r)` already runs revision \(rev) (the current revision is it, or a rollback to it); name an earlier revision."
        case .noSuccessfulEarlierRevision(let r, let current, let available):
            return "`\(r)` has no earlier revision that deployed successfully and was not rolled back from, before revision \(current) "
                + "(failed and rolled-back revisions are skipped). Name one explicitly if you are sure: revisions "
                + "\(available.map(String.init).joined(separator: ", "))."
        }
    }
}

/// Chooses the rollback target.
///
/// helm's own default (`helm rollback REL` or revision 0) is "current minus one", which can
/// land on a revision that failed, or on the bad revision an earlier rollback left. Coxswain
/// picks, among the earlier revisions that were once deployed successfully (`superseded`),
/// were never rolled back from (helm's `Rollback to N` descriptions, and the revisions
/// Coxswain's own jobs rolled back from) and differ from what the release already runs, the
/// newest one proven good by a watch after its change (it, or a rollback that carried its
/// content, passed one), else the newest one.
public enum RollbackPlanner {
    public static func plan(
        release: String, history: [HelmRevision], requested: Int?,
        rolledBackFrom: Set<Int> = [], passedWatch: [Int: Int64] = [:]
    ) -> Result<RollbackPlan, RollbackRefusal> {
        let sorted = history.sorted { $0.revision < $1.revision }
        guard let current = sorted.last else { return .failure(.noHistory(release: release)) }
        guard sorted.count > 1 else { return .failure(.onlyOneRevision(release: release, revision: current.revision)) }
        let available = sorted.map(\.revision)
        let lineage = RevisionLineage(sorted)
        if let requested {
            guard let target = sorted.first(where: { $0.revision == requested }) else {
                return .failure(.targetMissing(release: release, requested: requested, available: available))
            }
            guard lineage.origin(of: target.revision) != lineage.origin(of: current.revision) else {
                return .failure(.targetIsCurrent(release: release, revision: requested))
            }
            return .success(RollbackPlan(from: current, to: target, rule: .requested))
        }
        let candidates = eligible(sorted, before: current, rolledBackFrom: rolledBackFrom)
        // A revision is proven by its own watch, or by the watch of a rollback that carried its content.
        var provenOrigins: [Int: Int64] = [:]
        for (revision, job) in passedWatch { provenOrigins[lineage.origin(of: revision)] = max(provenOrigins[lineage.origin(of: revision)] ?? job, job) }
        if let proven = candidates.last(where: { provenOrigins[lineage.origin(of: $0.revision)] != nil }),
            let job = provenOrigins[lineage.origin(of: proven.revision)]
        {
            return .success(RollbackPlan(from: current, to: proven, rule: .passedWatch(job: job)))
        }
        guard let target = candidates.last else {
            return .failure(.noSuccessfulEarlierRevision(release: release, current: current.revision, available: available))
        }
        return .success(RollbackPlan(from: current, to: target, rule: .lastDeployed))
    }

    /// The newest revision before `current` that deployed successfully, was never rolled back
    /// from, and differs from what `current` runs.
    public static func lastGood(_ history: [HelmRevision], before current: HelmRevision, rolledBackFrom: Set<Int> = []) -> HelmRevision? {
        eligible(history.sorted { $0.revision < $1.revision }, before: current, rolledBackFrom: rolledBackFrom).last
    }

    /// The revisions a rollback from `current` may go to, oldest first.
    static func eligible(_ sorted: [HelmRevision], before current: HelmRevision, rolledBackFrom: Set<Int>) -> [HelmRevision] {
        let lineage = RevisionLineage(sorted)
        let bad = Set((lineage.rolledBackFrom.union(rolledBackFrom)).map { lineage.origin(of: $0) })
        let running = lineage.origin(of: current.revision)
        return sorted.filter { revision in
            revision.revision < current.revision && ["superseded", "deployed"].contains(revision.status)
                && !bad.contains(lineage.origin(of: revision.revision)) && lineage.origin(of: revision.revision) != running
        }
    }
}

/// Which revision each revision really is: helm records a rollback as a new revision
/// (`Rollback to 3`) carrying revision 3's content.
struct RevisionLineage {
    private var copyOf: [Int: Int] = [:]
    /// Revisions that were current when a rollback replaced them.
    private(set) var rolledBackFrom: Set<Int> = []

    init(_ sorted: [HelmRevision]) {
        for (index, revision) in sorted.enumerated() {
            guard let target = Self.rollbackTarget(revision.description) else { continue }
            copyOf[revision.revision] = target
            if index > 0 { rolledBackFrom.insert(sorted[index - 1].revision) }
        }
    }

    /// N in helm's description `Rollback to N` (found anywhere in it). By hand rather than with a Regex, which
    /// would map the regex engine into the server (~1.5 MB resident) for the rest of its life.
    static func rollbackTarget(_ description: String) -> Int? {
        let bytes = Array(description.utf8), marker = Array("Rollback to ".utf8)
        var start = 0
        while start + marker.count < bytes.count {
            if bytes[start..<start + marker.count].elementsEqual(marker) {
                let digits = bytes[(start + marker.count)...].prefix { $0 >= 0x30 && $0 <= 0x39 }
                if !digits.isEmpty { return Int(String(decoding: digits, as: UTF8.self)) }
            }
            start += 1
        }
        return nil
    }

    /// The revision whose content `revision` carries (following rollbacks of rollbacks).
    func origin(of revision: Int) -> Int {
        var current = revision
        var seen: Set<Int> = []
        while let next = copyOf[current], seen.insert(current).inserted { current = next }
        return current
    }
}

/// Plans an upgrade from the release's current revision to a chart version.
public enum UpgradePlanner {
    public static func plan(release: String, history: [HelmRevision], chartName: String, version: UpgradeVersion) -> Result<RollbackPlan, RollbackRefusal> {
        guard let current = history.max(by: { $0.revision < $1.revision }) else { return .failure(.noHistory(release: release)) }
        let target = HelmRevision(
            revision: current.revision + 1, status: "pending-upgrade", chart: "\(chartName)-\(version.display)",
            appVersion: "", description: "Upgrade to \(version.display)")
        return .success(RollbackPlan(from: current, to: target, targetVersion: version.display))
    }
}
