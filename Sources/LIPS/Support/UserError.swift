/// A failure caused by user input (a file, a config value, a model name), with a message that
/// says what was expected and what was found. The CLI prints it on one line and exits non-zero.
public struct UserError: Error, CustomStringConvertible, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
