// Scaled dot-product attention without padding: one invocation per (token,
// head) walks the keys of its own text only, with an online softmax (running
// maximum and sum), and writes its head's slice of the context row.
// qkv rows are [queries | keys | values], each `hidden` wide.

struct Params {
    tokens: u32,
    hidden: u32,
    heads: u32,
    head_dim: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
// Per token: (first token of its text, the text's length).
@group(0) @binding(2) var<storage, read> spans: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> context: array<f32>;

const MAX_HEAD_DIM: u32 = 128u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = gid.x;
    if (id >= p.tokens * p.heads) {
        return;
    }
    let t = id / p.heads;
    let head = id % p.heads;
    let d = min(p.head_dim, MAX_HEAD_DIM);
    let stride = 3u * p.hidden;
    let span = spans[t];
    var q: array<f32, MAX_HEAD_DIM>;
    var acc: array<f32, MAX_HEAD_DIM>;
    let qo = t * stride + head * p.head_dim;
    for (var e = 0u; e < d; e++) {
        q[e] = qkv[qo + e] * p.scale;
    }
    var running_max = -3.0e38;
    var total = 0.0;
    for (var j = span.x; j < span.x + span.y; j++) {
        let ko = j * stride + p.hidden + head * p.head_dim;
        var s = 0.0;
        for (var e = 0u; e < d; e++) {
            s = fma(q[e], qkv[ko + e], s);
        }
        let m = max(running_max, s);
        let correction = exp(running_max - m);
        let w = exp(s - m);
        total = total * correction + w;
        let vo = ko + p.hidden;
        for (var e = 0u; e < d; e++) {
            acc[e] = fma(w, qkv[vo + e], acc[e] * correction);
        }
        running_max = m;
    }
    let co = t * p.hidden + head * p.head_dim;
    for (var e = 0u; e < d; e++) {
        context[co + e] = acc[e] / total;
    }
}
