// Catalogue scoring: every item's int8 vector against the profile's query
// directions, one invocation per item. Items and queries are int8 packed four
// to a u32; a score is the exact integer dot product times the two scales,
// computed in the same order as the CPU kernel so both agree to the bit.
//   pos[i]  = max over interests of score(i, q) * gain(q)   (0 if no interests)
//   push[i] = max(0, max over negatives of score(i, q) * gain(q) - margin)

struct Params {
    items: u32,
    words: u32,
    interests: u32,
    negatives: u32,
    margin: f32,
    row_stride: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> items: array<u32>;
@group(0) @binding(2) var<storage, read> item_scales: array<f32>;
@group(0) @binding(3) var<storage, read> queries: array<u32>;
// Per query: (scale, gain).
@group(0) @binding(4) var<storage, read> query_weights: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> pos: array<f32>;
@group(0) @binding(6) var<storage, read_write> push: array<f32>;

fn dot_row(i: u32, q: u32) -> i32 {
    var acc = 0i;
    let a = i * p.words;
    let b = q * p.words;
    for (var w = 0u; w < p.words; w++) {
        acc += dot4I8Packed(items[a + w], queries[b + w]);
    }
    return acc;
}

fn score(i: u32, q: u32) -> f32 {
    let qw = query_weights[q];
    return f32(dot_row(i, q)) * item_scales[i] * qw.x * qw.y;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * p.row_stride;
    if (i >= p.items) {
        return;
    }
    var best = 0.0;
    if (p.interests > 0u) {
        best = -3.0e38;
        for (var q = 0u; q < p.interests; q++) {
            best = max(best, score(i, q));
        }
    }
    pos[i] = best;
    var away = 0.0;
    for (var q = p.interests; q < p.interests + p.negatives; q++) {
        away = max(away, score(i, q) - p.margin);
    }
    push[i] = away;
}
