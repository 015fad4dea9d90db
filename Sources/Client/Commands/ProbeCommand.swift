// reel probe FILE: what a media file holds and who made it (media.probe).
import ArgumentParser
import Foundation
import ReelProtocol

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What a media file holds, and reel's AI-generated label if it has one (media.probe).",
        discussion: "The daemon reads the file, so it must be readable by you. With --json, every stream and tag.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The media file.") var file: String

    func run() throws {
        try guarded {
            let path = URL(fileURLWithPath: file).standardizedFileURL.path
            let r = try global.call("media.probe", ["path": .string(path)])
            if global.json { return Printer.json(r) }
            print(r["summary"]?.stringValue ?? "")
        }
    }
}
