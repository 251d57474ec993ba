import CoxswainCore
import Testing

@Suite struct RollbackCommandTests {
    func parse(_ text: String) -> Result<SlashCommand, CommandError> { SlashCommandParser.parse(command: "/rollback", text: text) }

    @Test func releaseAlone() {
        #expect(parse("llama-2-7b-production") == .success(.rollback(RollbackRequest(release: "llama-2-7b-production"))))
    }

    @Test func releaseRevisionAndReason() {
        #expect(parse("llama-2-7b-production 3") == .success(.rollback(RollbackRequest(release: "llama-2-7b-production", revision: 3))))
        #expect(parse("  llama-2-7b-production   pods OOM after upgrade ")
                == .success(.rollback(RollbackRequest(release: "llama-2-7b-production", reason: "pods OOM after upgrade"))))
        #expect(parse("llama-2-7b-production 4 bad weights")
                == .success(.rollback(RollbackRequest(release: "llama-2-7b-production", revision: 4, reason: "bad weights"))))
    }

    @Test("revision 0 means helm's 'previous', which Coxswain decides safely")
    func revisionZero() {
        #expect(parse("llama-2-7b-production 0") == .success(.rollback(RollbackRequest(release: "llama-2-7b-production"))))
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
        guard case .failure(let error) = SlashCommandParser.parse(command: "/deploy", text: "x") else { Issue.record("unknown accepted"); return }
        #expect(error.message.contains("/rollback"))
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
