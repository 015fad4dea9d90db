/// Float [0, 1] <-> 8-bit conversions, the hot loops on both sides of swscale. Written so the
/// optimiser vectorises them: no range traps (values are clamped before the integer conversion).
enum PixelConversion {
    /// Quantises one float plane (row length `srcWidth`) into an 8-bit plane of `dstWidth` x `dstHeight`
    /// (>= the source), replicating the last column and row into the padding.
    static func quantize(_ src: UnsafePointer<Float>, srcWidth: Int, srcHeight: Int,
                         into dst: UnsafeMutablePointer<UInt8>, dstStride: Int, dstWidth: Int, dstHeight: Int) {
        for y in 0 ..< srcHeight {
            let s = src + y * srcWidth
            let d = dst + y * dstStride
            quantizeRow(s, d, srcWidth)
            if dstWidth > srcWidth {
                let last = d[srcWidth - 1]
                for x in srcWidth ..< dstWidth { d[x] = last }
            }
        }
        let lastRow = dst + (srcHeight - 1) * dstStride
        for y in srcHeight ..< dstHeight {
            (dst + y * dstStride).update(from: lastRow, count: dstWidth)
        }
    }

    /// 1.5 * 2^23: adding it to a float in [0, 2^22) leaves the value, rounded to the nearest
    /// integer, in the low mantissa bits — a float-to-int conversion with no range trap, which the
    /// optimiser turns into vector instructions.
    @inline(__always)
    static func quantizeRow(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<UInt8>, _ n: Int) {
        let roundingMagic: Float = 12_582_912
        for x in 0 ..< n {
            var f = s[x] * 255
            f = f > 0 ? f : 0          // NaN and negatives -> 0
            f = f < 255 ? f : 255
            d[x] = UInt8(truncatingIfNeeded: (f + roundingMagic).bitPattern)
        }
    }

    /// Expands an 8- or 16-bit plane (`srcStride` in elements) into a dense float plane, scaled
    /// to [0, 1] by the type's maximum (255, 65535).
    @inline(__always)
    static func expand<Sample: FixedWidthInteger & UnsignedInteger>(_ src: UnsafePointer<Sample>, srcStride: Int, width: Int,
                                                                      height: Int, into dst: UnsafeMutablePointer<Float>) {
        let scale: Float = 1 / Float(Sample.max)
        for y in 0 ..< height {
            let s = src + y * srcStride
            let d = dst + y * width
            for x in 0 ..< width { d[x] = Float(s[x]) * scale }
        }
    }
}
