// x = LayerNorm(x + y) row by row: one workgroup per row, two-pass mean and
// variance through workgroup reductions.

struct Params {
    rows: u32,
    width: u32,
    eps: f32,
    row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;

const WG: u32 = 64u;
var<workgroup> partial: array<f32, 64>;

fn reduce(lid: u32, v: f32) -> f32 {
    partial[lid] = v;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.x + wg.y * p.row_stride;
    // Uniform per workgroup: every invocation takes the same branch.
    if (row >= p.rows) {
        return;
    }
    let base = row * p.width;
    var sum = 0.0;
    for (var c = lid; c < p.width; c += WG) {
        let v = x[base + c] + y[base + c];
        x[base + c] = v;
        sum += v;
    }
    let mean = reduce(lid, sum) / f32(p.width);
    var squares = 0.0;
    for (var c = lid; c < p.width; c += WG) {
        let d = x[base + c] - mean;
        squares += d * d;
    }
    let inv = inverseSqrt(reduce(lid, squares) / f32(p.width) + p.eps);
    for (var c = lid; c < p.width; c += WG) {
        x[base + c] = (x[base + c] - mean) * inv * gamma[c] + beta[c];
    }
}
