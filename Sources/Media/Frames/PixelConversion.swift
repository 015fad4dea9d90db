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

    @inline(__always)
    static func quantizeRow(_ s: UnsafePointer<Float>, _ d: UnsafeMutablePointer<UInt8>, _ n: Int) {
        var x = 0
        while x + 16 <= n {
            var v = SIMD16<Float>(UnsafeBufferPointer(start: s + x, count: 16))
            v = v * 255 + 0.5
            v = v.replacing(with: 0, where: .!(v .>= 0))  // NaN and negatives -> 0
            v = v.replacing(with: 255, where: v .> 255)
            let i = SIMD16<Int32>(truncatingIfNeeded: SIMD16<Int32>(v, rounding: .towardZero))
            let b = SIMD16<UInt8>(truncatingIfNeeded: i)
            UnsafeMutableRawPointer(d + x).storeBytes(of: b, as: SIMD16<UInt8>.self)
            x += 16
        }
        while x < n {
            var f = s[x] * 255 + 0.5
            if !(f >= 0) { f = 0 }
            if f > 255 { f = 255 }
            d[x] = UInt8(Int32(f))
            x += 1
        }
    }

    /// Expands an 8-bit plane (with stride) into a dense float plane, scaled to [0, 1].
    static func expand(_ src: UnsafePointer<UInt8>, srcStride: Int, width: Int, height: Int,
                       into dst: UnsafeMutablePointer<Float>) {
        let scale: Float = 1.0 / 255.0
        for y in 0 ..< height {
            let s = src + y * srcStride
            let d = dst + y * width
            var x = 0
            while x + 16 <= width {
                let b = UnsafeRawPointer(s + x).loadUnaligned(as: SIMD16<UInt8>.self)
                let f = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: b)) * scale
                UnsafeMutableRawPointer(d + x).storeBytes(of: f, as: SIMD16<Float>.self)
                x += 16
            }
            while x < width {
                d[x] = Float(s[x]) * scale
                x += 1
            }
        }
    }
}
