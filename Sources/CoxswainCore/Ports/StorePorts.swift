import Foundation

// The store, as the rest of Coxswain sees it: small ports, one per kind of record. SQLite's
// implementation lives in CoxswainStore, PostgreSQL's in CoxswainPostgresStore; nothing above
// the store knows which it has. Every method is one transaction.

public enum IntakeResult: Sendable {
    /// A new job, with how many jobs of the same release are ahead of it.
    case created(Job, jobsAhead: Int)
    /// The request joined an open job that already does what was asked.
    case joined(Job)
    /// The same request was accepted before (a chat platform's retry).
    case duplicate(Job)

    public var job: Job {
        switch self {
        case .created(let job, _), .joined(let job), .duplicate(let job): return job
        }
    }
}

/// How a front end reaches people and messages of a job: a Slack message's channel and
/// `ts`, a slash command's `response_url`. The domain never reads them; only the front end
/// that wrote them does.
public struct MessageReference: Sendable, Equatable {
    public var jobID: Int64
    public var platform: String
    /// `live`, `approval:2`, `person:U0123ALICE`
    public var role: String
    public var channel: String?
    public var ts: String?
    public var url: String?
    public init(jobID: Int64, platform: String, role: String, channel: String? = nil, ts: String? = nil, url: String? = nil) {
        self.jobID = jobID; self.platform = platform; self.role = role; self.channel = channel; self.ts = ts; self.url = url
    }
}

public protocol JobStore: Sendable {
    /// Accepts a request in one transaction: a retried request returns its job; otherwise
    /// the request joins the oldest open job `join` matches (`joined`), or a new job is
    /// stored (`created` gives what is recorded and told with it, from the job and how many
    /// jobs of its release are ahead of it). Returns once the transaction is durable.
    func accept(
        _ request: JobRequest, approvalsRequired: Int, requestKey: String, references: [MessageReference], now: Date, join: JoinFilter?,
        created: @escaping @Sendable (Job, Int) -> JobChange,
        joined: @escaping @Sendable (Job) -> JobChange
    ) async throws -> IntakeResult

    func job(id: Int64) async throws -> Job?

    /// Commits a transition: the job as it now is, its audit entries, notices and registry
    /// change. Throws `StoreConflict` when the job changed since `change.job.version` was read.
    @discardableResult
    func commit(_ change: JobChange, now: Date) async throws -> Job

    /// Takes the oldest queued job whose release (and model in its environment) has no
    /// running job, and commits `change` (which marks it running) in the same transaction.
    func claimNext(now: Date, change: @escaping @Sendable (Job) -> JobChange) async throws -> Job?

    /// Jobs of `environment` waiting for approval or confirmation since `cutoff` or longer.
    func waitingJobs(environment: String, since cutoff: Date) async throws -> [Job]
    /// When the longest wait in each of `environments` began, for those where a job waits: one
    /// read for all of them, since the worker asks on every pass.
    func oldestWaits(environments: [String]) async throws -> [String: Date]
    /// Queued rollbacks whose release is busy and whose basis revision is not read yet.
    func queuedWithoutBasis() async throws -> [Job]
    /// Jobs that have not ended: queued, waiting or running.
    func openJobs() async throws -> [Job]
    /// Jobs recorded as running, whoever runs them: what other runners may have to take over.
    func runningJobs() async throws -> [Job]
    func recentJobs(release: String?, limit: Int) async throws -> [Job]
    func unacknowledgedEmergencies() async throws -> [Job]
    /// The newest succeeded `/upgrade` of `release` to chart version `version`.
    func validatedUpgrade(release: String, version: String) async throws -> Job?
    /// For each revision from `oldest` on that a Coxswain job created (its helm rollback or
    /// upgrade ran), the newest job that did. Older revisions are out of helm's history window.
    func jobsByCreatedRevision(release: String, since oldest: Int) async throws -> [Int: Job]
    /// Revisions from `oldest` on that Coxswain's rollbacks of `release` rolled back from.
    func revisionsRolledBackFrom(release: String, since oldest: Int) async throws -> Set<Int>
    /// Revisions from `oldest` on that a Coxswain job created and whose watch after the change
    /// ended healthy, with that job's id: the revisions proven good under production traffic.
    func revisionsThatPassedAWatch(release: String, since oldest: Int) async throws -> [Int: Int64]
    /// How many jobs are in each state, per command and environment (for `/metrics`).
    func jobCounts() async throws -> [JobCount]
}

public struct JobCount: Sendable, Equatable {
    public var command: String
    public var environment: String
    public var state: String
    public var count: Int
    public init(command: String, environment: String, state: String, count: Int) {
        self.command = command; self.environment = environment; self.state = state; self.count = count
    }
}

/// A notice waiting for (or done with) delivery by one front end.
public struct OutboxItem: Sendable {
    public var id: Int64
    public var notice: Notice
    public var platform: String
    public var attempts: Int
    public var createdAt: Date
    /// Set when a send started; still set after a crash means "maybe sent".
    public var sendingSince: Date?
    /// A front end's own address for a notice that belongs to no job (a response URL).
    public var route: String?
    /// The request of the notice's job, for its channel and requester.
    public var request: JobRequest?
    /// The job's message references when the store read them with the notice; nil: the
    /// front end reads them.
    public var references: [MessageReference]?

    public init(
        id: Int64, notice: Notice, platform: String, attempts: Int, createdAt: Date, sendingSince: Date?, route: String?, request: JobRequest?,
        references: [MessageReference]? = nil
    ) {
        self.id = id; self.notice = notice; self.platform = platform; self.attempts = attempts; self.createdAt = createdAt
        self.sendingSince = sendingSince; self.route = route; self.request = request; self.references = references
    }
}

public protocol OutboxStore: Sendable {
    /// Notices that report no change of state (answers to questions), with a front end's route.
    func enqueue(_ notices: [Notice], platform: String, route: String?, now: Date) async throws
    /// Due notices, the first undelivered one of each job only (so a job's notices arrive in
    /// order), older versions of replaceable ones skipped. Each is marked as being sent.
    func due(platform: String, now: Date, limit: Int) async throws -> [OutboxItem]
    /// Notices marked as being sent when the process stopped: they may or may not have arrived.
    func inFlight(platform: String) async throws -> [OutboxItem]
    /// When the next notice falls due, if any is waiting.
    func nextDue(platform: String) async throws -> Date?
    /// Records a notice as delivered; true when that gave the turn to another notice of its
    /// job (which is then due).
    @discardableResult
    func delivered(_ id: Int64, reference: MessageReference?, now: Date) async throws -> Bool
    /// Tries these again at `notBefore`, in one write; `countsAsAttempt` is false when the
    /// platform only said "later".
    func retry(_ ids: [Int64], error: String, notBefore: Date, countsAsAttempt: Bool) async throws
    /// Gives up on a notice, with the audit entry and the notices that tell people so.
    func failed(_ id: Int64, error: String, audit: AuditDraft?, followUps: [Notice], now: Date) async throws
    func references(jobID: Int64, platform: String) async throws -> [MessageReference]
    func saveReference(_ reference: MessageReference) async throws
    func pending(platform: String) async throws -> (count: Int, oldest: Date?)
    /// The newest notice of a job at a place, whatever front end it was for: what the job's
    /// live message (or approval request) says now.
    func latest(jobID: Int64, place: Notice.Place) async throws -> Notice?
    /// Every notice of a job (or of all jobs), oldest first, for `coxswain jobs show`.
    func notices(jobID: Int64?) async throws -> [(notice: Notice, state: String, attempts: Int)]
    /// `platform` takes no new post before `until` (a rate limit): new jobs' notices for it
    /// are written due then (`NoticePlatforms`).
    func holdPosts(on platform: String, until: Date)
}

public struct RegistryEntry: Sendable, Equatable, Codable {
    public var model: String
    public var environment: String
    public var release: String
    public var endpoint: String
    public var status: RegistryStatus
    public var updatedAt: Date
    public var updatedBy: String
    public init(model: String, environment: String, release: String, endpoint: String, status: RegistryStatus, updatedAt: Date, updatedBy: String) {
        self.model = model; self.environment = environment; self.release = release; self.endpoint = endpoint
        self.status = status; self.updatedAt = updatedAt; self.updatedBy = updatedBy
    }
}

public struct UnknownRegistryEntry: Error, CustomStringConvertible {
    public let model: String
    public let environment: String
    public let known: [String]
    public init(model: String, environment: String, known: [String]) { self.model = model; self.environment = environment; self.known = known }
    public var description: String {
        "no model `\(model)` in environment `\(environment)` in the registry. Known: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
    }
}

public protocol RegistryStore: Sendable {
    /// Every configured release gets a row; existing rows keep their status (a model disabled
    /// before a restart stays disabled) but follow the configured endpoint.
    func seed(_ releases: [CoxswainConfiguration.Release], now: Date) async throws
    @discardableResult
    func setStatus(model: String, environment: String, status: RegistryStatus, actor: String, reason: String, now: Date) async throws -> RegistryEntry
    func entries(environment: String?) async throws -> [RegistryEntry]
    func entry(model: String, environment: String) async throws -> RegistryEntry?
}

/// One entry of the audit trail. `seq` is its place in the one order every replica shares and
/// `hash` chains it to the entry before (`AuditChain`); both are written with the entry.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var id: Int64
    public var seq: Int64
    public var at: Date
    public var jobID: Int64?
    public var actor: String
    public var event: String
    public var detail: String
    public var hash: String
    public init(id: Int64, seq: Int64, at: Date, jobID: Int64?, actor: String, event: String, detail: String, hash: String) {
        self.id = id; self.seq = seq; self.at = at; self.jobID = jobID; self.actor = actor; self.event = event; self.detail = detail
        self.hash = hash
    }
}

/// The audit trail's newest entry: where the next one chains from and what a checkpoint signs.
public struct AuditHead: Sendable, Equatable {
    public var seq: Int64
    public var hash: String
    public init(seq: Int64, hash: String) { self.seq = seq; self.hash = hash }
}

/// A signed checkpoint as the store keeps it: the line that was published, the entry it covers
/// and the hash of the checkpoint it extends (`AuditChain.genesis` for the first). Only one
/// checkpoint may extend another, so two servers cannot fork the sequence.
public struct StoredCheckpoint: Sendable, Equatable {
    public var seq: Int64
    public var line: String
    public var previous: String
    public init(seq: Int64, line: String, previous: String) { self.seq = seq; self.line = line; self.previous = previous }
}

/// The audit trail is append-only: the store offers no update or delete, and the database
/// refuses them.
public protocol AuditStore: Sendable {
    func append(_ draft: AuditDraft, jobID: Int64?, notices: [Notice], now: Date) async throws
    /// The newest `limit` entries, oldest first.
    func tail(limit: Int) async throws -> [AuditEntry]
    /// Up to `limit` entries after `seq`, in chain order.
    func entries(after seq: Int64, limit: Int) async throws -> [AuditEntry]
    func entries(jobID: Int64) async throws -> [AuditEntry]
    /// The newest entry's place and hash; nil while the trail is empty.
    func head() async throws -> AuditHead?
    /// The newest checkpoint recorded, nil before the first.
    func lastCheckpoint() async throws -> StoredCheckpoint?
    /// Records `checkpoint` with the notices that publish it, unless another checkpoint already
    /// extends the same one (another server was first): then false, and nothing is written.
    func record(_ checkpoint: StoredCheckpoint, notices: [Notice], now: Date) async throws -> Bool
}

/// Who does the work that must happen once per database (sending messages, watches,
/// housekeeping): one server at a time holds the lease and renews it. Jobs are claimed one
/// by one by any server (`RunnerClaim`).
public struct Lease: Sendable, Equatable {
    public var holder: String
    public var host: String
    public var pid: Int
    /// Where `pid` names a process (`RunnerIdentity.processSpace`).
    public var processSpace: String
    public var expiresAt: Date
    public init(holder: String, host: String, pid: Int, processSpace: String = "", expiresAt: Date) {
        self.holder = holder; self.host = host; self.pid = pid; self.processSpace = processSpace; self.expiresAt = expiresAt
    }
}

public protocol LeaseStore: Sendable {
    /// Takes or renews the lease for `holder` unless another holder's lease is still valid,
    /// which is returned instead. `replacing` names a holder known to be gone (its process
    /// no longer exists on this machine): its lease is taken at once.
    func acquire(_ lease: Lease, now: Date, replacing gone: String?) async throws -> Lease
    func release(holder: String) async throws
    /// Who holds the lease now, if anyone.
    func currentLease() async throws -> Lease?
}

extension LeaseStore {
    public func acquire(_ lease: Lease, now: Date) async throws -> Lease { try await acquire(lease, now: now, replacing: nil) }
}

/// Console identities: a person proves who they are with a token of theirs; only a digest
/// of it is stored. Every token expires; any can be revoked.
public protocol ConsoleTokenStore: Sendable {
    /// Stores a new token's digest and audits it; returns the token's id.
    func saveToken(user: String, digest: String, expiresAt: Date, issuedBy: String, now: Date) async throws -> Int64
    /// Digests of the tokens `user` may use at `now`: neither revoked nor expired.
    func tokenDigests(user: String, now: Date) async throws -> [String]
    /// Every token issued (to `user`, or to anyone), newest first; no secrets.
    func consoleTokens(user: String?) async throws -> [ConsoleToken]
    /// Revokes the token with this id, or every unrevoked token of `user`; audited. Returns the tokens revoked.
    func revokeTokens(_ which: ConsoleTokenSelection, by actor: String, now: Date) async throws -> [ConsoleToken]
}

/// A console token as the store describes it: never the token or its digest.
public struct ConsoleToken: Sendable, Equatable {
    public var id: Int64
    public var user: String
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(id: Int64, user: String, createdAt: Date, expiresAt: Date, revokedAt: Date?) {
        self.id = id; self.user = user; self.createdAt = createdAt; self.expiresAt = expiresAt; self.revokedAt = revokedAt
    }

    public func isUsable(at now: Date) -> Bool { revokedAt == nil && expiresAt > now }
}

public enum ConsoleTokenSelection: Sendable, Equatable {
    case id(Int64)
    case user(String)
}
