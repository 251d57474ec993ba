import ArgumentParser
import CoxswainChat
import CoxswainCore
import Foundation

/// `coxswain shell`: the console front end. Commands go through the same dispatcher as
/// Slack's (same permissions, approvals and audit trail) over the server's operators'
/// listener, so it works while Slack is down; jobs it starts are followed step by step.
struct Shell: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An interactive console to a running Coxswain, for when Slack is down or slow.",
        discussion: """
            Type the same commands as in Slack, without the slash: `rollback llama-2-7b-production`, `approve 12`, `status \
            llama-2-7b-production`, `help`. Jobs you start, approve or confirm are followed until they end. Ctrl-D or `exit` leaves.
            Example: coxswain shell --as U0123ALICE --token-file ~/.coxswain-token --config /etc/coxswain/coxswain.yaml
            """)
    @OptionGroup var console: ConsoleOptions

    func run() async throws {
        let client = try console.client()
        let printer = Printer()
        await printer.say("Coxswain console as @\(client.user) on \(client.server.absoluteString). Type `help` for the commands; Ctrl-D leaves.")
        await Self.session(client, printer: printer)
    }

    /// Reads commands until Ctrl-D or `exit`, answering each and following the jobs they start.
    static func session(_ client: ConsoleClient, printer: Printer) async {
        var following: [Int64: Task<Void, Never>] = [:]
        for await line in standardInputLines() {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if ["exit", "quit"].contains(text) { break }
            do {
                let answer = try await client.send(text)
                await printer.say(answer.reply)
                if let id = answer.job, following[id] == nil {
                    following[id] = Task {
                        do { _ = try await client.follow(id, printer: printer) } catch { await printer.say("following job #\(id) stopped: \(error)") }
                    }
                }
            } catch {
                await printer.say("⚠️ \(error)")
            }
        }
        for task in following.values { task.cancel() }
    }

    /// Lines typed, read on a thread of their own: `readLine` waits for the user, and the few threads
    /// Swift's concurrency runs on are needed to follow jobs meanwhile.
    static func standardInputLines() -> AsyncStream<String> {
        AsyncStream { continuation in
            let reader = Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
            reader.start()
        }
    }
}

/// `coxswain run "…"`: one console command, for scripts; follows the job it starts.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one console command and follow the job it starts; the exit status says how it ended.",
        discussion: """
            Exit status: 0 the job succeeded (or was already done), 1 it failed, was denied, cancelled, expired or interrupted, \
            2 the command was refused or Coxswain could not be reached, 3 still waiting when --timeout passed.
            Example: coxswain run "rollback llama-2-7b-production pods OOM" --as U0123ALICE --token-file ~/.coxswain-token
            """)
    @Argument(help: "The command, as typed in the shell.") var text: String
    @OptionGroup var console: ConsoleOptions
    @Flag(help: "Print the answer and return without following the job.") var noFollow = false
    @Option(help: "Stop following after this long, e.g. 30m.") var timeout: String = "2h"

    func run() async throws {
        let client: ConsoleClient
        let answer: ConsoleClient.Answer
        do {
            client = try console.client()
            answer = try await client.send(text)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let printer = Printer()
        await printer.say(answer.reply)
        if answer.refused == true { throw ExitCode(2) }
        guard let id = answer.job, !noFollow else { return }
        guard let limit = GoDuration(parsing: timeout) else { throw CLIError("--timeout must be a duration such as 30m, got \"\(timeout)\"") }
        let view = try await client.follow(id, printer: printer, deadline: Date().addingTimeInterval(limit.seconds))
        switch view.state {
        case "succeeded", "superseded": return
        case "queued", "running", "awaiting_approval", "awaiting_confirmation": throw ExitCode(3)
        default: throw ExitCode(1)
        }
    }
}
