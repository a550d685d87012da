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

/// A JS array of strings.
fn strings_of(value: &JsValue, call: &str) -> Result<Vec<String>, JsError> {
    let array = value
        .dyn_ref::<Array>()
        .ok_or_else(|| JsError::new(&format!("{call}: texts must be an array of strings")))?;
    array
        .iter()
        .enumerate()
        .map(|(i, v)| string_of(&v, &format!("{call}: texts[{i}]")))
        .collect()
}

fn string_of(value: &JsValue, what: &str) -> Result<String, JsError> {
    value
        .as_string()
        .ok_or_else(|| JsError::new(&format!("{what} must be a string")))
}

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
    ) -> Result<JsEncoder, JsError> {
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
        let texts = strings_of(&texts, "embedBatch(texts)")?;
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
                Some(ctx) => inner
                    .use_gpu(ctx, preference)
                    .await
                    .map_err(|e| JsValue::from(to_js(e)))?,
                None => {
                    inner.detach_gpu();
                    BackendChoice::CPU
                }
            };
            to_js_value(&choice).map_err(JsValue::from)
        })
    }

    /// Like `embedBatch`, on the chosen paths (the GPU where chosen). A GPU
    /// fault never rejects: that call finishes on the CPU, later calls stay there.
    #[wasm_bindgen(js_name = embedBatchAsync, unchecked_return_type = "Promise<Float32Array>")]
    pub fn embed_batch_async(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] texts: JsValue,
    ) -> Result<js_sys::Promise, JsError> {
        let texts = strings_of(&texts, "embedBatchAsync(texts)")?;
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let out = inner
                .embed_batch_async(&texts)
                .await
                .map_err(|e| JsValue::from(to_js(e)))?;
            Ok(Float32Array::from(out.as_slice()).into())
        }))
    }

    /// The paths in force: `{ single, batch }`, each `"gpu"` or `"cpu-simd"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Result<JsValue, JsError> {
        to_js_value(&self.inner.backend())
    }

    /// The attached adapter (`{ name, backend, deviceType, software, … }`), or null.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> Result<JsValue, JsError> {
        match self.inner.gpu_context() {
            Some(ctx) => to_js_value(ctx.adapter()),
            None => Ok(JsValue::NULL),
        }
    }

    /// Backend events since the last call: `{ kind: "selected" | "fell-back", … }`.
    #[wasm_bindgen(js_name = takeBackendEvents)]
    pub fn take_backend_events(&self) -> Result<JsValue, JsError> {
        to_js_value(&self.inner.take_backend_events())
    }

    /// Arms a GPU fault for resilience tests: `"lose-device"` or
    /// `"fail-readback"`, striking after `after` more successful readbacks.
    #[wasm_bindgen(js_name = injectGpuFault)]
    pub fn inject_gpu_fault(&self, kind: &str, after: u32) -> Result<(), JsError> {
        let fault = fault_named(kind, after)?;
        let ctx = self
            .inner
            .gpu_context()
            .ok_or_else(|| JsError::new("injectGpuFault: no GPU attached"))?;
        ctx.inject(fault);
        Ok(())
    }
}

/// A recommender running in this page or worker: the encoder, one catalogue
/// index and the user's private profile. The npm package's worker drives it.
#[wasm_bindgen]
pub struct Engine {
    /// Shared with the promises of the async methods.
    rec: std::rc::Rc<crate::Recommender>,
    profile: crate::IntentProfile,
    /// Catalogue scoring on the GPU, once `useGpu` attached it.
    #[cfg(feature = "gpu")]
    scoring: std::rc::Rc<
        std::cell::RefCell<Option<std::rc::Rc<crate::encoder::backend::CatalogueScoring>>>,
    >,
}

/// A result as JS sees it: the ranking fields plus what a card shows.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Card<'a> {
    #[serde(flatten)]
    recommendation: &'a crate::Recommendation,
    #[serde(flatten)]
    item: Option<ItemView>,
}

/// An item's display fields.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemView {
    snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price: Option<f32>,
    attributes: std::collections::BTreeMap<String, crate::AttributeValue>,
}

impl From<crate::rec::index::IndexedItem> for ItemView {
    fn from(i: crate::rec::index::IndexedItem) -> Self {
        Self {
            snippet: i.snippet,
            url: i.url,
            category: i.category,
            tags: i.tags,
            price: i.price,
            attributes: i.attributes,
        }
    }
}

/// One stored signal, for the privacy panel.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SignalView {
    ts: i64,
    weight: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    /// The concept a rejection keeps out ("horror").
    #[serde(skip_serializing_if = "Option::is_none")]
    rejects: Option<String>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ProfileView {
    signals: Vec<SignalView>,
    not_interested: Vec<String>,
    seen: Vec<String>,
    bytes: usize,
}

fn to_js_value<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// Ranking options from JS (`undefined`/`null`: the defaults; `now` 0: the clock).
fn rank_options(options: JsValue, call: &str) -> Result<crate::RankOptions, JsError> {
    let mut options: crate::RankOptions = if options.is_undefined() || options.is_null() {
        crate::RankOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options)
            .map_err(|e| JsError::new(&format!("{call}: {e}")))?
    };
    if options.now == 0 {
        options.now = now_seconds();
    }
    Ok(options)
}

/// Results as the cards JS shows.
fn cards(rec: &crate::Recommender, results: &[crate::Recommendation]) -> Result<JsValue, JsError> {
    let cards: Vec<Card<'_>> = results
        .iter()
        .map(|r| Card {
            recommendation: r,
            item: rec.index().item(r.index).map(ItemView::from),
        })
        .collect();
    to_js_value(&cards)
}

/// A fault named in JS (`"lose-device"`, `"fail-readback"`).
#[cfg(feature = "gpu")]
fn fault_named(kind: &str, after: u32) -> Result<crate::gpu::Fault, JsError> {
    use crate::gpu::Fault;
    match kind {
        "lose-device" => Ok(Fault::LoseDevice { after }),
        "fail-readback" => Ok(Fault::FailReadback { after }),
        other => Err(JsError::new(&format!(
            "injectGpuFault: {other:?} is not \"lose-device\" or \"fail-readback\""
        ))),
    }
}

/// A backend preference named in JS (absent: `"auto"`).
#[cfg(feature = "gpu")]
fn preference_named(
    name: Option<String>,
) -> Result<crate::encoder::backend::BackendPreference, JsValue> {
    name.as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(|e| JsValue::from(to_js(e)))
}

/// The browser's WebGPU device, or `None` when there is none and `preference` allows the CPU.
#[cfg(feature = "gpu")]
async fn gpu_context(
    preference: crate::encoder::backend::BackendPreference,
) -> Result<Option<std::sync::Arc<crate::gpu::GpuContext>>, JsValue> {
    use crate::encoder::backend::BackendPreference;
    if preference == BackendPreference::Cpu {
        return Ok(None);
    }
    match crate::gpu::GpuContext::acquire().await {
        // One thread here; the API shares the context as an Arc for native threads.
        #[allow(clippy::arc_with_non_send_sync)]
        Ok(ctx) => Ok(Some(std::sync::Arc::new(ctx))),
        Err(_) if preference == BackendPreference::Auto => Ok(None),
        Err(e) => Err(to_js(e.into()).into()),
    }
}

/// The WebGPU path of the `Engine`: catalogue scoring on the GPU.
#[cfg(feature = "gpu")]
#[wasm_bindgen]
impl Engine {
    fn scoring_path(&self) -> Option<std::rc::Rc<crate::encoder::backend::CatalogueScoring>> {
        self.scoring.try_borrow().ok().and_then(|s| s.clone())
    }

    /// Scores the catalogue on WebGPU when the browser has it: `"auto"`
    /// (default) times one scoring pass on each path, `"gpu"` forces it,
    /// `"cpu"` keeps the CPU. Resolves to the backend in force (`"gpu"` or `"cpu-simd"`).
    #[wasm_bindgen(js_name = useGpu, unchecked_return_type = "Promise<string>")]
    pub fn use_gpu(&self, preference: Option<String>) -> js_sys::Promise {
        let rec = self.rec.clone();
        let slot = self.scoring.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let preference = preference_named(preference)?;
            let scoring = match gpu_context(preference).await? {
                Some(ctx) => Some(std::rc::Rc::new(
                    crate::encoder::backend::CatalogueScoring::attach(ctx, rec.index(), preference)
                        .await
                        .map_err(|e| JsValue::from(to_js(e)))?,
                )),
                None => None,
            };
            let name = scoring.as_ref().map_or("cpu-simd", |s| s.backend().name());
            match slot.try_borrow_mut() {
                Ok(mut s) => *s = scoring,
                Err(_) => return Err(JsError::new("useGpu: the engine is busy").into()),
            }
            Ok(JsValue::from_str(name))
        })
    }

    /// Like `recommend`, with the catalogue scored on the chosen path. A GPU
    /// fault never rejects: the ranking comes from the CPU, as do later ones.
    #[wasm_bindgen(js_name = recommendAsync)]
    pub fn recommend_async(&self, options: JsValue) -> Result<js_sys::Promise, JsError> {
        let options = rank_options(options, "recommend(options)")?;
        let rec = self.rec.clone();
        let profile = self.profile.clone();
        let scoring = self.scoring_path();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let results = match scoring {
                Some(s) => s.recommend(&rec, &profile, &options).await,
                None => rec.recommend(&profile, &options),
            }
            .map_err(|e| JsValue::from(to_js(e)))?;
            cards(&rec, &results).map_err(JsValue::from)
        }))
    }

    /// Backend events since the last call: `{ kind: "selected" | "fell-back", … }`.
    #[wasm_bindgen(js_name = takeBackendEvents)]
    pub fn take_backend_events(&self) -> Result<JsValue, JsError> {
        let events = self
            .scoring_path()
            .map(|s| s.take_events())
            .unwrap_or_default();
        to_js_value(&events)
    }

    /// Arms a GPU fault for resilience tests (see `Encoder.injectGpuFault`).
    #[wasm_bindgen(js_name = injectGpuFault)]
    pub fn inject_gpu_fault(&self, kind: &str, after: u32) -> Result<(), JsError> {
        let fault = fault_named(kind, after)?;
        let scoring = self
            .scoring_path()
            .ok_or_else(|| JsError::new("injectGpuFault: no GPU attached"))?;
        scoring.context().inject(fault);
        Ok(())
    }
}

fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[wasm_bindgen]
impl Engine {
    /// Loads a model bundle and a catalogue index (both checked; the index must come from that model).
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] model: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] catalogue: JsValue,
    ) -> Result<Engine, JsError> {
        let encoder = crate::Encoder::from_bytes(&bytes_of(&model)?).map_err(to_js)?;
        let index = crate::CatalogueIndex::from_bytes(bytes_of(&catalogue)?).map_err(to_js)?;
        let rec = crate::Recommender::new(encoder, index).map_err(to_js)?;
        let profile = rec
            .new_profile(crate::ProfileSettings::default())
            .map_err(to_js)?;
        Ok(Engine {
            rec: std::rc::Rc::new(rec),
            profile,
            #[cfg(feature = "gpu")]
            scoring: Default::default(),
        })
    }

    /// Items in the catalogue.
    #[wasm_bindgen(getter)]
    pub fn items(&self) -> u32 {
        self.rec.index().len() as u32
    }
    /// Embedding dimensions.
    #[wasm_bindgen(getter)]
    pub fn dims(&self) -> u32 {
        self.rec.encoder().dims() as u32
    }
    /// Which path scores the catalogue: `"gpu"` once `useGpu` chose it (until
    /// a GPU fault), else `"cpu-simd"`. Feedback text is always embedded on the CPU.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        #[cfg(feature = "gpu")]
        if let Some(s) = self.scoring_path() {
            return s.backend().name().into();
        }
        "cpu-simd".into()
    }
    /// Fingerprint of the model.
    #[wasm_bindgen(getter, js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.rec.encoder().model_id().to_string()
    }
    /// Fingerprint of the catalogue index (its checksum and size).
    #[wasm_bindgen(getter, js_name = catalogueId)]
    pub fn catalogue_id(&self) -> String {
        let index = self.rec.index();
        format!("{:08x}-{}", index.checksum(), index.len())
    }

    /// Folds one piece of feedback into the profile: `{text?, item?, rating?, kind?, ts?}`
    /// (`kind`: like | dislike | not_interested | view | purchase | review; `ts` in unix
    /// seconds, default now). On error the profile is unchanged.
    pub fn feedback(&mut self, event: JsValue) -> Result<(), JsError> {
        if !event.is_object() {
            return Err(JsError::new(
                "feedback(event): event must be an object like {text} or {item, kind}",
            ));
        }
        let mut feedback: crate::Feedback = serde_wasm_bindgen::from_value(event)
            .map_err(|e| JsError::new(&format!("feedback(event): {e}")))?;
        if feedback.ts == 0 {
            feedback.ts = now_seconds();
        }
        self.rec.record(&mut self.profile, &feedback).map_err(to_js)
    }

    /// The top items: `{k?, alpha?, diversity?, excludeSeen?, filters?, scene?}`.
    pub fn recommend(&self, options: JsValue) -> Result<JsValue, JsError> {
        let options = rank_options(options, "recommend(options)")?;
        let results = self.rec.recommend(&self.profile, &options).map_err(to_js)?;
        cards(&self.rec, &results)
    }

    /// One item's display fields, or an error for an unknown id.
    pub fn item(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsError> {
        let id = string_of(&id, "item(id): id")?;
        let index = self.rec.index();
        let i = index.require(&id).map_err(to_js)?;
        let item = index.item(i).ok_or_else(|| JsError::new("item vanished"))?;
        #[derive(serde::Serialize)]
        struct Full {
            id: String,
            title: String,
            #[serde(flatten)]
            view: ItemView,
        }
        to_js_value(&Full {
            id: item.id.clone(),
            title: item.title.clone(),
            view: ItemView::from(item),
        })
    }

    /// What the profile holds, for a privacy panel.
    pub fn profile(&self) -> Result<JsValue, JsError> {
        let index = self.rec.index();
        let signals = self
            .profile
            .signals()
            .iter()
            .map(|s| SignalView {
                ts: s.ts,
                weight: s.weight,
                text: s.source.text().map(str::to_string),
                item: s.source.item().map(str::to_string),
                title: s
                    .source
                    .item()
                    .and_then(|id| index.position(id))
                    .map(|p| index.title(p).to_string()),
                rejects: match &s.source {
                    crate::rec::profile::SignalSource::Rejected { concept, .. } => {
                        Some(concept.clone())
                    }
                    _ => None,
                },
            })
            .collect();
        to_js_value(&ProfileView {
            signals,
            not_interested: self.profile.not_interested().iter().cloned().collect(),
            seen: self.profile.touched().iter().cloned().collect(),
            bytes: self.profile.to_bytes().len(),
        })
    }

    /// The profile as bytes (versioned, checksummed).
    #[wasm_bindgen(js_name = exportProfile)]
    pub fn export_profile(&self) -> Vec<u8> {
        self.profile.to_bytes()
    }

    /// Replaces the profile with exported bytes; on any error the current profile stays.
    #[wasm_bindgen(js_name = importProfile)]
    pub fn import_profile(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<(), JsError> {
        let bytes = bytes_of(&bytes)?;
        let profile = crate::IntentProfile::from_bytes(&bytes).map_err(to_js)?;
        profile
            .check_model(self.rec.encoder().model_id(), self.rec.encoder().dims())
            .map_err(to_js)?;
        self.profile = profile;
        Ok(())
    }

    /// Forgets everything in the profile.
    #[wasm_bindgen(js_name = clearProfile)]
    pub fn clear_profile(&mut self) {
        self.profile.clear();
    }
}
