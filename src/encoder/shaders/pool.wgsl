// Mean pooling and L2 normalisation: one workgroup per text sums its tokens'
// rows column by column, then divides by the sum's length (the mean's 1/n
// cancels in the normalisation).

struct Params {
    texts: u32,
    width: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// Per text: (first token, token count).
@group(0) @binding(2) var<storage, read> texts: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> pooled: array<f32>;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let n = wg.x;
    if (n >= p.texts) {
        return;
    }
    let span = texts[n];
    var squares = 0.0;
    for (var c = lid; c < p.width; c += WG) {
        var s = 0.0;
        for (var t = span.x; t < span.x + span.y; t++) {
            s += x[t * p.width + c];
        }
        pooled[n * p.width + c] = s;
        squares += s * s;
    }
    partial[lid] = squares;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let inv = 1.0 / max(sqrt(partial[0]), 1e-12);
    for (var c = lid; c < p.width; c += WG) {
        pooled[n * p.width + c] *= inv;
    }
}
