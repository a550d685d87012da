//! JavaScript bindings (wasm-bindgen, `--target web`): the `Encoder` class.
//!
//! The binding only translates: JS values are checked here and turned into
//! Rust types, every library error becomes a JS `Error` with its message, and
//! nothing panics across the boundary (the panic hook logs anything that would).

use js_sys::{Array, ArrayBuffer, Float32Array, Uint8Array};
use wasm_bindgen::prelude::*;

/// Installs the panic hook once, when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn to_js(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Bytes from a `Uint8Array` or an `ArrayBuffer`.
fn bytes_of(value: &JsValue) -> Result<Vec<u8>, JsError> {
    if let Some(array) = value.dyn_ref::<Uint8Array>() {
        Ok(array.to_vec())
    } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        Ok(Uint8Array::new(buffer).to_vec())
    } else {
        Err(JsError::new(
            "Encoder.load expects the model bundle as a Uint8Array or an ArrayBuffer",
        ))
    }
}

fn string_of(value: &JsValue, what: &str) -> Result<String, JsError> {
    value
        .as_string()
        .ok_or_else(|| JsError::new(&format!("{what} must be a string")))
}

/// A sentence encoder running in this page or worker.
#[wasm_bindgen(js_name = Encoder)]
pub struct JsEncoder {
    inner: crate::Encoder,
}

#[wasm_bindgen(js_class = Encoder)]
impl JsEncoder {
    /// Validates a model bundle (magic, version, checksum, shapes) and loads it.
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<JsEncoder, JsError> {
        let bytes = bytes_of(&bytes)?;
        let inner = crate::Encoder::from_bytes(&bytes).map_err(to_js)?;
        Ok(JsEncoder { inner })
    }

    /// Length of every embedding (384 for MiniLM).
    #[wasm_bindgen(getter)]
    pub fn dims(&self) -> u32 {
        self.inner.dims() as u32
    }

    /// How the weights are stored: `"int8"` or `"f32"`.
    #[wasm_bindgen(getter)]
    pub fn quant(&self) -> String {
        self.inner.quant().to_string()
    }

    /// Fingerprint of the source weights.
    #[wasm_bindgen(getter, js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.inner.model_id().to_string()
    }

    /// The L2-normalised embedding of one text.
    pub fn embed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<Float32Array, JsError> {
        let text = string_of(&text, "embed(text): text")?;
        let v = self.inner.embed(&text).map_err(to_js)?;
        Ok(Float32Array::from(v.as_slice()))
    }

    /// Embeddings of many texts, row-major: `texts.length * dims` floats.
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] texts: JsValue,
    ) -> Result<Float32Array, JsError> {
        let array = texts
            .dyn_ref::<Array>()
            .ok_or_else(|| JsError::new("embedBatch(texts): texts must be an array of strings"))?;
        let texts = array
            .iter()
            .enumerate()
            .map(|(i, v)| string_of(&v, &format!("embedBatch(texts): texts[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let out = self.inner.embed_batch(&texts).map_err(to_js)?;
        Ok(Float32Array::from(out.as_slice()))
    }

    /// Number of word pieces the model sees for `text` (with `[CLS]`/`[SEP]`, after truncation).
    #[wasm_bindgen(js_name = tokenCount)]
    pub fn token_count(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<u32, JsError> {
        let text = string_of(&text, "tokenCount(text): text")?;
        let ids = self.inner.tokenizer().encode(&text).map_err(to_js)?;
        Ok(ids.len() as u32)
    }
}
