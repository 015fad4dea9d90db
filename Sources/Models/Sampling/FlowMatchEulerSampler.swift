import ReelEngine

/// Euler integration of a flow-matching ODE from σ = 1 (noise) to σ = 0, with
/// classifier-free guidance (diffusers' FlowMatchEulerDiscreteScheduler.step
/// inside WanPipeline's loop): v = v_uncond + g·(v_cond − v_uncond),
/// x ← x + (σ_next − σ)·v.
public struct FlowMatchEulerSampler: Sendable {
    public let schedule: NoiseSchedule
    public let steps: Int
    public let trainTimesteps: Int

    public init(schedule: NoiseSchedule, steps: Int, trainTimesteps: Int = 1000) {
        self.schedule = schedule
        self.steps = steps
        self.trainTimesteps = trainTimesteps
    }

    public var sigmas: [Float] { schedule.sigmas(steps: steps, trainTimesteps: trainTimesteps) }

    /// What the velocity model is asked: the latents (the batch doubled when
    /// guiding: conditional first, then unconditional) and the timestep.
    public typealias Velocity = (_ latents: Tensor, _ timestep: Float) throws -> Tensor

    /// Runs every step. `guidance` > 1 evaluates the model on [x; x] and combines
    /// the halves; otherwise only the conditional half. `afterStep(i)` runs after
    /// step i (progress) and may throw to stop (cancellation between steps).
    public func sample(_ noise: Tensor, guidance: Float, velocity: Velocity,
                       afterStep: (Int) throws -> Void = { _ in }) throws -> Tensor {
        let sig = sigmas
        var x = noise
        let guided = guidance > 1
        for i in 0..<steps {
            let t = sig[i] * Float(trainTimesteps)
            let v: Tensor
            if guided {
                let both = try velocity(concatenate([x, x], dim: 0), t)
                let halves = try both.chunk(2, dim: 0)
                v = try halves[1] + (halves[0] - halves[1]) * guidance
            } else {
                v = try velocity(x, t)
            }
            x = try x + v * (sig[i + 1] - sig[i])
            try afterStep(i)
        }
        return x
    }
}
