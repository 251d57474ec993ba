import CoxswainCore
import Foundation
import Testing

/// Every parser that reads what people type or write, fed generated input: it answers or
/// refuses, never traps. Fixed seeds; the HTTP-level fuzzing is in the server's tests.
@Suite struct ParserFuzzTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let pieces = [
        "rollback", "llama-2-7b-production", "3", "0", "-3", "--", "--emergency", "--public", "-n", "\"", "“", "”", "'", "‘",
        " ", "  ", "\t", "#", "#12", "12", "99999999999999999999", "v0.3.0", "nightly-20260115", "latest", "\u{0}", "🚨", "-",
        "--override-promotion", "help", "Ω", "\\", "`", "<", ">", "&",
    ]

    func randomText(_ rng: inout Generator) -> String {
        (0..<Int(rng.next() % 12)).map { _ in Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))] }.joined()
    }

    @Test("command parsing: 20,000 generated texts for every verb, each answered or refused with a message")
    func commands() throws {
        let catalog = CommandCatalog(prefix: "cx-", runbooks: try RepositoryFiles.runbooks())
        var rng = Generator(state: 11)
        for _ in 0..<20_000 {
            let text = randomText(&rng)
            let verb = (catalog.verbs + ["coxswain", "nope", ""])[Int(rng.next() % UInt64(catalog.verbs.count + 3))]
            if case .failure(let error) = catalog.parse(verb: verb, text: text, invoked: "/cx-\(verb)", style: .slash) {
                #expect(!error.message.isEmpty)
            }
            _ = catalog.resolveSlash("/cx-" + randomText(&rng), text: text)
            _ = CommandWord.split(text)
        }
    }

    /// Lines of a real file, deleted, doubled, cut or with a character changed.
    func mutate(_ text: String, _ rng: inout Generator) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<(1 + Int(rng.next() % 3)) where !lines.isEmpty {
            let index = Int(rng.next() % UInt64(lines.count))
            switch rng.next() % 6 {
            case 0: lines.remove(at: index)
            case 1: lines.insert(lines[index], at: index)
            case 2: lines[index] = String(lines[index].prefix(Int(rng.next() % UInt64(max(1, lines[index].count)))))
            case 3: lines[index] += Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))]
            case 4:  // a piece inside the line, e.g. digits before a value's unit
                var characters = Array(lines[index])
                characters.insert(contentsOf: Self.pieces[Int(rng.next() % UInt64(Self.pieces.count))], at: Int(rng.next() % UInt64(characters.count + 1)))
                lines[index] = String(characters)
            default:
                var characters = Array(lines[index])
                if !characters.isEmpty { characters[Int(rng.next() % UInt64(characters.count))] = [":", "{", "[", "-", " ", "'", "\t"][Int(rng.next() % 7)] }
                lines[index] = String(characters)
            }
        }
        return lines.joined(separator: "\n")
    }

    @Test("configuration and runbook files: 3,000 mutated copies each load or are refused with the file and the key")
    func files() async throws {
        let configuration = try String(contentsOf: Self.root.appendingPathComponent("deploy/coxswain.example.yaml"), encoding: .utf8)
        let runbook = try String(contentsOf: Self.root.appendingPathComponent("commands/rollback.yaml"), encoding: .utf8)
        var rng = Generator(state: 12)
        for _ in 0..<3_000 {
            // Seconds of parsing: let the other tests' tasks run between files instead of
            // holding one of the two cooperative threads throughout (both crashes of the test
            // process in libdispatch's event loop happened while this loop held one).
            await Task.yield()
            do { _ = try ConfigurationLoader.parse(yaml: mutate(configuration, &rng), file: "c.yaml") } catch let error as ConfigurationError {
                #expect(error.description.hasPrefix("c.yaml"))
            }
            do { _ = try RunbookLoader.parse(yaml: mutate(runbook, &rng), file: "r.yaml") } catch let error as RunbookError {
                #expect(error.description.hasPrefix("r.yaml"))
            }
        }
    }
}
