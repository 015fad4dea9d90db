import ReelEngine

// The few PyTorch layers the upsample models use, holding their checkpoint
// tensors under the same names (weight, bias) as torch.nn does.

/// torch.nn.Conv2d with a square kernel.
public struct Conv2d: Sendable {
    public let weight: Tensor  // [out, in, k, k]
    public let bias: Tensor?   // [out]
    public let stride: Int
    public let padding: Int

    public init(_ path: ModulePath, inChannels: Int, outChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) throws {
        weight = try path.tensor("weight", shape: [outChannels, inChannels, kernelSize, kernelSize])
        self.bias = bias ? try path.tensor("bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// torch.nn.ConvTranspose2d with a square kernel.
public struct ConvTranspose2d: Sendable {
    public let weight: Tensor  // [in, out, k, k]
    public let bias: Tensor?   // [out]
    public let stride: Int
    public let padding: Int

    public init(_ path: ModulePath, inChannels: Int, outChannels: Int, kernelSize: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) throws {
        weight = try path.tensor("weight", shape: [inChannels, outChannels, kernelSize, kernelSize])
        self.bias = bias ? try path.tensor("bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try convTranspose2d(x, weight: weight, bias: bias, stride: [stride, stride], padding: [padding, padding])
    }
}

/// torch.nn.PReLU(num_parameters): one learned negative slope per channel.
public struct PReLU: Sendable {
    public let weight: Tensor  // [channels]

    public init(_ path: ModulePath, channels: Int) throws {
        weight = try path.tensor("weight", shape: [channels])
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor { try prelu(x, weight: weight) }
}
