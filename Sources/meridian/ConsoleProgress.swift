internal import Foundation
internal import MeridianCore
internal import MeridianEngine
internal import Synchronization

/// Progress of an apply on stderr: on a terminal, one live line per region, redrawn in place;
/// otherwise one plain line per finished action.
final class ConsoleProgress: ProgressSink, Sendable {
    struct RegionLine {
        var done = 0, failed = 0, running = 0
        var last = ""
    }

    struct State {
        var regions: [String: RegionLine] = [:]
        var drawnLines = 0
        var lastDraw = 0.0
    }

    let tty: Bool
    let state = Mutex(State())

    init(tty: Bool) { self.tty = tty }

    private func key(_ a: Action) -> String { a.kind == .setTraffic ? "traffic" : a.regions.first?.rawValue ?? "?" }

    func report(_ event: ProgressEvent) {
        switch event {
        case .started(let a):
            guard tty else { return }
            update { $0.regions[key(a), default: RegionLine()].running += 1; $0.regions[key(a)]!.last = "\(a.id) \(a.kind.rawValue) …" }
        case .retrying(let a, let attempt, let error, let delay):
            let line = String(format: "%@ %@ %@: attempt %d failed (%@); retrying in %.2f s", key(a), a.id, a.kind.rawValue, attempt, error, delay)
            if tty { update { $0.regions[key(a), default: RegionLine()].last = line } } else { Output.err(line) }
        case .finished(let a, let e):
            if tty {
                update {
                    var r = $0.regions[key(a), default: RegionLine()]
                    if e.status != .skipped { r.running = max(0, r.running - 1) }
                    if e.status == .done { r.done += 1 } else { r.failed += 1 }
                    r.last = "\(a.id) \(a.kind.rawValue) \(e.status.rawValue)"
                    $0.regions[key(a)] = r
                }
            } else {
                Output.err("\(key(a)): \(a.id) \(a.kind.rawValue) \(describe(a)): \(e.status.rawValue) (\(e.detail))")
            }
        case .breakerOpened(let r, let why):
            if !tty { Output.err("\(r): circuit breaker open: \(why)") }
            update { $0.regions[r.rawValue, default: RegionLine()].last = "circuit breaker open" }
        }
    }

    private func describe(_ a: Action) -> String {
        [a.artifact?.rawValue, a.placement?.rawValue].compactMap { $0 }.joined(separator: " ")
    }

    private func update(_ change: (inout State) -> Void) {
        state.withLock { s in
            change(&s)
            let now = Clock.monotonic()
            guard tty, now - s.lastDraw >= 0.1 else { return }
            s.lastDraw = now
            draw(&s)
        }
    }

    private func draw(_ s: inout State) {
        var text = s.drawnLines > 0 ? "\u{1B}[\(s.drawnLines)A" : ""
        let names = s.regions.keys.sorted()
        let width = names.map(\.count).max() ?? 0
        for name in names {
            let r = s.regions[name]!
            let pad = String(repeating: " ", count: width - name.count)
            text += "\u{1B}[2K\(name)\(pad)  \(r.done) done  \(r.failed) failed  \(r.running) running  \(r.last)\n"
        }
        s.drawnLines = names.count
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// The final frame, so the last state stays on screen.
    func finish() {
        guard tty else { return }
        state.withLock { draw(&$0) }
    }
}
