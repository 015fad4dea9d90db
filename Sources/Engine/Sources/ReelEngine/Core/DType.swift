// Storage dtypes of weight files; compute is always fp32.
import CReelKernels

public enum DType: String, Sendable, CaseIterable {
    case float32 = "F32", float16 = "F16", bfloat16 = "BF16"
    case float64 = "F64", int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8", uint8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }
}

/// Converts `count` elements of `dtype` at `src` into fp32 at `dst`.
func convertToFloat(_ dtype: DType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
    switch dtype {
    case .float32: UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: count * 4)
    case .bfloat16: reel_bf16_to_f32(Int64(count), dst, src.assumingMemoryBound(to: UInt16.self))
    case .float16: reel_f16_to_f32(Int64(count), dst, src.assumingMemoryBound(to: UInt16.self))
    case .float64: for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
    case .int64: for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
    case .int32: for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
    case .int16: for i in 0..<count { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
    case .int8: for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: Int8.self)) }
    case .uint8, .bool: for i in 0..<count { dst[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
    }
}

extension Tensor {
    /// The values rounded to the nearest bf16 (ties to even), still as fp32:
    /// what a bf16 weight file or the bf16 GEMM sees.
    public func roundedToBF16() -> Tensor {
        let c = contiguous()
        let half = UnsafeMutablePointer<UInt16>.allocate(capacity: Swift.max(count, 1))
        defer { half.deallocate() }
        reel_f32_to_bf16(Int64(count), half, c.data)
        let out = Tensor(uninitialized: shape)
        reel_bf16_to_f32(Int64(count), out.data, half)
        return out
    }
}
