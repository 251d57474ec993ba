import Foundation
import Synchronization
import Testing

/// `coxswain shell` as a person uses it: a real process, typed into, read from.
final class ConsoleProcess: Sendable {
    private let process: Process
    private let input: FileHandle
    private let lines = Mutex<[String]>([])
    private let partial = Mutex("")

    private init(process: Process, input: FileHandle) { self.process = process; self.input = input }

    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> ConsoleProcess {
        let process = Process()
        process.executableURL = CLITests.binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        let console = ConsoleProcess(process: process, input: stdin.fileHandleForWriting)
        stdout.fileHandleForReading.readabilityHandler = { [console] handle in
            // At end of file the source stays readable: stop it, or it fires without end.
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { console.take(data) }
        }
        try process.run()
        return console
    }

    private func take(_ data: Data) {
        let complete = partial.withLock { rest -> [String] in
            rest += String(decoding: data, as: UTF8.self)
            var parts = rest.components(separatedBy: "\n")
            rest = parts.removeLast()
            return parts
        }
        lines.withLock { $0 += complete }
    }

    var output: String { lines.withLock { $0.joined(separator: "\n") } + partial.withLock { $0 } }

    func type(_ line: String) { input.write(Data((line + "\n").utf8)) }

    /// Waits until the output holds `text`, and returns the output.
    @discardableResult
    func waitFor(_ text: String, timeout: Duration = .seconds(30)) async throws -> String {
        try await Eventually.value("the console to print \(text)", timeout: timeout) { output.contains(text) ? output : nil }
    }

    func close() async throws -> Int32 {
        try? input.close()
        try await Eventually.until("the console to exit") { !process.isRunning }
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }
}
