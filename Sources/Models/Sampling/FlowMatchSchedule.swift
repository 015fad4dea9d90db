import Foundation

/// The noise levels σ of a flow-matching sampler (x_σ = (1 − σ)·x₀ + σ·ε, the
/// model predicting the velocity ε − x₀), from 1 down to 0, and their
/// timesteps (σ · num_train_timesteps) as the transformer sees them.
public enum NoiseSchedule: Sendable, Equatable {
    /// Wan's: evenly spaced timesteps, each σ shifted to shift·σ / (1 + (shift − 1)·σ)
    /// (diffusers' FlowMatchEulerDiscreteScheduler with `shift`, used by Wan with flow_shift 3 to 5).
    case shifted(shift: Double)
    /// Movie Gen's linear-quadratic schedule: the first `linearSteps` (default half)
    /// σ fall linearly to 1 − thresholdNoise, the rest quadratically to 0
    /// (diffusers' `linear_quadratic_schedule`, Mochi); then `shift` as above (1 = none).
    case linearQuadratic(thresholdNoise: Double = 0.025, linearSteps: Int? = nil, shift: Double = 1)

    /// Names accepted by the plugin's `schedule` parameter.
    public static let names = ["shifted", "linear-quadratic"]

    /// σ for each of `steps` steps plus the terminal 0 (steps + 1 values), as float32 like diffusers.
    public func sigmas(steps: Int, trainTimesteps: Int = 1000) -> [Float] {
        precondition(steps >= 1)
        var raw: [Double]
        let shift: Double
        switch self {
        case .shifted(let s):
            shift = s
            // diffusers' __init__ keeps σ_min = shift(1/N) in float32; set_timesteps spaces
            // timesteps from σ_max·N to σ_min·N and shifts them (again).
            let n = Float(trainTimesteps)
            let smallest = Float(1) / n
            let sigmaMin = Double(Float(s) * smallest / (1 + (Float(s) - 1) * smallest))
            let hi = 1.0 * Double(trainTimesteps), lo = sigmaMin * Double(trainTimesteps)
            raw = (0..<steps).map { i in
                let t = steps == 1 ? hi : hi + (lo - hi) * Double(i) / Double(steps - 1)
                return t / Double(trainTimesteps)
            }
        case .linearQuadratic(let threshold, let linearSteps, let s):
            shift = s
            raw = NoiseSchedule.linearQuadratic(steps: steps, thresholdNoise: threshold, linearSteps: linearSteps)
        }
        var out = raw.map { sigma -> Float in
            Float(shift * sigma / (1 + (shift - 1) * sigma))
        }
        out.append(0)
        return out
    }

    /// Timesteps the transformer is conditioned on: σ · num_train_timesteps (float32).
    public func timesteps(steps: Int, trainTimesteps: Int = 1000) -> [Float] {
        sigmas(steps: steps, trainTimesteps: trainTimesteps).dropLast().map { $0 * Float(trainTimesteps) }
    }

    /// Mochi's `linear_quadratic_schedule` (Movie Gen §3.1.6), in double as Python computes it.
    static func linearQuadratic(steps: Int, thresholdNoise: Double, linearSteps: Int?) -> [Double] {
        let linear = linearSteps ?? steps / 2
        if linear == 0 { return (0..<steps).map { 1 - Double($0) / Double(steps) } }
        var schedule = (0..<linear).map { Double($0) * thresholdNoise / Double(linear) }
        let diff = Double(linear) - thresholdNoise * Double(steps)
        let quadSteps = Double(steps - linear)
        let quadCoef = diff / (Double(linear) * quadSteps * quadSteps)
        let linCoef = thresholdNoise / Double(linear) - 2 * diff / (quadSteps * quadSteps)
        let const = quadCoef * Double(linear * linear)
        for i in linear..<steps {
            let x = Double(i)
            schedule.append(quadCoef * x * x + linCoef * x + const)
        }
        return schedule.map { 1 - $0 }
    }
}
