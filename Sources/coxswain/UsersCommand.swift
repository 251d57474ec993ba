import ArgumentParser
import CoxswainChat
import CoxswainCore
import Foundation

/// `coxswain users`: console tokens. A token proves who someone is to `coxswain shell` and
/// `coxswain run`; only its digest is stored, every token expires, any can be revoked.
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Console identities: issue, list and revoke tokens.", subcommands: [Token.self, List.self, Revoke.self])

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a console token for a Slack user id or a Mattermost user (mattermost:NAME); only its digest is stored.",
            discussion: """
                With --output the token is written to that file, readable by its owner only (mode 0600); without it, the token \
                is printed. Example: coxswain users token U0123ALICE --expires 30d --output ~/.coxswain-token
                """)
        @OptionGroup var options: ConfigOption
        @Argument(help: "The Slack user id (U0123ALICE) or Mattermost user (mattermost:alice), as members: names them.") var user: String
        @Option(help: ArgumentHelp("How long the token is valid: days (90d) or a duration (12h, 30m); 1m to 366d.", valueName: "90d|12h"))
        var expires: String = "90d"
        @Option(help: ArgumentHelp("Write the token to this file (mode 0600) instead of printing it.", valueName: "file")) var output: String?

        func run() async throws {
            guard Validation.isSlackID(user) || Validation.isMattermostUser(user) else {
                throw CLIError("\"\(user)\" is neither a Slack user id such as U0123ALICE nor a Mattermost user such as mattermost:alice")
            }
            guard let lifetime = Self.lifetime(expires) else {
                throw CLIError("--expires \"\(expires)\" is not a duration from 1m to 366d; accepted: days or a duration, e.g. --expires 30d, --expires 12h")
            }
            let store = try await StoreAccess.open(options.config, forWriting: true)
            let token = ConsoleTokens.generate()
            let now = Date()
            let expiry = now.addingTimeInterval(lifetime)
            if let output { try Self.writePrivately(token + "\n", to: output) }
            let id = try await store.stores.tokens.saveToken(
                user: user, digest: ConsoleTokens.digest(token), expiresAt: expiry, issuedBy: StoreAccess.actor, now: now)
            if output == nil { print(token) }
            let advice =
                "Console token \(id) for \(user), valid until \(expiry.iso8601)"
                + (output.map { ", written to \($0) (mode 0600)." } ?? "; it is shown only now. Keep it in a file only they can read (chmod 600).")
                + " Use it with `coxswain shell --as \(user) --token-file FILE`; `coxswain users revoke \(id)` withdraws it.\n"
            FileHandle.standardError.write(Data(advice.utf8))
        }

        /// "90d", or a duration as the configuration writes them ("12h", "1h30m"), in seconds; nil when it is
        /// neither, or outside 1 minute ... 366 days.
        static func lifetime(_ text: String) -> TimeInterval? {
            let seconds: Double
            if text.hasSuffix("d"), let days = Int(text.dropLast()) {
                seconds = Double(days) * 86_400
            } else if let duration = GoDuration(parsing: text) {
                seconds = Double(duration.milliseconds) / 1000
            } else {
                return nil
            }
            return (60...(366 * 86_400)).contains(seconds) ? seconds : nil
        }

        /// Creates (or replaces) `path` readable and writable by its owner only, whatever the umask.
        static func writePrivately(_ text: String, to path: String) throws {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            // An existing file keeps its mode through open(2): narrow it first.
            guard fchmod(descriptor, 0o600) == 0 else { throw CLIError("cannot make \(path) private: \(String(cString: strerror(errno)))") }
            let bytes = Array(text.utf8)
            guard write(descriptor, bytes, bytes.count) == bytes.count else { throw CLIError("cannot write \(path): \(String(cString: strerror(errno)))") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Console tokens issued, newest first: id, user, when issued and until when valid (no secrets).",
            discussion: "Example: coxswain users list --user U0123ALICE")
        @OptionGroup var options: ConfigOption
        @Option(help: "Only this Slack user's tokens.") var user: String?

        func run() async throws {
            let store = try await StoreAccess.open(options.config, forWriting: false)
            let tokens = try await store.stores.tokens.consoleTokens(user: user)
            guard !tokens.isEmpty else {
                print(user.map { "no console tokens for \($0)" } ?? "no console tokens; `coxswain users token USER` issues one")
                return
            }
            let now = Date()
            let rows = tokens.map { token in
                let state = token.revokedAt.map { "revoked \($0.iso8601)" } ?? (token.expiresAt > now ? "valid" : "expired")
                return ["\(token.id)", token.user, token.createdAt.iso8601, token.expiresAt.iso8601, state]
            }
            print(TextTable.render(["id", "user", "issued", "expires", "state"], rows))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke one console token by its id, or every token of a Slack user; audited.",
            discussion: "Examples: coxswain users revoke 7 · coxswain users revoke U0123ALICE")
        @OptionGroup var options: ConfigOption
        @Argument(help: ArgumentHelp("A token id (from `coxswain users list`) or a Slack user id.", valueName: "token-id|user")) var which: String

        func run() async throws {
            let selection: ConsoleTokenSelection
            if let id = Int64(which.trimmingCharacters(in: CharacterSet(charactersIn: "#"))) {
                selection = .id(id)
            } else if Validation.isSlackID(which) || Validation.isMattermostUser(which) {
                selection = .user(which)
            } else {
                throw CLIError("\"\(which)\" is neither a token id (e.g. 7) nor a Slack user id (e.g. U0123ALICE); `coxswain users list` shows both")
            }
            let store = try await StoreAccess.open(options.config, forWriting: true)
            let revoked = try await store.stores.tokens.revokeTokens(selection, by: StoreAccess.actor, now: Date())
            guard !revoked.isEmpty else {
                switch selection {
                case .id(let id): throw CLIError("no valid console token \(id) to revoke (unknown or already revoked); `coxswain users list` shows them")
                case .user(let user): throw CLIError("\(user) has no console token left to revoke")
                }
            }
            for token in revoked { print("revoked console token \(token.id) of \(token.user)") }
        }
    }
}
