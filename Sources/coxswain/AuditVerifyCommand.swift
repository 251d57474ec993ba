import ArgumentParser
import CoxswainAudit
import CoxswainChat
import CoxswainCore
import CoxswainHTTP
import CoxswainServer
import Foundation

extension Audit {
    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the Ed25519 key that signs the audit trail's checkpoints.",
            discussion: """
                Writes the private key to --out (mode 0600; an existing file is never replaced) and prints the public key. \\
                Give the server the private key as COXSWAIN_AUDIT_SIGNING_KEY_FILE (a Secret); keep the public key where \\
                whoever verifies the trail can find it, away from the server: `coxswain audit verify --public-key` needs it.
                Example: coxswain audit keygen --out /etc/coxswain/audit-signing.key
                """)
        @Option(help: ArgumentHelp("Where to write the private key.", valueName: "file")) var out: String

        func run() async throws {
            let key = AuditSigningKey.generate()
            let descriptor = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                let reason = String(cString: strerror(errno))
                throw CLIError("could not create \(out): \(reason) (an existing key is never replaced; remove it first if you mean to)")
            }
            let bytes = Array((key.base64 + "\n").utf8)
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            guard written == bytes.count, synced else { throw CLIError("could not write \(out): \(String(cString: strerror(errno)))") }
            print("""
                Wrote the private key to \(out) (mode 0600). Give it to the server as COXSWAIN_AUDIT_SIGNING_KEY_FILE=\(out).
                The public key, for `coxswain audit verify --public-key`; keep it off the server:
                \(key.publicKey.base64)
                """)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove the audit trail was not changed: recompute its hash chain and check the signed checkpoints.",
            discussion: """
                Reports the first entry that does not match its hash, entries missing from the sequence, a tail deleted \\
                below the last published checkpoint, a checkpoint not signed by the public key, and a checkpoint that does \\
                not extend the one before. Without checkpoints only the chain is checked, and a trail rewritten as a whole \\
                would pass: give the checkpoints published off the machine (the checkpoint file, or the audit channel's \\
                lines saved to a file). Exit status: 0 when everything holds, 1 when something does not, 2 when it could \\
                not be checked.
                Example: coxswain audit verify --config /etc/coxswain/coxswain.yaml --public-key audit.pub --checkpoints checkpoints.log
                """)
        @OptionGroup var options: ConfigOption
        @Option(help: ArgumentHelp("The public key `coxswain audit keygen` printed, or a file holding it.", valueName: "key|file"))
        var publicKey: String?
        @Option(help: ArgumentHelp("A file of checkpoint lines (other lines are skipped); may be given more than once.", valueName: "file"))
        var checkpoints: [String] = []
        @Flag(help: "Read the checkpoints back from the audit channel (slack.audit_channel; SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE).")
        var fromSlack = false
        @Option(help: ArgumentHelp("Verify an `audit export` file instead of the database.", valueName: "file")) var export: String?

        func run() async throws {
            let report: AuditVerification
            do {
                let key = try publicKey.map(Self.readPublicKey)
                var published = try checkpoints.flatMap(Self.readCheckpoints)
                if fromSlack { published += try await checkpointsInSlack() }
                if !published.isEmpty && key == nil { throw CLIError("checkpoints are only worth checking with their public key: give --public-key") }
                report = try await verify(checkpoints: published, key: key)
            } catch {
                FileHandle.standardError.write(Data("coxswain: \(error)\n".utf8))
                throw ExitCode(2)
            }
            let range = report.head.map { "entries 1 to \($0.seq), head \($0.hash.prefix(16))…" } ?? "no entries"
            print("audit trail: \(report.entries) entries read (\(range))")
            let given = !checkpoints.isEmpty || fromSlack
            print("checkpoints: \(report.checkpointsChecked) checked" + (given ? "" : " (none given: a trail rewritten as a whole would pass)"))
            for problem in report.problems { print("FAILED  \(problem)") }
            guard report.holds else {
                print("the audit trail does NOT verify: \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
                throw ExitCode(1)
            }
            print("the audit trail verifies")
        }

        private func verify(checkpoints: [Checkpoint], key: AuditPublicKey?) async throws -> AuditVerification {
            var verification = AuditVerification(checkpoints: checkpoints, publicKey: key)
            if let export {
                let decoder = AuditExport.decoder()
                guard let text = try? String(contentsOfFile: export, encoding: .utf8) else { throw CLIError("cannot read \(export)") }
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
                    do {
                        verification.add(try decoder.decode(AuditEntry.self, from: Data(line.utf8)))
                    } catch {
                        throw CLIError("\(export):\(number + 1) is not an audit entry as `coxswain audit export` writes them")
                    }
                }
            } else {
                let store = try await StoreAccess.open(options.config, forWriting: false)
                var after: Int64 = 0
                while true {
                    let page = try await store.stores.audit.entries(after: after, limit: 1000)
                    guard let last = page.last?.seq else { break }
                    for entry in page { verification.add(entry) }
                    after = last
                }
            }
            verification.finish()
            return verification
        }

        /// The checkpoint lines the audit channel holds, oldest first; a message that mentions a
        /// checkpoint but is not one (someone typed it) is named and skipped.
        private func checkpointsInSlack() async throws -> [Checkpoint] {
            let environment = ProcessInfo.processInfo.environment
            let configuration = try ConfigurationFiles.configuration(options.config)
            guard let channel = configuration.slack.auditChannel else {
                throw CLIError("--from-slack reads the audit channel, and \(options.config) names none (slack.audit_channel)")
            }
            guard let token = try ConfigurationFiles.secret("SLACK_BOT_TOKEN", environment) else {
                throw CLIError("--from-slack reads the audit channel with the bot token: set SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE")
            }
            let http = OutboundHTTP(environment: environment)
            let texts: [String]
            do {
                texts = try await SlackWebClient(http: http, apiURL: configuration.slack.apiURL, token: Secret(token)).channelTexts(channel: channel)
                await http.shutdown()
            } catch {
                await http.shutdown()
                throw CLIError("could not read the audit channel \(channel): \(error)")
            }
            var found: [Checkpoint] = []
            for text in texts where text.contains(Checkpoint.prefix) {
                switch Checkpoint.parse(text) {
                case .success(let checkpoint): found.append(checkpoint)
                case .failure(let error): FileHandle.standardError.write(Data("coxswain: skipped a message in \(channel): \(error)\n".utf8))
                }
            }
            guard !found.isEmpty else { throw CLIError("the audit channel \(channel) holds no checkpoint lines") }
            return found
        }

        static func readPublicKey(_ argument: String) throws -> AuditPublicKey {
            let text = FileManager.default.fileExists(atPath: argument) ? (try? String(contentsOfFile: argument, encoding: .utf8)) ?? "" : argument
            do {
                return try AuditPublicKey(base64: text)
            } catch {
                throw CLIError("--public-key \(argument): \(error.description)")
            }
        }

        static func readCheckpoints(_ path: String) throws -> [Checkpoint] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read the checkpoints in \(path)") }
            var found: [Checkpoint] = []
            for (number, line) in text.split(separator: "\n").enumerated() where line.contains(Checkpoint.prefix) {
                switch Checkpoint.parse(String(line)) {
                case .success(let checkpoint): found.append(checkpoint)
                case .failure(let error): throw CLIError("\(path):\(number + 1) is \(error)")
                }
            }
            guard !found.isEmpty else { throw CLIError("\(path) holds no checkpoint lines (they start with \"\(Checkpoint.prefix)\")") }
            return found
        }
    }
}
