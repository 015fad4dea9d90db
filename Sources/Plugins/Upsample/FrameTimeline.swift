// Which picture each output frame shows. Output frame j is at time j / out;
// in source frames that is p = j · src / out, between source frames i = ⌊p⌋
// and i + 1. This RIFE has no timestep input: times between two frames come
// from bisection (0.5, then 0.25 / 0.75, ...), exactly the reference's
// make_inference, so p's fraction is rounded to the nearest eighth (at most
// 1/16 of a source frame off; ×2 and ×4 land exactly). When the output rate
// is not above the source rate nothing is interpolated: the nearest source
// frame is shown, as FFmpeg's fps filter does.
import ReelMedia

struct FrameTimeline {
    /// Eighths: three bisection levels.
    static let levels = 3
    static let steps = 1 << levels

    let source: FrameRate
    let output: FrameRate

    /// Whether any output frame falls between two source frames.
    var interpolates: Bool {
        output.numerator * source.denominator > source.numerator * output.denominator
    }

    /// Output frame j: the source frame index and the position after it in eighths (0 = the frame itself).
    func position(_ j: Int) -> (index: Int, eighths: Int) {
        // p = j · (sn/sd) / (on/od) = j · sn · od / (sd · on), kept exact in integers.
        let num = j * source.numerator * output.denominator
        let den = source.denominator * output.numerator
        if !interpolates {
            return ((2 * num + den) / (2 * den), 0)
        }
        var index = num / den
        var e = (2 * (num % den) * Self.steps + den) / (2 * den)
        if e == Self.steps { index += 1; e = 0 }
        return (index, e)
    }

    /// Output frames for `sourceFrames` input frames: the same duration at the new rate.
    func outputCount(sourceFrames n: Int) -> Int {
        guard n > 0 else { return 0 }
        let num = n * output.numerator * source.denominator
        let den = source.numerator * output.denominator
        return Swift.max(1, (2 * num + den) / (2 * den))
    }

    /// The bisection path to `eighths`: the intervals (lo, hi) in eighths whose middles are computed in order.
    static func bisectionPath(to eighths: Int) -> [(lo: Int, hi: Int)] {
        var path: [(Int, Int)] = []
        var lo = 0, hi = steps
        while true {
            let mid = (lo + hi) / 2
            path.append((lo, hi))
            if mid == eighths || hi - lo <= 1 { return path }
            if eighths < mid { hi = mid } else { lo = mid }
        }
    }
}
