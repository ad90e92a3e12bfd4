import Testing
@testable import LIPS

/// Runs `body` and checks it throws a `UserError` whose message contains every one of `parts`.
func expectUserError(_ parts: String..., sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error mentioning \(parts)", sourceLocation: sourceLocation)
    } catch let error as UserError {
        for part in parts where !error.message.contains(part) {
            Issue.record("error '\(error.message)' does not mention '\(part)'", sourceLocation: sourceLocation)
        }
        #expect(!error.message.contains("\n"), "error is one line", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a UserError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// The message of the `UserError` that `body` throws (nil, with a recorded issue, if none).
func userErrorMessage(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> String? {
    let error = #expect(throws: UserError.self, sourceLocation: sourceLocation) { try body() }
    if let message = error?.message {
        #expect(!message.contains("\n"), "one-line message: \(message)", sourceLocation: sourceLocation)
    }
    return error?.message
}
