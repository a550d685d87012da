//! The `Engine` class: one recommender (catalogue index, and the encoder once
//! it has arrived) and the visitor's private profile — feedback in, cards out.

use wasm_bindgen::prelude::*;

use super::dto::{Card, ItemView, ProfileView, SignalView};
#[cfg(feature = "gpu")]
use super::gpu::{fault_named, gpu_context, preference_named};
use super::{bytes_of, invalid, now_seconds, string_of, to_js, to_js_value};

/// A recommender running in this page or worker: one catalogue index, the
/// encoder once it is loaded, and the user's private profile. The npm
/// package's worker drives it.
#[wasm_bindgen]
pub struct Engine {
    /// Shared with the promises of the async methods.
    rec: Stage,
    profile: crate::IntentProfile,
    /// The scale feedback ratings are on (mapped to 1–5 stars as they arrive).
    rating_scale: crate::RatingScale,
    /// Catalogue scoring on the GPU, once `useGpu` attached it.
    #[cfg(feature = "gpu")]
    scoring:
        std::rc::Rc<std::cell::RefCell<Option<std::rc::Rc<crate::rec::scoring::CatalogueScoring>>>>,
}

/// How far loading has come: the catalogue index alone (ranking, feedback on
/// items), or the full recommender (text too).
#[derive(Clone)]
enum Stage {
    Index(crate::IndexRecommender),
    Full(std::rc::Rc<crate::Recommender>),
}

impl Stage {
    /// What ranks and learns from items, in either stage.
    fn base(&self) -> &crate::IndexRecommender {
        match self {
            Stage::Index(rec) => rec,
            Stage::Full(rec) => rec.index_recommender(),
        }
    }

    /// Folds feedback in; text before the model is `ModelNotLoaded`.
    fn record(
        &self,
        profile: &mut crate::IntentProfile,
        feedback: &crate::Feedback,
    ) -> crate::Result<()> {
        match self {
            Stage::Index(rec) => rec.record(profile, feedback),
            Stage::Full(rec) => rec.record(profile, feedback),
        }
    }
}

impl AsRef<crate::IndexRecommender> for Stage {
    fn as_ref(&self) -> &crate::IndexRecommender {
        self.base()
    }
}

/// Ranking options from JS (`undefined`/`null`: the defaults; `now` 0: the clock).
pub(super) fn rank_options(options: JsValue, call: &str) -> Result<crate::RankOptions, JsValue> {
    let mut options: crate::RankOptions = if options.is_undefined() || options.is_null() {
        crate::RankOptions::default()
    } else {
        serde_wasm_bindgen::from_value(options).map_err(|e| invalid(&format!("{call}: {e}")))?
    };
    if options.now == 0 {
        options.now = now_seconds();
    }
    Ok(options)
}

/// Results as the cards JS shows.
pub(super) fn cards(
    index: &crate::CatalogueIndex,
    results: &[crate::Recommendation],
) -> Result<JsValue, JsValue> {
    let cards: Vec<Card<'_>> = results
        .iter()
        .map(|r| Card {
            recommendation: r,
            item: index.item(r.index).map(ItemView::from),
        })
        .collect();
    to_js_value(&cards)
}

/// The WebGPU path of the `Engine`: catalogue scoring on the GPU.
#[cfg(feature = "gpu")]
#[wasm_bindgen]
impl Engine {
    fn scoring_path(&self) -> Option<std::rc::Rc<crate::rec::scoring::CatalogueScoring>> {
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
                    crate::rec::scoring::CatalogueScoring::attach(
                        ctx,
                        rec.base().index(),
                        preference,
                    )
                    .await
                    .map_err(to_js)?,
                )),
                None => None,
            };
            let name = scoring.as_ref().map_or("cpu-simd", |s| s.backend().name());
            match slot.try_borrow_mut() {
                Ok(mut s) => *s = scoring,
                Err(_) => return Err(invalid("useGpu: the engine is busy")),
            }
            Ok(JsValue::from_str(name))
        })
    }

    /// Like `recommend`, with the catalogue scored on the chosen path. A GPU
    /// fault never rejects: the ranking comes from the CPU, as do later ones.
    #[wasm_bindgen(js_name = recommendAsync)]
    pub fn recommend_async(&self, options: JsValue) -> Result<js_sys::Promise, JsValue> {
        let options = rank_options(options, "recommend(options)")?;
        let rec = self.rec.clone();
        let profile = self.profile.clone();
        let scoring = self.scoring_path();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let results = match scoring {
                Some(s) => s.recommend(&rec, &profile, &options).await,
                None => rec.base().recommend(&profile, &options),
            }
            .map_err(to_js)?;
            cards(rec.base().index(), &results)
        }))
    }

    /// Backend events since the last call: `{ kind: "selected" | "fell-back", … }`.
    #[wasm_bindgen(js_name = takeBackendEvents)]
    pub fn take_backend_events(&self) -> Result<JsValue, JsValue> {
        let events = self
            .scoring_path()
            .map(|s| s.take_events())
            .unwrap_or_default();
        to_js_value(&events)
    }

    /// Arms a GPU fault for resilience tests (see `Encoder.injectGpuFault`).
    #[wasm_bindgen(js_name = injectGpuFault)]
    pub fn inject_gpu_fault(&self, kind: &str, after: u32) -> Result<(), JsValue> {
        let fault = fault_named(kind, after)?;
        let scoring = self
            .scoring_path()
            .ok_or_else(|| invalid("injectGpuFault: no GPU attached"))?;
        scoring.context().inject(fault);
        Ok(())
    }
}

#[wasm_bindgen]
impl Engine {
    /// Loads a model bundle and a catalogue index (both checked; the index must come from that model).
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] model: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] catalogue: JsValue,
    ) -> Result<Engine, JsValue> {
        // The model first: a bad bundle is reported before the catalogue is read, as before.
        let encoder = crate::Encoder::from_bytes(&bytes_of(&model)?).map_err(to_js)?;
        let mut engine = Self::load_catalogue(catalogue)?;
        engine.attach_encoder(encoder)?;
        Ok(engine)
    }

    /// Loads a catalogue index alone: the engine ranks (popularity, scenes,
    /// filters, a stored profile) and takes feedback on items at once, while
    /// the model is still on its way; feedback text throws `ModelNotLoaded`
    /// until `attachModel` adds the model.
    #[wasm_bindgen(js_name = loadCatalogue)]
    pub fn load_catalogue(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] catalogue: JsValue,
    ) -> Result<Engine, JsValue> {
        let index = crate::CatalogueIndex::from_bytes(bytes_of(&catalogue)?).map_err(to_js)?;
        let rec = crate::IndexRecommender::new(index);
        let profile = rec
            .new_profile(crate::ProfileSettings::default())
            .map_err(to_js)?;
        Ok(Engine {
            rec: Stage::Index(rec),
            profile,
            rating_scale: crate::RatingScale::default(),
            #[cfg(feature = "gpu")]
            scoring: Default::default(),
        })
    }

    /// Adds the model bundle to an engine made by `loadCatalogue` (checked; the
    /// index must come from that model): feedback text works from now on. The
    /// profile, the rating scale and the scoring path stay. On error (a bad
    /// bundle, another model) the engine is unchanged and keeps working.
    #[wasm_bindgen(js_name = attachModel)]
    pub fn attach_model(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] model: JsValue,
    ) -> Result<(), JsValue> {
        let encoder = crate::Encoder::from_bytes(&bytes_of(&model)?).map_err(to_js)?;
        self.attach_encoder(encoder)
    }

    /// Whether the model is loaded (feedback text needs it).
    #[wasm_bindgen(getter, js_name = modelLoaded)]
    pub fn model_loaded(&self) -> bool {
        matches!(self.rec, Stage::Full(_))
    }

    /// Items in the catalogue.
    #[wasm_bindgen(getter)]
    pub fn items(&self) -> u32 {
        self.rec.base().index().len() as u32
    }
    /// Embedding dimensions (the index's, which are the model's).
    #[wasm_bindgen(getter)]
    pub fn dims(&self) -> u32 {
        self.rec.base().index().dims() as u32
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
    /// Fingerprint of the model (the one the index was made with, known before the model is loaded).
    #[wasm_bindgen(getter, js_name = modelId)]
    pub fn model_id(&self) -> String {
        self.rec.base().index().model_id().to_string()
    }
    /// Fingerprint of the catalogue index (its checksum and size).
    #[wasm_bindgen(getter, js_name = catalogueId)]
    pub fn catalogue_id(&self) -> String {
        let index = self.rec.base().index();
        format!("{:08x}-{}", index.checksum(), index.len())
    }

    /// Folds one piece of feedback into the profile: `{text?, item?, rating?, kind?, ts?}`
    /// (`kind`: like | dislike | not_interested | view | purchase | review; `ts` in unix
    /// seconds, default now). On error the profile is unchanged. Text before the model is
    /// loaded throws `ModelNotLoaded`.
    pub fn feedback(&mut self, event: JsValue) -> Result<(), JsValue> {
        if !event.is_object() {
            return Err(invalid(
                "feedback(event): event must be an object like {text} or {item, kind}",
            ));
        }
        let mut feedback: crate::Feedback = serde_wasm_bindgen::from_value(event)
            .map_err(|e| invalid(&format!("feedback(event): {e}")))?;
        if let Some(r) = feedback.rating {
            feedback.rating = Some(self.rating_scale.to_stars(r).map_err(to_js)?);
        }
        if feedback.ts == 0 {
            feedback.ts = now_seconds();
        }
        self.rec.record(&mut self.profile, &feedback).map_err(to_js)
    }

    /// The scale of the ratings `feedback` receives: `"1-5"` (the default), `"0.5-5"`,
    /// `"1-10"`, `"thumbs"` or any `"MIN-MAX"`; each rating becomes 1–5 stars as the
    /// native reader maps it. A bad scale is an `InvalidInput` error and changes nothing.
    #[wasm_bindgen(js_name = setRatingScale)]
    pub fn set_rating_scale(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] scale: JsValue,
    ) -> Result<(), JsValue> {
        let scale = string_of(&scale, "setRatingScale(scale): scale")?;
        self.rating_scale = scale.parse().map_err(to_js)?;
        Ok(())
    }

    /// The top items: `{k?, alpha?, diversity?, excludeSeen?, filters?, scene?}`.
    pub fn recommend(&self, options: JsValue) -> Result<JsValue, JsValue> {
        let options = rank_options(options, "recommend(options)")?;
        let base = self.rec.base();
        let results = base.recommend(&self.profile, &options).map_err(to_js)?;
        cards(base.index(), &results)
    }

    /// One item's display fields, or an error for an unknown id.
    pub fn item(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        let id = string_of(&id, "item(id): id")?;
        let index = self.rec.base().index();
        let i = index.require(&id).map_err(to_js)?;
        let item = index
            .item(i)
            .ok_or_else(|| super::js_error("Internal", "item vanished"))?;
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
    pub fn profile(&self) -> Result<JsValue, JsValue> {
        let index = self.rec.base().index();
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
            seen: self.profile.seen().iter().cloned().collect(),
            bytes: self.profile.to_bytes().len(),
        })
    }

    /// The profile as bytes (versioned, checksummed).
    #[wasm_bindgen(js_name = exportProfile)]
    pub fn export_profile(&self) -> Vec<u8> {
        self.profile.to_bytes()
    }

    /// Folds in a profile kept elsewhere (another tab's, as stored): signals
    /// not already here, "not interested" and seen items. On any error the
    /// current profile stays.
    #[wasm_bindgen(js_name = mergeProfile)]
    pub fn merge_profile(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<(), JsValue> {
        let bytes = bytes_of(&bytes)?;
        let other = crate::IntentProfile::from_bytes(&bytes).map_err(to_js)?;
        self.profile.merge(&other).map_err(to_js)
    }

    /// Replaces the profile with exported bytes; on any error the current profile stays.
    #[wasm_bindgen(js_name = importProfile)]
    pub fn import_profile(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<(), JsValue> {
        let bytes = bytes_of(&bytes)?;
        let profile = crate::IntentProfile::from_bytes(&bytes).map_err(to_js)?;
        let index = self.rec.base().index();
        profile
            .check_model(index.model_id(), index.dims())
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

impl Engine {
    /// Makes the engine's recommender the full one, with `encoder`; on error nothing changes.
    fn attach_encoder(&mut self, encoder: crate::Encoder) -> Result<(), JsValue> {
        let full = self.rec.base().with_encoder(encoder).map_err(to_js)?;
        self.rec = Stage::Full(std::rc::Rc::new(full));
        Ok(())
    }
}
