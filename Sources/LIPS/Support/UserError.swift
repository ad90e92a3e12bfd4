/// A failure caused by user input (a file, a config value, a model name), with a message that
/// says what was expected and what was found. The CLI prints it on one line and exits non-zero.
public struct UserError: Error, CustomStringConvertible, Equatable {
    /// The message, always one line: line breaks that came in with the input it quotes (a key or
    /// value holding a newline, say) are written as escapes (`\n`, `\r`, `\u{2028}`).
    public let message: String

    public init(_ message: String) {
        self.message = UserError.oneLine(message)
    }

    public var description: String { message }

    /// `text` with every line-breaking scalar escaped.
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isLineBreak) else { return text }
        var line = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case _ where isLineBreak(scalar): line += "\\u{\(String(scalar.value, radix: 16))}"
            default: line.unicodeScalars.append(scalar)
            }
        }
        return line
    }

    /// Line feed, carriage return, vertical tab, form feed, next line, line and paragraph separators.
    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }
}
