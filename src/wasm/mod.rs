//! JavaScript bindings (wasm-bindgen, `--target web`): the `Encoder` and
//! `Engine` classes the npm package's worker drives.
//!
//! The binding only translates: JS values are checked here and turned into
//! Rust types, every library error becomes a JS `Error` with its message, and
//! nothing panics across the boundary (the panic hook logs anything that would).

mod dto;
mod encoder;
mod engine;
#[cfg(feature = "gpu")]
mod gpu;

use js_sys::{Array, ArrayBuffer, Uint8Array};
use wasm_bindgen::prelude::*;

/// Installs the panic hook once, when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Which SIMD this module was built for: `"relaxed-simd"` (the narrow int8
/// product on `i32x4.relaxed_dot_i8x16_i7x16_add_s`) or `"simd128"`.
#[wasm_bindgen(js_name = simdLevel)]
pub fn simd_level() -> String {
    match crate::cpu::gemm::Scheme::for_build() {
        crate::cpu::gemm::Scheme::Narrow => "relaxed-simd",
        crate::cpu::gemm::Scheme::Wide => "simd128",
    }
    .to_string()
}

/// A JS `Error` with a stable `name` to branch on and `message` to show.
pub(crate) fn js_error(name: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name(name);
    error.into()
}

/// A library error as a JS `Error` named by its kind ([`crate::Error::name`]).
pub(crate) fn to_js(e: crate::Error) -> JsValue {
    js_error(e.name(), &e.to_string())
}

/// Input from JS that is not what a call takes: an `Error` named `InvalidInput`.
pub(crate) fn invalid(message: &str) -> JsValue {
    js_error("InvalidInput", message)
}

/// Bytes from a `Uint8Array` or an `ArrayBuffer`.
pub(crate) fn bytes_of(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        Ok(array.to_vec())
    } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        Ok(Uint8Array::new(buffer).to_vec())
    } else {
        Err(invalid(
            "Encoder.load expects the model bundle as a Uint8Array or an ArrayBuffer",
        ))
    }
}

/// A JS array of strings.
pub(crate) fn strings_of(value: &JsValue, call: &str) -> Result<Vec<String>, JsValue> {
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| invalid(&format!("{call}: texts must be an array of strings")))?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| string_of(&v, &format!("{call}: texts[{i}]")))
        .collect()
}

pub(crate) fn string_of(value: &JsValue, what: &str) -> Result<String, JsValue> {
    value
        .as_string()
        .ok_or_else(|| invalid(&format!("{what} must be a string")))
}

pub(crate) fn to_js_value<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error("Internal", &e.to_string()))
}

pub(crate) fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}
