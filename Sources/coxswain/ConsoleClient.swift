import ArgumentParser
import CoxswainCore
import CoxswainServer
import CoxswainHTTP
import Foundation

/// Who the console user is and where the server's operators' listener is.
struct ConsoleOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Your Slack user id; your roles apply, as in Slack.", valueName: "user")) var `as`: String
    @Option(help: ArgumentHelp("A file holding your console token (or set COXSWAIN_TOKEN / COXSWAIN_TOKEN_FILE).", valueName: "file"))
    var tokenFile: String?
    @Option(help: ArgumentHelp("The server's operators' listener, e.g. http://127.0.0.1:8081 (default: from --config).", valueName: "url"))
    var server: String?
    @Option(name: .long, help: ArgumentHelp("The configuration file, for the server's address.", valueName: "file"))
    var config: String = ProcessInfo.processInfo.environment["COXSWAIN_CONFIG"] ?? "coxswain.yaml"

    func client() throws -> ConsoleClient {
        guard Validation.isSlackID(`as`) || Validation.isMattermostUser(`as`) else {
            throw CLIError("--as must be a Slack user id such as U0123ALICE or a Mattermost user such as mattermost:alice, got \"\(`as`)\"")
        }
        let environment = ProcessInfo.processInfo.environment
        let file = tokenFile ?? environment["COXSWAIN_TOKEN_FILE"]
        var token = environment["COXSWAIN_TOKEN"] ?? ""
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read the token file \(file)") }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !token.isEmpty else {
            throw CLIError("no console token: pass --token-file FILE or set COXSWAIN_TOKEN; an administrator issues one with `coxswain users token \(`as`)`")
        }
        let address: String
        if let server {
            address = server
        } else {
            let configuration: CoxswainConfiguration
            do { configuration = try ConfigurationFiles.configuration(config) } catch { throw CLIError("\(error) (or pass --server URL)") }
            address = "http://\(configuration.server.operatorHost):\(configuration.server.operatorPort)"
        }
        guard let url = URL(string: address), url.scheme == "http" || url.scheme == "https" else {
            throw CLIError("--server must be a URL, got \"\(address)\"")
        }
        return ConsoleClient(server: url, user: `as`, token: token, http: OutboundHTTP(environment: environment))
    }
}

/// The console's side of the conversation with a running server.
struct ConsoleClient: Sendable {
    let server: URL
    let user: String
    let token: String
    /// This command's connections to the server, for its whole life.
    let http: OutboundHTTP

    struct Answer: Decodable { var reply: String; var job: Int64?; var refused: Bool? }
    struct JobView: Decodable { var id: Int64; var version: Int; var state: String; var finished: Bool; var progress: String; var request: String? }
    struct Problem: Decodable { var error: String }

    func send(_ text: String) async throws -> Answer {
        let body = try JSONSerialization.data(withJSONObject: ["text": text, "key": UUID().uuidString])
        return try await exchange("api/v1/console/commands", method: .post, body: body, as: Answer.self)
    }

    func job(_ id: Int64) async throws -> JobView {
        try await exchange("api/v1/console/jobs/\(id)", method: .get, body: nil, as: JobView.self)
    }

    /// Prints the job's progress each time it changes, until it ends (or `deadline` passes).
    /// Returns its last view.
    func follow(_ id: Int64, printer: Printer, deadline: Date = .distantFuture) async throws -> JobView {
        var seen = -1
        while true {
            let view = try await job(id)
            if view.version != seen {
                seen = view.version
                await printer.say(view.progress + (view.request.map { "\n" + $0 } ?? ""))
            }
            if view.finished || Date() >= deadline || Task.isCancelled { return view }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    private func exchange<T: Decodable>(_ path: String, method: OutboundHTTP.Method, body: Data?, as type: T.Type) async throws -> T {
        let headers = [("Content-Type", "application/json"), ("X-Coxswain-User", user), ("Authorization", "Bearer \(token)")]
        let answer: OutboundHTTP.Answer
        do { answer = try await http.send(method, server.appendingPathComponent(path), headers: headers, body: body, timeout: .seconds(120)) } catch {
            throw CLIError(
                "cannot reach Coxswain at \(server.absoluteString): \(error.reason). Is `coxswain serve` running? "
                    + "The console talks to its operators' listener (server.operator_host/operator_port).")
        }
        let (status, data) = (answer.status, answer.body)
        guard status == 200 else {
            let problem = (try? JSONDecoder().decode(Problem.self, from: data))?.error ?? String(decoding: data.prefix(300), as: UTF8.self)
            throw CLIError("Coxswain answered \(status): \(problem)")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}

/// Prints whole messages at once, so lines from several followed jobs do not mix
/// and a program reading the pipe sees them at once.
actor Printer {
    func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
