import Foundation

/// A command's text split into words the way a terminal splits them: quotes (straight or
/// the curly ones chat clients type) keep spaces together, and everything after a lone
/// `--` is taken literally. A literal word is never read as an option.
public struct CommandWord: Sendable, Equatable {
    public var text: String
    /// Quoted or after `--`: text, even if it starts with `-`.
    public var isLiteral: Bool

    public var isOption: Bool { !isLiteral && text.hasPrefix("-") && text.count > 1 }

    public static func split(_ input: String) -> [CommandWord] {
        var words: [CommandWord] = []
        var current = ""
        var quoted = false
        var inQuote: Character?
        var afterDoubleDash = false
        func finish() {
            if !current.isEmpty || quoted {
                if !quoted && !afterDoubleDash && current == "--" {
                    afterDoubleDash = true
                } else {
                    words.append(CommandWord(text: current, isLiteral: quoted || afterDoubleDash))
                }
            }
            current = ""
            quoted = false
        }
        let closing: [Character: Character] = ["\"": "\"", "'": "'", "“": "”", "‘": "’"]
        for character in input {
            if let open = inQuote {
                if character == closing[open] || (open == "“" && character == "“") { inQuote = nil } else { current.append(character) }
            } else if let _ = closing[character] {
                inQuote = character
                quoted = true
            } else if character.isWhitespace {
                finish()
            } else {
                current.append(character)
            }
        }
        finish()
        return words
    }
}

extension Array where Element == CommandWord {
    /// The words as one reason, joined by spaces, at most 500 characters.
    var reason: String? {
        let text = map(\.text).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : String(text.prefix(500))
    }
}
