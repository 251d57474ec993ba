import Foundation

/// JSON for what Coxswain sends Slack and Mattermost, written directly: Foundation's JSONSerialization was
/// a tenth of the CPU per request (issue 13), most of it bridging. Takes the value trees
/// the renderer and the Web API client build: strings, booleans, integers of any width, doubles, arrays,
/// dictionaries (keys sorted, so the output is stable), `NSNull`, and `RawJSON` (already
/// encoded, such as a rendered message body, inserted as they are).
enum JSONText {
    struct RawJSON { let text: String }

    static func encode(_ value: Any) -> String {
        var out = ""
        write(value, to: &out)
        return out
    }

    private static func write(_ value: Any, to out: inout String) {
        switch value {
        case let text as String: out += SlackNoticeRenderer.jsonString(text)
        case let raw as RawJSON: out += raw.text
        case let number as any BinaryInteger: out += String(describing: number)  // before Bool: an Int must not read as one
        case let flag as Bool: out += flag ? "true" : "false"
        case let number as Double: out += number.isFinite ? String(number) : "null"
        case let list as [Any]:
            out += "["
            for (index, element) in list.enumerated() {
                if index > 0 { out += "," }
                write(element, to: &out)
            }
            out += "]"
        case let object as [String: Any]:
            out += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                out += SlackNoticeRenderer.jsonString(key)
                out += ":"
                write(object[key] as Any, to: &out)
            }
            out += "}"
        default: out += "null"
        }
    }
}
