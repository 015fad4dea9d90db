// Broadcasting elementwise arithmetic and the unary functions.
import CReelKernels
import Glibc

/// The shape two shapes broadcast to (numpy rules).
public func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let n = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let x = i < n - a.count ? 1 : a[i - (n - a.count)]
        let y = i < n - b.count ? 1 : b[i - (n - b.count)]
        guard x == y || x == 1 || y == 1 else { throw EngineError.shape("cannot broadcast \(a) with \(b)") }
        out[i] = x == 1 ? y : x
    }
    return out
}

func binary(_ op: Int32, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    let shape = try broadcastShape(a.shape, b.shape)
    let ea = try a.expand(to: shape), eb = try b.expand(to: shape)
    let out = Tensor(uninitialized: shape)
    if out.count == 0 { return out }
    if shape.isEmpty {
        let x = a.data[0], y = b.data[0]
        switch op {
        case Int32(REEL_BIN_ADD): out.data[0] = x + y
        case Int32(REEL_BIN_SUB): out.data[0] = x - y
        case Int32(REEL_BIN_MUL): out.data[0] = x * y
        case Int32(REEL_BIN_DIV): out.data[0] = x / y
        case Int32(REEL_BIN_MAX): out.data[0] = Swift.max(x, y)
        case Int32(REEL_BIN_MIN): out.data[0] = Swift.min(x, y)
        default: out.data[0] = powf(x, y)
        }
        return out
    }
    let sh = shape.map(Int64.init), sa = ea.strides.map(Int64.init), sb = eb.strides.map(Int64.init)
    reel_binary(op, Int32(shape.count), sh, out.data, ea.data, sa, eb.data, sb)
    return out
}

func unary(_ op: Int32, _ x: Tensor) -> Tensor {
    let c = x.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_unary(op, Int64(x.count), out.data, c.data)
    return out
}

extension Tensor {
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_ADD), a, b) }
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_SUB), a, b) }
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_MUL), a, b) }
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_DIV), a, b) }

    public static func + (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: s) }
    public static func - (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1, shift: -s) }
    public static func * (a: Tensor, s: Float) -> Tensor { affine(a, scale: s, shift: 0) }
    public static func / (a: Tensor, s: Float) -> Tensor { affine(a, scale: 1 / s, shift: 0) }
    public static func + (s: Float, a: Tensor) -> Tensor { affine(a, scale: 1, shift: s) }
    public static func * (s: Float, a: Tensor) -> Tensor { affine(a, scale: s, shift: 0) }
    public static func - (s: Float, a: Tensor) -> Tensor { affine(a, scale: -1, shift: s) }
    public static prefix func - (a: Tensor) -> Tensor { unary(Int32(REEL_UNARY_NEG), a) }

    /// self += other (broadcast), in place. Self must be contiguous.
    public func add_(_ other: Tensor) throws {
        guard isContiguous else { throw EngineError.shape("add_ needs a contiguous tensor") }
        let e = try other.expand(to: shape)
        let sh = shape.map(Int64.init), sa = Tensor.denseStrides(shape).map(Int64.init), sb = e.strides.map(Int64.init)
        if shape.isEmpty { data[0] += other.data[0]; return }
        reel_binary(Int32(REEL_BIN_ADD), Int32(ndim), sh, data, data, sa, e.data, sb)
    }

    /// self *= other (broadcast), in place. Self must be contiguous.
    public func mul_(_ other: Tensor) throws {
        guard isContiguous else { throw EngineError.shape("mul_ needs a contiguous tensor") }
        let e = try other.expand(to: shape)
        let sh = shape.map(Int64.init), sa = Tensor.denseStrides(shape).map(Int64.init), sb = e.strides.map(Int64.init)
        if shape.isEmpty { data[0] *= other.data[0]; return }
        reel_binary(Int32(REEL_BIN_MUL), Int32(ndim), sh, data, data, sa, e.data, sb)
    }
}

/// x * scale + shift with scalar scale and shift.
public func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor {
    let c = x.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_affine(Int64(x.count), out.data, c.data, scale, shift)
    return out
}

public func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_MAX), a, b) }
public func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_MIN), a, b) }
public func pow(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(Int32(REEL_BIN_POW), a, b) }
public func exp(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_EXP), x) }
public func log(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_LOG), x) }
public func sqrt(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_SQRT), x) }
public func rsqrt(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_RSQRT), x) }
public func abs(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_ABS), x) }
public func sin(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_SIN), x) }
public func cos(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_COS), x) }
public func square(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_SQUARE), x) }
public func reciprocal(_ x: Tensor) -> Tensor { unary(Int32(REEL_UNARY_RECIPROCAL), x) }
public func clamp(_ x: Tensor, min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
    let c = x.contiguous()
    let out = Tensor(uninitialized: x.shape)
    reel_clamp(Int64(x.count), out.data, c.data, lo, hi)
    return out
}

/// Elementwise select: cond != 0 ? a : b (broadcast).
public func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    let shape = try broadcastShape(try broadcastShape(cond.shape, a.shape), b.shape)
    let c = try cond.expand(to: shape).contiguous(), x = try a.expand(to: shape).contiguous(), y = try b.expand(to: shape).contiguous()
    let out = Tensor(uninitialized: shape)
    for i in 0..<out.count { out.data[i] = c.data[i] != 0 ? x.data[i] : y.data[i] }
    return out
}
