import Foundation

/// From revision X to revision Y, decided from the release's history.
///
/// For an upgrade, `to` is the revision helm will create and `targetVersion` the chart
/// version it will carry.
public struct RollbackPlan: Sendable, Equatable, Codable {
    public var from: HelmRevision
    public var to: HelmRevision
    public var targetVersion: String?

    public init(from: HelmRevision, to: HelmRevision, targetVersion: String? = nil) {
        self.from = from; self.to = to; self.targetVersion = targetVersion
    }

    /// "revision 5 -> 4", or "revision 5 -> 0.3.0" for an upgrade
    public var shortText: String { "revision \(from.revision) -> \(targetVersion ?? String(to.revision))" }
    /// "5->4" / "5->0.3.0": what an approval button carries, so a click counts only for the plan it showed.
    public var key: String { "\(from.revision)->\(targetVersion ?? String(to.revision))" }

    /// The stored form; approvals are bound to this exact text, so it is canonical.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
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
            return "`\(r)` has no revision \(requested). Revisions that exist: \(available.map(String.init).joined(separator: ", ")). Example: `/rollback \(r) \(available.dropLast().last ?? available.first ?? 1)`"
        case .targetIsCurrent(let r, let rev):
            return "`\(r)` is already at revision \(rev); name an earlier revision."
        case .noSuccessfulEarlierRevision(let r, let current, let available):
            return "`\(r)` has no earlier revision that was ever deployed successfully (status superseded) before revision \(current). Name one explicitly if you are sure: revisions \(available.map(String.init).joined(separator: ", "))."
        }
    }
}

/// Chooses the rollback target.
///
/// helm's own default (`helm rollback REL` or revision 0) is "current minus one", which can
/// land on a revision that failed. Coxswain picks the newest earlier revision whose status
/// shows it was once deployed successfully (`superseded`), unless the user named one.
public enum RollbackPlanner {
    public static func plan(release: String, history: [HelmRevision], requested: Int?) -> Result<RollbackPlan, RollbackRefusal> {
        let sorted = history.sorted { $0.revision < $1.revision }
        guard let current = sorted.last else { return .failure(.noHistory(release: release)) }
        guard sorted.count > 1 else { return .failure(.onlyOneRevision(release: release, revision: current.revision)) }
        let available = sorted.map(\.revision)
        if let requested {
            guard let target = sorted.first(where: { $0.revision == requested }) else {
                return .failure(.targetMissing(release: release, requested: requested, available: available))
            }
            guard target.revision != current.revision else { return .failure(.targetIsCurrent(release: release, revision: requested)) }
            return .success(RollbackPlan(from: current, to: target))
        }
        guard let target = sorted.dropLast().last(where: { $0.status == "superseded" }) else {
            return .failure(.noSuccessfulEarlierRevision(release: release, current: current.revision, available: available))
        }
        return .success(RollbackPlan(from: current, to: target))
    }
}

/// Plans an upgrade from the release's current revision to a chart version.
public enum UpgradePlanner {
    public static func plan(release: String, history: [HelmRevision], chartName: String, version: UpgradeVersion) -> Result<RollbackPlan, RollbackRefusal> {
        guard let current = history.max(by: { $0.revision < $1.revision }) else { return .failure(.noHistory(release: release)) }
        let target = HelmRevision(revision: current.revision + 1, status: "pending-upgrade", chart: "\(chartName)-\(version.display)",
                                  appVersion: "", description: "Upgrade to \(version.display)")
        return .success(RollbackPlan(from: current, to: target, targetVersion: version.display))
    }
}
