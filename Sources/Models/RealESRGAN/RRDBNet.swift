import ReelEngine

/// ESRGAN's Residual-in-Residual Dense Block network (basicsr/archs/rrdbnet_arch.py),
/// here Real-ESRGAN x4plus: 23 RRDBs at input resolution, then two nearest ×2
/// upsamplings each followed by a conv.
///
/// Checkpoint keys: `conv_first`, `body.N.rdb{1,2,3}.conv{1…5}`, `conv_body`,
/// `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`.
public final class RRDBNet: @unchecked Sendable {
    public static let kind = "realesrgan-rrdb"

    public struct Configuration: Codable, Sendable, Equatable {
        public var numInCh = 3
        public var numOutCh = 3
        public var scale = 4
        public var numFeat = 64
        public var numBlock = 23
        public var numGrowCh = 32

        enum CodingKeys: String, CodingKey {
            case numInCh = "num_in_ch", numOutCh = "num_out_ch", scale, numFeat = "num_feat"
            case numBlock = "num_block", numGrowCh = "num_grow_ch"
        }
    }

    /// Five 3×3 convs, each seeing the block input and every earlier output.
    public struct ResidualDenseBlock: Sendable {
        public let conv1, conv2, conv3, conv4, conv5: Conv2d

        init(_ p: ModulePath, numFeat nf: Int, numGrowCh gc: Int) throws {
            conv1 = try Conv2d(p["conv1"], inChannels: nf, outChannels: gc, kernelSize: 3, padding: 1)
            conv2 = try Conv2d(p["conv2"], inChannels: nf + gc, outChannels: gc, kernelSize: 3, padding: 1)
            conv3 = try Conv2d(p["conv3"], inChannels: nf + 2 * gc, outChannels: gc, kernelSize: 3, padding: 1)
            conv4 = try Conv2d(p["conv4"], inChannels: nf + 3 * gc, outChannels: gc, kernelSize: 3, padding: 1)
            conv5 = try Conv2d(p["conv5"], inChannels: nf + 4 * gc, outChannels: nf, kernelSize: 3, padding: 1)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            // The dense connections read the input and every earlier output
            // side by side: keep them in one buffer, each conv appending its
            // channels, instead of re-concatenating for every conv.
            let (n, nf, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let gc = conv1.weight.shape[0]
            let dense = Tensor(uninitialized: [n, nf + 4 * gc, h, w])
            try dense.slice(1, 0, nf).copy_(from: x)
            var filled = nf
            for conv in [conv1, conv2, conv3, conv4] {
                let y = leakyRelu(try conv(dense.slice(1, 0, filled)), negativeSlope: 0.2)
                try dense.slice(1, filled, filled + gc).copy_(from: y)
                filled += gc
            }
            // Residual scaling 0.2 keeps the very deep stack stable.
            return try conv5(dense) * 0.2 + x
        }
    }

    public struct RRDB: Sendable {
        public let rdb1, rdb2, rdb3: ResidualDenseBlock

        init(_ p: ModulePath, numFeat: Int, numGrowCh: Int) throws {
            rdb1 = try ResidualDenseBlock(p["rdb1"], numFeat: numFeat, numGrowCh: numGrowCh)
            rdb2 = try ResidualDenseBlock(p["rdb2"], numFeat: numFeat, numGrowCh: numGrowCh)
            rdb3 = try ResidualDenseBlock(p["rdb3"], numFeat: numFeat, numGrowCh: numGrowCh)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try rdb3(rdb2(rdb1(x))) * 0.2 + x
        }
    }

    public let config: Configuration
    public let convFirst: Conv2d
    public let body: [RRDB]
    public let convBody, convUp1, convUp2, convHr, convLast: Conv2d

    public init(config: Configuration, checkpoint: Checkpoint) throws {
        guard config.scale == 4 else {
            // Scales 1 and 2 pixel-unshuffle the input first; no released x1/x2 RRDB model is imported.
            throw ModelError.unsupported("RRDBNet scale \(config.scale) (only 4)")
        }
        self.config = config
        let nf = config.numFeat
        func conv(_ key: String, _ cin: Int, _ cout: Int) throws -> Conv2d {
            try Conv2d(checkpoint[key], inChannels: cin, outChannels: cout, kernelSize: 3, padding: 1)
        }
        convFirst = try conv("conv_first", config.numInCh, nf)
        body = try (0..<config.numBlock).map {
            try RRDB(checkpoint["body"][$0], numFeat: nf, numGrowCh: config.numGrowCh)
        }
        convBody = try conv("conv_body", nf, nf)
        convUp1 = try conv("conv_up1", nf, nf)
        convUp2 = try conv("conv_up2", nf, nf)
        convHr = try conv("conv_hr", nf, nf)
        convLast = try conv("conv_last", nf, config.numOutCh)
        try checkpoint.requireAllUsed()
    }

    public convenience init(entry: ModelStore.Entry) throws {
        try self.init(config: entry.config(Configuration.self), checkpoint: Checkpoint(path: entry.weightsURL.path))
    }

    /// x: [N, num_in_ch, H, W] in [0, 1] → [N, num_out_ch, 4H, 4W] (not clamped).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.ndim == 4, x.shape[1] == config.numInCh else {
            throw ModelError.badInput("RRDBNet expects [N, \(config.numInCh), H, W], got \(x.shape)")
        }
        let feat = try convFirst(x)
        var trunk = feat
        for block in body { trunk = try block(trunk) }
        var out = try convBody(trunk) + feat
        out = leakyRelu(try convUp1(interpolate(out, scaleFactor: 2, mode: .nearest)), negativeSlope: 0.2)
        out = leakyRelu(try convUp2(interpolate(out, scaleFactor: 2, mode: .nearest)), negativeSlope: 0.2)
        return try convLast(leakyRelu(try convHr(out), negativeSlope: 0.2))
    }
}
