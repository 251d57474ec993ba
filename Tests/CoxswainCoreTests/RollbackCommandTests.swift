import CoxswainCore
import Foundation
import Testing

@Suite struct RollbackCommandTests {
    static let catalog = CommandCatalog(runbooks: try! RepositoryFiles.runbooks())

    func parse(_ text: String) -> Result<ParsedCommand, CommandError> {
        Self.catalog.parse(verb: "rollback", text: text, invoked: "/rollback", style: .slash)
    }

    func rollback(_ release: String, revision: Int? = nil, reason: String? = nil, emergency: Bool = false) -> Result<ParsedCommand, CommandError> {
        .success(.change(.rollback(release, revision: revision, reason: reason, emergency: emergency)))
    }

    @Test func releaseAlone() {
        #expect(parse("llama-2-7b-production") == rollback("llama-2-7b-production"))
    }

    @Test func releaseRevisionAndReason() {
        #expect(parse("llama-2-7b-production 3") == rollback("llama-2-7b-production", revision: 3))
        #expect(parse("  llama-2-7b-production   pods OOM after upgrade ") == rollback("llama-2-7b-production", reason: "pods OOM after upgrade"))
        #expect(parse("llama-2-7b-production 4 bad weights") == rollback("llama-2-7b-production", revision: 4, reason: "bad weights"))
    }

    @Test("a control character other than tab or a line break is refused, named, before anything else: U+0000 cannot be recorded")
    func controlCharacters() {
        guard case .failure(let error) = parse("llama-2-7b-production -- pods\u{0}OOM") else {
            Issue.record("a NUL in the reason was accepted")
            return
        }
        #expect(error.message.contains("U+0000") && error.message.contains("/rollback"))
        guard case .failure(let escape) = Self.catalog.parse(verb: "history", text: "x\u{1B}[2J", invoked: "/history", style: .slash) else {
            Issue.record("an escape sequence was accepted")
            return
        }
        #expect(escape.message.contains("U+001B"))
        #expect(parse("llama-2-7b-production -- pods OOM\n\tafter the upgrade") == rollback("llama-2-7b-production", reason: "pods OOM after the upgrade"))
        #expect(AuditDraft(actor: "U\u{0}1", event: "e", detail: "a\u{0}b").detail == "a\u{FFFD}b")
    }

    @Test("revision 0 means helm's 'previous', which Coxswain decides safely")
    func revisionZero() {
        #expect(parse("llama-2-7b-production 0") == rollback("llama-2-7b-production"))
    }

    @Test("a word that looks like an option is refused, never taken as the reason; after -- or in quotes it is text")
    func strictArguments() throws {
        guard case .failure(let error) = parse("llama-2-7b-production -n kube-system") else { Issue.record("-n accepted"); return }
        #expect(error.message.contains("`-n` is not an option of /rollback"))
        #expect(error.message.contains("after `--`"))
        guard case .failure = parse("llama-2-7b-production pods --force") else { Issue.record("--force accepted"); return }
        #expect(parse("llama-2-7b-production -- -n kube-system was wrong") == rollback("llama-2-7b-production", reason: "-n kube-system was wrong"))
        #expect(parse("llama-2-7b-production \"-n was wrong\" today") == rollback("llama-2-7b-production", reason: "-n was wrong today"))
        #expect(parse("llama-2-7b-production “-n was wrong”") == rollback("llama-2-7b-production", reason: "-n was wrong"))
        #expect(parse("llama-2-7b-production --emergency -- -p 40%") == rollback("llama-2-7b-production", reason: "-p 40%", emergency: true))
    }

    @Test func badInputSaysWhatIsAcceptedWithAnExample() throws {
        for text in ["", "Llama_2", "--all", "llama-2-7b-production;rm", "a-" + String(repeating: "x", count: 60)] {
            guard case .failure(let error) = parse(text) else { Issue.record("\(text) parsed"); continue }
            #expect(error.message.contains("/rollback"))
            #expect(error.message.contains("Example"))
        }
        guard case .failure(let negative) = parse("llama-2-7b-production -3") else { Issue.record("negative revision parsed"); return }
        #expect(negative.message.contains("positive"))
    }

    @Test func helpAndUnknownCommands() {
        guard case .success(.help(let text)) = parse("help") else { Issue.record("no help"); return }
        #expect(text.contains("REVISION (optional)"))
        guard case .failure(let error) = Self.catalog.parse(verb: "deploy", text: "x", invoked: "/deploy", style: .slash) else {
            Issue.record("unknown accepted"); return
        }
        #expect(error.message.contains("/rollback"))
    }

    @Test("commands come from the runbooks; a prefix renames them all; the umbrella takes a verb")
    func catalogNames() throws {
        let prefixed = CommandCatalog(prefix: "cx-", runbooks: Self.catalog.runbooks)
        #expect(prefixed.resolveSlash("/rollback", text: "x") == nil)
        let direct = try #require(prefixed.resolveSlash("/cx-rollback", text: "llama-2-7b-production 3"))
        #expect(direct.verb == "rollback" && direct.text == "llama-2-7b-production 3")
        let umbrella = try #require(prefixed.resolveSlash("/cx-coxswain", text: "status llama-2-7b-production"))
        #expect(umbrella.verb == "status" && umbrella.text == "llama-2-7b-production" && umbrella.invoked == "/cx-coxswain status")
        #expect(prefixed.descriptions().map(\.command).contains("/cx-approve"))
        #expect(prefixed.descriptions().map(\.command).last == "/cx-coxswain")
        let custom = CommandCatalog(
            runbooks: RunbookSet(
                Self.catalog.runbooks.all.map { runbook in
                    var renamed = runbook
                    if runbook.kind == .rollback { renamed.command = "/cx-rollback" }
                    return renamed
                }))
        #expect(
            custom.parse(verb: "cx-rollback", text: "llama-2-7b-production", invoked: "/cx-rollback", style: .slash)
                == .success(.change(.rollback("llama-2-7b-production", command: "/cx-rollback"))))
    }
}

@Suite struct ValidationTests {
    @Test func dnsLabels() {
        #expect(Validation.isReleaseName("llama-2-7b-production"))
        #expect(!Validation.isReleaseName("Llama"))
        #expect(!Validation.isReleaseName("-llama"))
        #expect(!Validation.isReleaseName("llama-"))
        #expect(!Validation.isReleaseName(String(repeating: "a", count: 54)))
        #expect(Validation.isNamespace(String(repeating: "a", count: 63)))
        #expect(!Validation.isNamespace("prod.ns"))
    }

    @Test func durations() {
        #expect(GoDuration(parsing: "10m0s")?.milliseconds == 600_000)
        #expect(GoDuration(parsing: "300s")?.kubectlForm == "300s")
        #expect(GoDuration(parsing: "300s")?.description == "5m0s")
        #expect(GoDuration(parsing: "1h30m")?.milliseconds == 5_400_000)
        #expect(GoDuration(parsing: "250ms")?.description == "250ms")
        #expect(GoDuration(parsing: "10") == nil)
        #expect(GoDuration(parsing: "ten minutes") == nil)
    }
}
