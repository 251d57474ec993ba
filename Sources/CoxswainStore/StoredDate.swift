import Foundation
import GRDB

/// A date as the store keeps it: GRDB's own text format, "yyyy-MM-dd HH:mm:ss.SSS" in UTC, so it sorts and
/// compares in SQL, and rows written before this type existed read the same.
///
/// Why not bind `Date` itself: GRDB converts it with a `DateFormatter` and reads it back through a `Calendar`
/// with a POSIX locale, and either maps ICU into the process for good (~7 MB resident in a server that is
/// otherwise idle). Here the conversion is civil-calendar arithmetic (proleptic Gregorian, as SQLite's date
/// functions are). Everything the store binds or reads as a date goes through this type: `date.stored` to
/// bind, `StoredDate.self` to fetch, and the records' date strategies below.
struct StoredDate: DatabaseValueConvertible, Sendable {
    let date: Date

    init(_ date: Date) { self.date = date }

    /// `date` as the store gives it back (to the millisecond), for values returned without reading them back.
    static func asStored(_ date: Date) -> Date { Self.date(text(date)) ?? date }

    var databaseValue: DatabaseValue { Self.text(date).databaseValue }

    static func fromDatabaseValue(_ dbValue: DatabaseValue) -> StoredDate? {
        switch dbValue.storage {
        case .string(let text):
            // Anything but the forms written here (a hand-edited row) is read by GRDB, as before.
            (Self.date(text) ?? Date.fromDatabaseValue(dbValue)).map(StoredDate.init)
        case .int64(let seconds): StoredDate(Date(timeIntervalSince1970: Double(seconds)))
        case .double(let seconds): StoredDate(Date(timeIntervalSince1970: seconds))
        case .null, .blob: nil
        }
    }

    /// "yyyy-MM-dd HH:mm:ss.SSS", to the nearest millisecond, as GRDB's formatter writes them (CoreFoundation
    /// adds half a millisecond before ICU truncates).
    static func text(_ date: Date) -> String {
        let milliseconds = Int64(((date.timeIntervalSinceReferenceDate + 978_307_200) * 1000 + 0.5).rounded(.down))
        let (days, inDay) = floorDivision(milliseconds, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        var bytes = [UInt8]()
        bytes.reserveCapacity(23)
        func put(_ value: Int64, digits: Int) {
            var divisor: Int64 = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(truncatingIfNeeded: 0x30 + (rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        put(year, digits: 4); bytes.append(0x2D); put(month, digits: 2); bytes.append(0x2D); put(day, digits: 2)
        bytes.append(0x20)
        put(inDay / 3_600_000, digits: 2); bytes.append(0x3A); put(inDay / 60_000 % 60, digits: 2); bytes.append(0x3A)
        put(inDay / 1000 % 60, digits: 2); bytes.append(0x2E); put(inDay % 1000, digits: 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// "yyyy-MM-dd", optionally followed by " HH:mm", ":ss" and a fraction (a space or `T` between date and time).
    static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += digits
            return value
        }
        func skip(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip(0x2D), let month = number(2), skip(0x2D), let day = number(2),
              (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = civilDays(year: year, month: month, day: day) * 86_400
        var milliseconds: Int64 = 0
        if index < bytes.count {
            guard skip(0x20) || skip(0x54), let hour = number(2), skip(0x3A), let minute = number(2), hour < 24, minute < 60 else { return nil }
            seconds += hour * 3600 + minute * 60
            if skip(0x3A) {
                guard let second = number(2), second < 60 else { return nil }
                seconds += second
                if skip(0x2E) {
                    // Digits past the millisecond are ignored, as GRDB does.
                    var digits = 0
                    while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 {
                        if digits < 3 { milliseconds += Int64(bytes[index] - 0x30) * [100, 10, 1][digits] }
                        digits += 1
                        index += 1
                    }
                    guard digits > 0 else { return nil }
                }
            }
        }
        guard index == bytes.count else { return nil }
        // The nearest double can fall a hair below the written millisecond; step up to it, so that
        // writing a date read from the store gives back the same text.
        let written = seconds * 1000 + milliseconds
        var interval = Double(written) / 1000
        while Int64((interval * 1000).rounded(.down)) < written { interval = interval.nextUp }
        return Date(timeIntervalSince1970: interval)
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    /// Days since 1970-01-01 to year, month, day (H. Hinnant's `civil_from_days`).
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Year, month, day to days since 1970-01-01 (`days_from_civil`).
    private static func civilDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let year = month <= 2 ? year - 1 : year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Date {
    /// This date as the store binds it (see `StoredDate`).
    var stored: StoredDate { StoredDate(self) }
}

extension Optional where Wrapped == Date {
    var stored: StoredDate? { map(StoredDate.init) }
}

/// The records' `Date` properties, written and read as `StoredDate`.
protocol StoredDateRecord: FetchableRecord, EncodableRecord {}

extension StoredDateRecord {
    static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy { .custom { StoredDate($0) } }
    static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .custom { StoredDate.fromDatabaseValue($0)?.date }
    }
}
