// Newline-delimited framing with a maximum message size. A line longer than
// the maximum is reported once (so the client gets an error) and discarded up
// to its newline; the connection stays usable. An unfinished line at EOF (a
// client that vanished mid-message) is dropped.
import NIOCore

enum Frame {
    case line(ByteBuffer)
    case oversized(limit: Int)
}

struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = Frame

    let maxBytes: Int
    private var scanned = 0        // bytes of the pending line already searched for "\n"
    private var discarding = false

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        if let nl = view[(view.startIndex + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
            let length = nl - view.startIndex
            scanned = 0
            if discarding || length > maxBytes {
                buffer.moveReaderIndex(forwardBy: length + 1)
                if !discarding { context.fireChannelRead(wrapInboundOut(.oversized(limit: maxBytes))) }
                discarding = false
                return .continue
            }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
            if line.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.line(line))) }
            return .continue
        }
        scanned = view.count
        if view.count > maxBytes {
            // Too long already: report once, then throw bytes away until the newline.
            if !discarding { context.fireChannelRead(wrapInboundOut(.oversized(limit: maxBytes))) }
            discarding = true
            buffer.moveReaderIndex(forwardBy: view.count)
            scanned = 0
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes) // an unterminated tail: the client left mid-message
        return .needMoreData
    }
}
