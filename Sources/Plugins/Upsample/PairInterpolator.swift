// The frames between two consecutive source frames, computed on demand and
// cached for the pair: the middle (4/8) from the pair, 2/8 from (0, 4/8), 3/8
// from (2/8, 4/8) and so on — the reference's make_inference recursion, on
// frames padded once (zeros, right and bottom) to RIFE's multiple and cropped
// when they leave. Across a scene cut every in-between frame is the first one.
import ReelEngine
import ReelModels

final class PairInterpolator {
    let rife: RIFE
    let scale: Double
    let sceneThreshold: Double
    let height: Int, width: Int
    private let padH: Int, padW: Int

    private var pair: (index: Int, nodes: [Int: Tensor], isCut: Bool)?
    private(set) var sceneCuts = 0
    private(set) var networkCalls = 0

    init(rife: RIFE, height: Int, width: Int, sceneThreshold: Double) {
        self.rife = rife
        // The reference recommends scale 0.5 for 4K input: coarser flow at the same cost per pixel.
        scale = Swift.max(height, width) > 2048 ? 0.5 : 1
        self.sceneThreshold = sceneThreshold
        self.height = height
        self.width = width
        let m = rife.padMultiple(scale: scale)
        padH = (m - height % m) % m
        padW = (m - width % m) % m
    }

    /// The frame `eighths`/8 of the way from `first` (source frame `index`) to `second`, [1, 3, H, W].
    func frame(index: Int, eighths: Int, first: Tensor, second: Tensor) throws -> Tensor {
        if pair?.index != index {
            let p0 = try padded(first), p1 = try padded(second)
            let cut = SceneCut.ssim(try SceneCut.thumbnail(p0), try SceneCut.thumbnail(p1)) < sceneThreshold
            if cut { sceneCuts += 1 }
            pair = (index, [0: p0, FrameTimeline.steps: p1], cut)
        }
        if pair!.isCut { return first }
        for (lo, hi) in FrameTimeline.bisectionPath(to: eighths) {
            let mid = (lo + hi) / 2
            if pair!.nodes[mid] != nil { continue }
            pair!.nodes[mid] = try rife.forward(pair!.nodes[lo]!, pair!.nodes[hi]!, scale: scale).frame
            networkCalls += 1
        }
        let out = pair!.nodes[eighths]!
        if padH == 0 && padW == 0 { return out }
        return try out.slice(2, 0, height).slice(3, 0, width).contiguous()
    }

    private func padded(_ x: Tensor) throws -> Tensor {
        if padH == 0 && padW == 0 { return x }
        return try pad(x, [(0, padH), (0, padW)])
    }
}
