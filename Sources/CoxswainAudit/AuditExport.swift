import CoxswainCore
import Foundation

/// `coxswain audit export`'s JSON lines: each entry with its seq and hash, times to the
/// millisecond (the hash covers the milliseconds, so an export verifies on its own).
public enum AuditExport {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(format(date))
        }
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = parse(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text)\" is not an ISO 8601 time such as 2026-12-05T09:00:00.250Z")
        }
        return decoder
    }

    /// `2026-12-05T09:00:00.250Z`: the milliseconds as the store keeps them, written from the
    /// integer (a formatter working on the floating-point time can write .249).
    static func format(_ date: Date) -> String {
        let milliseconds = AuditChain.milliseconds(date)
        let seconds = Date(timeIntervalSince1970: Double(milliseconds.quotient(1000)))
        let fraction = String(milliseconds.remainder(1000))
        return seconds.formatted(.iso8601).dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    static func parse(_ text: String) -> Date? {
        let parts = text.dropLast().split(separator: ".", maxSplits: 1)
        guard text.hasSuffix("Z"), let first = parts.first, let whole = try? Date.ISO8601FormatStyle().parse(first + "Z") else { return nil }
        guard parts.count == 2 else { return whole }
        guard parts[1].count == 3, let milliseconds = Int64(parts[1]) else { return nil }
        return Date(timeIntervalSince1970: Double(Int64(whole.timeIntervalSince1970) * 1000 + milliseconds) / 1000)
    }

    /// One entry as a line of the export.
    public static func line(_ entry: AuditEntry, encoder: JSONEncoder) throws -> String {
        String(decoding: try encoder.encode(entry), as: UTF8.self)
    }
}

extension Int64 {
    /// Floor division, so times before 1970 format as they should.
    fileprivate func quotient(_ divisor: Int64) -> Int64 { (self - remainder(divisor)) / divisor }
    fileprivate func remainder(_ divisor: Int64) -> Int64 { ((self % divisor) + divisor) % divisor }
}
