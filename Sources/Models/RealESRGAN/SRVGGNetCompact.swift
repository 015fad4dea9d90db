import ReelEngine

/// Real-ESRGAN's compact video network (basicsr/archs/srvgg_arch.py), here
/// realesr-animevideov3: a plain stack of 3×3 convs with PReLU at low
/// resolution, a pixel-shuffle to the output size, and the input upsampled by
/// nearest neighbour added back, so the convs only learn the residual detail.
///
/// Checkpoint keys: `body.0` conv, `body.1` PReLU, …, `body.{2·num_conv+2}` the
/// last conv to num_out_ch·upscale² channels.
public final class SRVGGNetCompact: @unchecked Sendable {
    public static let kind = "realesrgan-srvgg"

    public struct Configuration: Codable, Sendable, Equatable {
        public var numInCh = 3
        public var numOutCh = 3
        public var numFeat = 64
        public var numConv = 16
        public var upscale = 4
        public var actType = "prelu"

        enum CodingKeys: String, CodingKey {
            case numInCh = "num_in_ch", numOutCh = "num_out_ch", numFeat = "num_feat"
            case numConv = "num_conv", upscale, actType = "act_type"
        }
    }

    /// One entry of `body`, in checkpoint order.
    public enum Layer: Sendable {
        case conv(Conv2d)
        case prelu(PReLU)
    }

    public let config: Configuration
    public let body: [Layer]
    /// The same convolutions prepared for the engine's Winograd kernel (nil
    /// without AVX-512): the whole stack then runs NHWC, bias and PReLU fused,
    /// with one layout change on the way in and one on the way out.
    let winograd: [(conv: WinogradConvolution3x3, bias: Tensor?, slope: Tensor?)]?

    public init(config: Configuration, checkpoint: Checkpoint) throws {
        guard config.actType == "prelu" else {
            throw ModelError.unsupported("SRVGGNetCompact act_type \(config.actType) (the released models use prelu)")
        }
        self.config = config
        let body = checkpoint["body"], nf = config.numFeat
        var layers: [Layer] = [
            .conv(try Conv2d(body[0], inChannels: config.numInCh, outChannels: nf, kernelSize: 3, padding: 1)),
            .prelu(try PReLU(body[1], channels: nf)),
        ]
        for i in 0..<config.numConv {
            layers.append(.conv(try Conv2d(body[2 + 2 * i], inChannels: nf, outChannels: nf, kernelSize: 3, padding: 1)))
            layers.append(.prelu(try PReLU(body[3 + 2 * i], channels: nf)))
        }
        let outChannels = config.numOutCh * config.upscale * config.upscale
        layers.append(.conv(try Conv2d(body[2 + 2 * config.numConv], inChannels: nf, outChannels: outChannels,
                                       kernelSize: 3, padding: 1)))
        self.body = layers
        try checkpoint.requireAllUsed()
        if WinogradConvolution3x3.isAvailable {
            var stack: [(conv: WinogradConvolution3x3, bias: Tensor?, slope: Tensor?)] = []
            for (i, layer) in layers.enumerated() {
                guard case .conv(let conv) = layer else { continue }
                var slope: Tensor?
                if i + 1 < layers.count, case .prelu(let act) = layers[i + 1] { slope = act.weight }
                stack.append((try WinogradConvolution3x3(weight: conv.weight), conv.bias, slope))
            }
            winograd = stack
        } else {
            winograd = nil
        }
    }

    /// Loads an imported model (`manifest.json` + `model.safetensors`) from the store.
    public convenience init(entry: ModelStore.Entry) throws {
        try self.init(config: entry.config(Configuration.self), checkpoint: Checkpoint(path: entry.weightsURL.path))
    }

    /// x: [N, num_in_ch, H, W] in [0, 1] → [N, num_out_ch, H·upscale, W·upscale] (not clamped).
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.ndim == 4, x.shape[1] == config.numInCh else {
            throw ModelError.badInput("SRVGGNetCompact expects [N, \(config.numInCh), H, W], got \(x.shape)")
        }
        var out = x
        if let stack = winograd, Engine.useWinograd {
            var h = try nchwToNHWC(x, channels: stack[0].conv.paddedInChannels)
            for layer in stack { h = try conv3x3NHWC(h, weight: layer.conv, bias: layer.bias, preluSlope: layer.slope) }
            out = try nhwcToNCHW(h, channels: stack[stack.count - 1].conv.outChannels)
        } else {
            for layer in body {
                switch layer {
                case .conv(let conv): out = try conv(out)
                case .prelu(let act): out = try act(out)
                }
            }
        }
        out = try pixelShuffle(out, config.upscale)
        let base = try interpolate(x, scaleFactor: Float(config.upscale), mode: .nearest)
        return try out + base
    }
}
