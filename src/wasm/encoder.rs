//! The `Encoder` class: text → embeddings, on the CPU or the WebGPU path.

use js_sys::Float32Array;
use wasm_bindgen::prelude::*;

#[cfg(feature = "gpu")]
use super::gpu::{fault_named, gpu_context, preference_named};
use super::{bytes_of, string_of, strings_of, to_js};
#[cfg(feature = "gpu")]
use super::{invalid, to_js_value};

/// A sentence encoder running in this page or worker.
#[wasm_bindgen(js_name = Encoder)]
pub struct JsEncoder {
    /// Shared with the promises of the async methods.
    inner: std::rc::Rc<crate::Encoder>,
}

#[wasm_bindgen(js_class = Encoder)]
impl JsEncoder {
    /// Validates a model bundle (magic, version, checksum, shapes) and loads it.
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<JsEncoder, JsValue> {
        let bytes = bytes_of(&bytes)?;
        let inner = crate::Encoder::from_bytes(&bytes).map_err(to_js)?;
        Ok(JsEncoder {
            inner: std::rc::Rc::new(inner),
        })
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

    /// The int8 product this encoder runs: `"wide"` (i16 activations × 8-bit
    /// weights), `"narrow"` (the relaxed-SIMD build: 8-bit × 7-bit), or
    /// `"f32"` for f32 bundles.
    #[wasm_bindgen(getter)]
    pub fn gemm(&self) -> String {
        self.inner
            .gemm_scheme()
            .map_or("f32", |s| s.name())
            .to_string()
    }

    /// The L2-normalised embedding of one text.
    pub fn embed(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<Float32Array, JsValue> {
        let text = string_of(&text, "embed(text): text")?;
        let v = self.inner.embed(&text).map_err(to_js)?;
        Ok(Float32Array::from(v.as_slice()))
    }

    /// Embeddings of many texts, row-major: `texts.length * dims` floats.
    #[wasm_bindgen(js_name = embedBatch)]
    pub fn embed_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] texts: JsValue,
    ) -> Result<Float32Array, JsValue> {
        let texts = strings_of(&texts, "embedBatch(texts)")?;
        let out = self.inner.embed_batch(&texts).map_err(to_js)?;
        Ok(Float32Array::from(out.as_slice()))
    }

    /// Number of word pieces the model sees for `text` (with `[CLS]`/`[SEP]`, after truncation).
    #[wasm_bindgen(js_name = tokenCount)]
    pub fn token_count(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
    ) -> Result<u32, JsValue> {
        let text = string_of(&text, "tokenCount(text): text")?;
        let ids = self.inner.tokenizer().encode(&text).map_err(to_js)?;
        Ok(ids.len() as u32)
    }
}

/// The WebGPU path of the `Encoder` class: attach, embed asynchronously,
/// observe the backend, and (for resilience tests) inject faults.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_class = Encoder)]
impl JsEncoder {
    /// Attaches WebGPU when the browser has it: `"auto"` (default) times both
    /// paths and picks per single text and per batch, `"gpu"` forces the GPU,
    /// `"cpu"` detaches any GPU. Resolves to `{ single, batch }` (`"gpu"` or `"cpu-simd"`);
    /// with `"auto"` a browser without WebGPU simply stays on the CPU.
    #[wasm_bindgen(js_name = useGpu)]
    pub fn use_gpu(&self, preference: Option<String>) -> js_sys::Promise {
        use crate::encoder::backend::BackendChoice;
        let inner = self.inner.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let preference = preference_named(preference)?;
            let choice = match gpu_context(preference).await? {
                Some(ctx) => inner.use_gpu(ctx, preference).await.map_err(to_js)?,
                None => {
                    inner.detach_gpu();
                    BackendChoice::CPU
                }
            };
            to_js_value(&choice)
        })
    }

    /// Like `embedBatch`, on the chosen paths (the GPU where chosen). A GPU
    /// fault never rejects: that call finishes on the CPU, later calls stay there.
    #[wasm_bindgen(js_name = embedBatchAsync, unchecked_return_type = "Promise<Float32Array>")]
    pub fn embed_batch_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] texts: JsValue,
    ) -> Result<js_sys::Promise, JsValue> {
        let texts = strings_of(&texts, "embedBatchAsync(texts)")?;
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let out = inner.embed_batch_async(&texts).await.map_err(to_js)?;
            Ok(Float32Array::from(out.as_slice()).into())
        }))
    }

    /// The paths in force: `{ single, batch }`, each `"gpu"` or `"cpu-simd"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Result<JsValue, JsValue> {
        to_js_value(&self.inner.backend())
    }

    /// The attached adapter (`{ name, backend, deviceType, software, … }`), or null.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> Result<JsValue, JsValue> {
        match self.inner.gpu_context() {
            Some(ctx) => to_js_value(ctx.adapter()),
            None => Ok(JsValue::NULL),
        }
    }

    /// Backend events since the last call: `{ kind: "selected" | "fell-back", … }`.
    #[wasm_bindgen(js_name = takeBackendEvents)]
    pub fn take_backend_events(&self) -> Result<JsValue, JsValue> {
        to_js_value(&self.inner.take_backend_events())
    }

    /// Arms a GPU fault for resilience tests: `"lose-device"` or
    /// `"fail-readback"`, striking after `after` more successful readbacks.
    #[wasm_bindgen(js_name = injectGpuFault)]
    pub fn inject_gpu_fault(&self, kind: &str, after: u32) -> Result<(), JsValue> {
        let fault = fault_named(kind, after)?;
        let ctx = self
            .inner
            .gpu_context()
            .ok_or_else(|| invalid("injectGpuFault: no GPU attached"))?;
        ctx.inject(fault);
        Ok(())
    }
}
