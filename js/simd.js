// Which wasm build this engine can run. localrec ships two builds of the same
// code: pkg/localrec_bg.wasm (simd128, the precise "wide" int8 product) and
// pkg/localrec_relaxed_bg.wasm (relaxed SIMD: the "narrow" 8-bit × 7-bit product
// on i32x4.relaxed_dot_i8x16_i7x16_add_s, about twice the matrix throughput
// where the CPU has VNNI). The relaxed build is used only where the engine
// validates a module holding that instruction.

// (module (func (result v128)
//   v128.const 0 v128.const 0 v128.const 0 i32x4.relaxed_dot_i8x16_i7x16_add_s))
const zeros = new Array(16).fill(0);
const vconst = [0xfd, 0x0c, ...zeros];
const body = [0x00, ...vconst, ...vconst, ...vconst, 0xfd, 0x93, 0x02, 0x0b];
const PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, body.length + 2, 0x01, body.length, ...body, // its code
]);

/** True where this engine runs relaxed SIMD (its dot product included). */
export function relaxedSimdSupported() {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(PROBE);
  } catch {
    return false;
  }
}

/**
 * The build to load for `simd` ("auto" | "relaxed-simd" | "simd128"): "relaxed-simd"
 * or "simd128". "relaxed-simd" where the engine lacks it is an error, not a fall-back.
 */
export function chooseSimd(simd = "auto") {
  if (!["auto", "relaxed-simd", "simd128"].includes(simd)) {
    throw new Error(`simd must be "auto", "relaxed-simd" or "simd128", not ${JSON.stringify(simd)}`);
  }
  const relaxed = relaxedSimdSupported();
  if (simd === "relaxed-simd" && !relaxed) throw new Error("this browser does not run WebAssembly relaxed SIMD");
  return simd === "auto" ? (relaxed ? "relaxed-simd" : "simd128") : simd;
}
