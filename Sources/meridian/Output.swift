internal import Foundation
internal import MeridianCore

/// Data goes to stdout, diagnostics and errors to stderr (SPEC §6).
enum Output {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Data to a file (replaced atomically) or, without one, to stdout.
    static func emit(_ text: String, to file: String?) throws {
        guard let file else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do { try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic) } catch {
            err("meridian: \(file): \(error)")
            throw Exit.environment
        }
    }

    static func report(_ diagnostics: [Diagnostic]) {
        guard !diagnostics.isEmpty else { return }
        err(diagnostics.map(\.description).joined(separator: "\n"))
    }
}
