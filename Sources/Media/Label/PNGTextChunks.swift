import Foundation

/// PNG keeps metadata in tEXt (Latin-1) and iTXt (UTF-8) chunks. FFmpeg's PNG encoder writes none,
/// so the label is added after encoding by inserting chunks before IEND, and read back by walking the
/// chunk list (which needs no decoding).
enum PNGTextChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Returns `png` with one text chunk per tag inserted before IEND.
    static func inserting(_ tags: [(key: String, value: String)], into png: [UInt8]) -> [UInt8]? {
        guard png.count >= 20, Array(png[0 ..< 8]) == signature, let iend = chunkOffset("IEND", in: png) else {
            return nil
        }
        var chunks: [UInt8] = []
        for (key, value) in tags {
            // Keywords are 1-79 Latin-1 characters; ours are ASCII tag names.
            let keyword = Array(key.utf8.prefix(79))
            if value.unicodeScalars.allSatisfy({ $0.value < 0x80 }) {
                chunks += chunk("tEXt", keyword + [0] + Array(value.utf8))
            } else {
                // keyword NUL, compression flag 0, method 0, empty language NUL, empty translation NUL, text.
                chunks += chunk("iTXt", keyword + [0, 0, 0, 0, 0] + Array(value.utf8))
            }
        }
        return Array(png[..<iend]) + chunks + Array(png[iend...])
    }

    /// The tEXt and iTXt entries of a PNG file, or [:] if it is not a PNG.
    static func read(_ png: [UInt8]) -> [String: String] {
        guard png.count >= 8, Array(png[0 ..< 8]) == signature else { return [:] }
        var tags: [String: String] = [:]
        var at = 8
        while at + 12 <= png.count {
            let length = Int(readUInt32(png, at))
            let type = String(decoding: png[at + 4 ..< at + 8], as: UTF8.self)
            let dataStart = at + 8
            guard length >= 0, dataStart + length + 4 <= png.count else { break }
            let data = Array(png[dataStart ..< dataStart + length])
            if type == "tEXt", let nul = data.firstIndex(of: 0) {
                let key = String(decoding: data[..<nul], as: UTF8.self)
                // tEXt is Latin-1: map each byte to the scalar of the same value.
                let value = String(String.UnicodeScalarView(data[(nul + 1)...].map { Unicode.Scalar($0) }))
                tags[key] = value
            } else if type == "iTXt", let nul = data.firstIndex(of: 0), nul + 3 <= data.count,
                      data[nul + 1] == 0 {
                // Skip flag, method, language tag, translated keyword; compressed iTXt is not ours.
                var p = nul + 3
                for _ in 0 ..< 2 {
                    guard let z = data[p...].firstIndex(of: 0) else { p = data.count; break }
                    p = z + 1
                }
                let key = String(decoding: data[..<nul], as: UTF8.self)
                tags[key] = String(decoding: data[min(p, data.count)...], as: UTF8.self)
            } else if type == "IEND" {
                break
            }
            at = dataStart + length + 4
        }
        return tags
    }

    private static func chunkOffset(_ type: String, in png: [UInt8]) -> Int? {
        var at = 8
        while at + 12 <= png.count {
            let length = Int(readUInt32(png, at))
            if String(decoding: png[at + 4 ..< at + 8], as: UTF8.self) == type { return at }
            at += 12 + length
        }
        return nil
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeAndData = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typeAndData + bigEndian(crc32(typeAndData))
    }

    private static func readUInt32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    private static let crcTable: [UInt32] = (0 ..< 256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0 ..< 8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
