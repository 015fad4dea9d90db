/// What diffusers' WanPipeline does to a prompt before UMT5 sees it
/// (`prompt_clean`): HTML entities unescaped twice, then every run of
/// whitespace becomes one space and the ends are trimmed. ftfy's mojibake
/// repair, which the pipeline applies only when ftfy is installed, is not done.
public func wanPromptClean(_ text: String) -> String {
    var s = htmlUnescape(htmlUnescape(text))
    // Python's `re.sub(r"\s+", " ", s).strip()`.
    var out = String.UnicodeScalarView()
    var pendingSpace = false
    for c in s.unicodeScalars {
        if c.isPythonSpace { pendingSpace = !out.isEmpty; continue }
        if pendingSpace { out.append(" "); pendingSpace = false }
        out.append(c)
    }
    s = String(out)
    return s
}

/// HTML character references as Python's html.unescape reads them: numeric
/// (&#39; &#x27;) and the named entities prompts actually contain.
func htmlUnescape(_ text: String) -> String {
    guard text.contains("&") else { return text }
    let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}", "ndash": "\u{2013}",
        "mdash": "\u{2014}", "hellip": "\u{2026}", "lsquo": "\u{2018}", "rsquo": "\u{2019}", "ldquo": "\u{201C}",
        "rdquo": "\u{201D}", "copy": "\u{A9}", "reg": "\u{AE}", "trade": "\u{2122}", "deg": "\u{B0}",
        "times": "\u{D7}", "eacute": "\u{E9}", "egrave": "\u{E8}", "agrave": "\u{E0}", "ccedil": "\u{E7}",
    ]
    let scalars = Array(text.unicodeScalars)
    var out = String.UnicodeScalarView()
    var i = 0
    while i < scalars.count {
        guard scalars[i] == "&", let semi = scalars[(i + 1)...].prefix(32).firstIndex(of: ";") else {
            out.append(scalars[i]); i += 1; continue
        }
        let body = String(scalars: scalars[(i + 1)..<semi])
        var replacement: String? = nil
        if body.hasPrefix("#x") || body.hasPrefix("#X") {
            if let v = UInt32(body.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) { replacement = String(s) }
        } else if body.hasPrefix("#") {
            if let v = UInt32(body.dropFirst()), let s = Unicode.Scalar(v) { replacement = String(s) }
        } else {
            replacement = named[body]
        }
        if let r = replacement {
            out.append(contentsOf: r.unicodeScalars)
            i = semi + 1
        } else {
            out.append(scalars[i]); i += 1
        }
    }
    return String(out)
}
