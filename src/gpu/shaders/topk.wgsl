// Top-k per chunk of items: each workgroup picks the k best of its chunk, in
// order, by k rounds of a parallel arg-max. Round r keeps only items ranked
// after round r-1's pick in the total order (higher score first, then lower
// index), so nothing is marked or modified. The CPU merges the chunks' lists.

struct Params {
    items: u32,
    k: u32,
    chunk: u32,
    groups_x: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read_write> picked_index: array<u32>;
@group(0) @binding(3) var<storage, read_write> picked_score: array<f32>;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> best_score: array<f32, 256>;
var<workgroup> best_index: array<u32, 256>;

// Whether (s, i) ranks before (t, j).
fn before(s: f32, i: u32, t: f32, j: u32) -> bool {
    if (j == NONE) {
        return i != NONE;
    }
    if (i == NONE) {
        return false;
    }
    return s > t || (s == t && i < j);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wg.x + wg.y * p.groups_x;
    let begin = g * p.chunk;
    let end = min(begin + p.chunk, p.items);
    var last_score = 3.0e38;
    var last_index = NONE;
    var first = true;
    for (var r = 0u; r < p.k; r++) {
        var s = 0.0;
        var idx = NONE;
        for (var i = begin + lid; i < end; i += WG) {
            let v = scores[i];
            let after_last = first || before(last_score, last_index, v, i);
            if (after_last && before(v, i, s, idx)) {
                s = v;
                idx = i;
            }
        }
        best_score[lid] = s;
        best_index[lid] = idx;
        workgroupBarrier();
        for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
            if (lid < stride) {
                let t = best_score[lid + stride];
                let j = best_index[lid + stride];
                if (before(t, j, best_score[lid], best_index[lid])) {
                    best_score[lid] = t;
                    best_index[lid] = j;
                }
            }
            workgroupBarrier();
        }
        let win_score = best_score[0];
        let win_index = best_index[0];
        if (lid == 0u && g * p.k + r < arrayLength(&picked_index)) {
            picked_index[g * p.k + r] = win_index;
            picked_score[g * p.k + r] = win_score;
        }
        workgroupBarrier();
        last_score = win_score;
        last_index = win_index;
        first = false;
    }
}
