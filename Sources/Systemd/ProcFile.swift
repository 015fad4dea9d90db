#if canImport(Glibc)
import Glibc
#endif

/// A file under /proc read line by line with getline(3): such files report size 0, so they are read to
/// their end, not by their size. nil when the file cannot be opened (a process gone, or hidden by
/// ProtectProc=invisible). Lines keep no trailing newline.
enum ProcFile {
    static func lines(_ path: String) -> [String]? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>?
        var cap = 0
        defer { free(line) }
        var out: [String] = []
        while getline(&line, &cap, f) > 0 {
            var text = String(cString: line!)
            if text.hasSuffix("\n") { text.removeLast() }
            out.append(text)
        }
        return out
    }
}
