import CChildProcess
import CoxswainCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One helm or kubectl process: started with posix_spawn in a process group of its own, its
/// output read and its exit waited for on a thread of its own (blocking `poll`, so no
/// cooperative thread ever waits on a child), stopped with SIGTERM to its group and SIGKILL
/// after a grace. Small on purpose: swift-subprocess kept an entry per process it ever ran
/// (about 0.25 KB a job, for the life of the server).
final class ChildProcess: Sendable {
    /// How the process ended and what it wrote.
    struct Outcome: Sendable {
        var exitCode: Int32?
        var signal: Int32?
        var stdout: String
        var stderr: String
    }

    enum StopReason: Sendable { case timedOut, cancelled, interrupted }

    let pid: pid_t
    private let control: Mutex<Control>

    private struct Control {
        /// Once reaped, the pid may belong to someone else: no signal is sent after that.
        var reaped = false
        var stopReason: StopReason?
        var outcome: Outcome?
        var waiter: CheckedContinuation<Outcome, Never>?
    }

    private init(pid: pid_t) {
        self.pid = pid
        self.control = Mutex(Control())
    }

    struct SpawnFailure: Error, CustomStringConvertible {
        let path: String
        let code: Int32
        var description: String { "could not start \(path): \(String(cString: strerror(code)))" }
    }

    /// Starts `path` with `argv` (argv[0] included) and exactly `environment`; output beyond
    /// `keptBytes` per stream keeps its head and tail.
    static func start(path: String, argv: [String], environment: [String: String], keptBytes: Int) throws -> ChildProcess {
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        var code = coxswain_pipe(&output)
        guard code == 0 else { throw SpawnFailure(path: path, code: code) }
        code = coxswain_pipe(&errors)
        guard code == 0 else {
            output.forEach { close($0) }
            throw SpawnFailure(path: path, code: code)
        }
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            arguments.forEach { free($0) }
            variables.forEach { free($0) }
        }
        var pid: pid_t = 0
        code = coxswain_spawn(&pid, path, arguments, variables, output[1], errors[1])
        // The child has its copies; the parent keeps only the reading ends.
        close(output[1])
        close(errors[1])
        guard code == 0 else {
            close(output[0])
            close(errors[0])
            throw SpawnFailure(path: path, code: code)
        }
        let child = ChildProcess(pid: pid)
        let (stdoutFD, stderrFD) = (output[0], errors[0])
        let thread = Thread { child.watch(stdoutFD: stdoutFD, stderrFD: stderrFD, keptBytes: keptBytes) }
        thread.name = "coxswain child \(pid)"
        thread.start()
        return child
    }

    /// Waits until the process has ended and its output is read.
    func outcome() async -> Outcome {
        await withCheckedContinuation { continuation in
            let ready: Outcome? = control.withLock { control in
                if let outcome = control.outcome { return outcome }
                control.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Why the process was stopped, if Coxswain stopped it.
    var stopReason: StopReason? { control.withLock { $0.stopReason } }

    /// SIGTERM to the process group now, SIGKILL after `grace` if it is still there.
    func stop(_ reason: StopReason, grace: Duration) {
        let first = control.withLock { control in
            defer { if control.stopReason == nil { control.stopReason = reason } }
            return control.stopReason == nil
        }
        guard first else { return }
        signalGroup(SIGTERM)
        Task {
            try? await cancellableSleep(for: grace)
            self.signalGroup(SIGKILL)
        }
    }

    private func signalGroup(_ signal: Int32) {
        control.withLock { control in
            if !control.reaped { _ = kill(-pid, signal) }
        }
    }

    // MARK: the watching thread

    private func watch(stdoutFD: Int32, stderrFD: Int32, keptBytes: Int) {
        var streams = [Stream(fd: stdoutFD, kept: OutputKeeper(keptBytes: keptBytes)), Stream(fd: stderrFD, kept: OutputKeeper(keptBytes: keptBytes))]
        for stream in streams { _ = fcntl(stream.fd, F_SETFL, fcntl(stream.fd, F_GETFL) | O_NONBLOCK) }
        var status: Int32?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // Until the process exits, poll wakes at least this often to notice an exit while
        // something it started still holds the pipes; after the exit, what is in the pipes
        // is read until a wait this long brings nothing more.
        let pollMilliseconds: Int32 = 250, drainMilliseconds: Int32 = 100
        while streams.contains(where: { $0.isOpen }) {
            var descriptors = streams.filter(\.isOpen).map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), status == nil ? pollMilliseconds : drainMilliseconds)
            if ready < 0 && errno != EINTR { break }
            for index in streams.indices where streams[index].isOpen {
                streams[index].readAvailable(using: &buffer)
            }
            if status == nil { status = reap(blocking: false) }
            // Exited, its own output read, and a descendant keeps the pipes open: done.
            if status != nil && ready == 0 { break }
        }
        for stream in streams where stream.isOpen { close(stream.fd) }
        let code = status ?? reap(blocking: true) ?? 0x7f
        let outcome = Outcome(
            exitCode: Self.exited(code) ? Self.exitStatus(code) : nil, signal: Self.exited(code) ? nil : code & 0x7f,
            stdout: streams[0].kept.text, stderr: streams[1].kept.text)
        let waiter = control.withLock { control in
            control.outcome = outcome
            defer { control.waiter = nil }
            return control.waiter
        }
        waiter?.resume(returning: outcome)
    }

    /// The wait status once the process has ended; with `blocking`, waits for that without
    /// holding the lock (`WNOWAIT` leaves the zombie, which keeps its pid from being reused
    /// while a signal may still be sent to it).
    private func reap(blocking: Bool) -> Int32? {
        if blocking {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        }
        return control.withLock { control -> Int32? in
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, blocking ? 0 : WNOHANG) } while result < 0 && errno == EINTR
            if result == 0 { return nil }
            control.reaped = true
            // Reaped by someone else (ECHILD): the exit status is lost; reported as killed.
            return result == pid ? status : 0x7f
        }
    }

    private static func exited(_ status: Int32) -> Bool { status & 0x7f == 0 }
    private static func exitStatus(_ status: Int32) -> Int32 { (status >> 8) & 0xff }

    private struct Stream {
        let fd: Int32
        var kept: OutputKeeper
        var isOpen = true

        init(fd: Int32, kept: OutputKeeper) {
            self.fd = fd
            self.kept = kept
        }

        /// Reads until the pipe is empty (or at its end, which closes it).
        mutating func readAvailable(using buffer: inout [UInt8]) {
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    kept.append(buffer[..<count])
                    continue
                }
                if count < 0 && errno == EINTR { continue }
                if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                close(fd)
                isOpen = false
                return
            }
        }
    }
}

/// Keeps the first and the last `keptBytes / 2` bytes of a stream, with a marker saying how
/// much was left out between them.
struct OutputKeeper: Sendable {
    let half: Int
    private(set) var head: [UInt8] = []
    private(set) var tail: [UInt8] = []
    private(set) var dropped = 0

    init(keptBytes: Int) { half = keptBytes / 2 }

    mutating func append(_ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        if head.count < half {
            let take = min(half - head.count, rest.count)
            head.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
        }
        tail.append(contentsOf: rest)
        if tail.count > half * 2 {
            let excess = tail.count - half
            dropped += excess
            tail.removeFirst(excess)
        }
    }

    var text: String {
        var tail = self.tail
        var dropped = self.dropped
        if tail.count > half {
            dropped += tail.count - half
            tail.removeFirst(tail.count - half)
        }
        let marker = dropped > 0 ? Array("\n… (\(dropped) bytes not kept) …\n".utf8) : []
        return String(decoding: head + marker + tail, as: UTF8.self)
    }
}
