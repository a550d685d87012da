//! The sentence encoder: text in, L2-normalised embedding out.
//!
//! Pipeline: [`TextTokenizer`] → BERT forward → mean over the real tokens →
//! L2 normalisation, as sentence-transformers computes all-MiniLM-L6-v2
//! embeddings. Int8 bundles run on the int8 SIMD forward (`encoder::int8`),
//! which lays a batch's texts end to end with no padding at all; f32 bundles
//! (the reference) run on candle's f32 kernels over padded batches. Batches are
//! planned by length (texts sorted, grouped under a token budget) either way;
//! results always come back in input order.

#[cfg(feature = "gpu")]
pub mod backend;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(all(test, feature = "gpu"))]
mod gpu_tests;
pub(crate) mod int8;
pub(crate) mod reference;

use crate::cpu::gemm::Scheme;
use crate::model::bundle::{ModelBundle, Quant};
use crate::model::tokenize::TextTokenizer;
use crate::util::error::Result;
use int8::Int8Bert;
pub use int8::LayerLinear;
use reference::{mean_pool_normalised, BertModel, TokenBatch};

/// The forward pass a bundle runs on.
enum Model {
    /// Int8 GEMM and vectorised row maths, no padding.
    Int8(Int8Bert),
    /// candle f32 tensors over padded batches.
    F32(BertModel),
}

impl Model {
    /// Pooled unit vectors for token rows, `rows.len() × dims`, row-major.
    fn embed(&self, rows: &[&[u32]]) -> Result<Vec<f32>> {
        match self {
            Model::Int8(model) => model.embed(rows),
            Model::F32(model) => {
                let batch = TokenBatch::new(rows)?;
                let hidden = model.forward(&batch)?;
                let pooled = mean_pool_normalised(&hidden, &batch.mask)?;
                Ok(pooled.flatten_all()?.to_vec1::<f32>()?)
            }
        }
    }
}

/// How [`Encoder::embed_batch`] groups texts into forward passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Most texts in one forward pass.
    pub max_texts: usize,
    /// Most padded tokens (texts × longest text) in one forward pass.
    pub max_tokens: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            max_texts: 32,
            max_tokens: 4096,
        }
    }
}

/// Embeddings of several texts: `len()` rows of `dims()` floats, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    dims: usize,
    data: Vec<f32>,
}

impl Embeddings {
    /// Wraps row-major data; fails unless it is a whole number of `dims`-wide rows.
    pub fn from_rows(dims: usize, data: Vec<f32>) -> Result<Self> {
        if dims == 0 || !data.len().is_multiple_of(dims) {
            return Err(crate::util::error::Error::InvalidInput {
                what: "embeddings",
                reason: format!("{} floats are not rows of {dims}", data.len()),
            });
        }
        Ok(Self { dims, data })
    }
    /// Number of rows (texts).
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dims).unwrap_or(0)
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Floats per row.
    pub fn dims(&self) -> usize {
        self.dims
    }
    /// Row `i`, or `None` past the end.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        self.data.get(i * self.dims..(i + 1) * self.dims)
    }
    /// All rows, one after another.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
    /// The rows as one flat vector.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }
    /// Iterates over the rows.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.dims.max(1))
    }
}

/// A loaded sentence encoder.
pub struct Encoder {
    tokenizer: TextTokenizer,
    model: Model,
    dims: usize,
    quant: Quant,
    model_id: String,
    batching: BatchOptions,
    /// The attached GPU, if any (set through `&self`, so a shared encoder can
    /// attach one while other calls run).
    #[cfg(feature = "gpu")]
    gpu: std::sync::Mutex<Option<std::sync::Arc<crate::encoder::backend::GpuPath>>>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("dims", &self.dims)
            .field("quant", &self.quant)
            .field("model_id", &self.model_id)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Validates bundle bytes and loads the encoder from them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bundle(ModelBundle::from_bytes(bytes)?)
    }

    /// Loads the encoder from a validated bundle.
    pub fn from_bundle(bundle: ModelBundle) -> Result<Self> {
        Self::from_bundle_for(bundle, Scheme::for_build())
    }

    /// Loads the encoder with a chosen int8 GEMM [`Scheme`] instead of this
    /// build's (natively, to measure the relaxed-SIMD build's narrow product;
    /// f32 bundles ignore it).
    pub fn from_bundle_for(bundle: ModelBundle, scheme: Scheme) -> Result<Self> {
        Self::from_bundle_planned(bundle, scheme, &|_layer, linear| {
            crate::encoder::int8::planned_scheme(scheme, linear)
        })
    }

    /// Loads an int8 bundle with each linear product of each layer on the
    /// scheme `plan` gives: for measuring which products the narrow build
    /// should keep wide (`localrec` maintainers' tool, not a stable API).
    #[doc(hidden)]
    pub fn from_bundle_planned(
        bundle: ModelBundle,
        scheme: Scheme,
        plan: &dyn Fn(usize, LayerLinear) -> Scheme,
    ) -> Result<Self> {
        let tokenizer = bundle.tokenizer().clone();
        let dims = bundle.config().hidden_size;
        let quant = bundle.quant();
        let model_id = bundle.model_id().to_string();
        let model = match quant {
            Quant::Int8 => Model::Int8(Int8Bert::load_planned(bundle, scheme, plan)?),
            Quant::F32 => Model::F32(BertModel::load(bundle)?),
        };
        Ok(Self {
            tokenizer,
            model,
            dims,
            quant,
            model_id,
            batching: BatchOptions::default(),
            #[cfg(feature = "gpu")]
            gpu: std::sync::Mutex::new(None),
        })
    }

    /// Sets how batches are grouped (values below 1 are raised to 1).
    pub fn with_batching(mut self, batching: BatchOptions) -> Self {
        self.batching = BatchOptions {
            max_texts: batching.max_texts.max(1),
            max_tokens: batching.max_tokens.max(1),
        };
        self
    }

    /// Length of every embedding.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The int8 GEMM scheme this encoder runs (`None` for f32 bundles).
    pub fn gemm_scheme(&self) -> Option<Scheme> {
        match &self.model {
            Model::Int8(model) => Some(model.scheme()),
            Model::F32(_) => None,
        }
    }
    /// How the bundle's weights were stored.
    pub fn quant(&self) -> Quant {
        self.quant
    }
    /// Fingerprint of the weights (profiles and indexes record it).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }
    /// The tokenizer, e.g. to count a text's tokens.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The embedding of one text (any text: empty, huge, any script).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.embed_batch(&[text])?.into_vec())
    }

    /// Embeddings of many texts, in input order.
    ///
    /// With a GPU attached ([`Encoder::use_gpu`]) natively, this blocks on the
    /// GPU path; in the browser, where nothing may block, it always runs on
    /// the CPU — use [`Encoder::embed_batch_async`] there.
    pub fn embed_batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<Embeddings> {
        #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
        if self.gpu_path().is_some() {
            return pollster::block_on(self.embed_batch_async(texts));
        }
        let (ids, groups) = self.plan(texts)?;
        let mut data = vec![0f32; texts.len() * self.dims];
        for group in groups {
            let rows: Vec<&[u32]> = group.iter().map(|&i| ids[i].as_slice()).collect();
            self.scatter(&group, &self.model.embed(&rows)?, &mut data);
        }
        Ok(Embeddings {
            dims: self.dims,
            data,
        })
    }

    /// Token ids of every text and the forward passes that group them.
    fn plan<S: AsRef<str>>(&self, texts: &[S]) -> Result<Plan> {
        let ids = texts
            .iter()
            .map(|t| self.tokenizer.encode(t.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        let groups = plan_batches(&ids, self.batching);
        Ok((ids, groups))
    }

    /// Writes a group's pooled rows to their texts' places in `data`.
    fn scatter(&self, group: &[usize], pooled: &[f32], data: &mut [f32]) {
        for (&i, row) in group.iter().zip(pooled.chunks_exact(self.dims)) {
            data[i * self.dims..(i + 1) * self.dims].copy_from_slice(row);
        }
    }
}

/// Token ids per text, and groups of text indices, one per forward pass.
type Plan = (Vec<Vec<u32>>, Vec<Vec<usize>>);

/// Groups text indices into forward passes: shortest first, each group within
/// the text and padded-token budgets (a single text always forms a group).
fn plan_batches(ids: &[Vec<u32>], options: BatchOptions) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Sorted ascending, so the newcomer is the longest: it sets the padding.
        let padded = (current.len() + 1) * ids[i].len();
        if !current.is_empty()
            && (current.len() >= options.max_texts || padded > options.max_tokens)
        {
            groups.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tiny_bundle;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn tiny(quant: Quant) -> Encoder {
        Encoder::from_bundle(tiny_bundle(quant, 11)).unwrap()
    }

    #[test]
    fn embeddings_are_unit_length_and_deterministic() {
        let enc = tiny(Quant::F32);
        for text in [
            "",
            "the film",
            "a very long story ".repeat(30).as_str(),
            "😀 日本語 é",
        ] {
            let e = enc.embed(text).unwrap();
            assert_eq!(e.len(), enc.dims());
            let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "{text:?}: norm {norm}");
            assert!(e.iter().all(|x| x.is_finite()));
            assert_eq!(e, enc.embed(text).unwrap());
        }
    }

    #[test]
    fn padding_never_changes_an_embedding() {
        // A batch mixing lengths pads the short texts; each must equal its solo embedding.
        let enc = tiny(Quant::F32).with_batching(BatchOptions {
            max_texts: 64,
            max_tokens: usize::MAX,
        });
        let texts = [
            "the",
            "good film not bad",
            "",
            "quick funny short read, love it!",
        ];
        let batch = enc.embed_batch(&texts).unwrap();
        assert_eq!(batch.len(), texts.len());
        for (i, t) in texts.iter().enumerate() {
            let solo = enc.embed(t).unwrap();
            let c = cosine(batch.row(i).unwrap(), &solo);
            assert!(c > 0.99999, "text {i} {t:?}: cosine {c}");
        }
    }

    #[test]
    fn different_texts_differ_and_order_is_kept() {
        let enc = tiny(Quant::F32).with_batching(BatchOptions {
            max_texts: 2,
            max_tokens: 8,
        });
        let texts = [
            "war story",
            "funny comedy",
            "the",
            "very very long long film film",
        ];
        let batch = enc.embed_batch(&texts).unwrap();
        for (i, t) in texts.iter().enumerate() {
            assert!(cosine(batch.row(i).unwrap(), &enc.embed(t).unwrap()) > 0.99999);
        }
        assert!(cosine(batch.row(0).unwrap(), batch.row(1).unwrap()) < 0.999);
        assert!(enc.embed_batch::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn int8_stays_close_to_f32() {
        let (f, q) = (tiny(Quant::F32), tiny(Quant::Int8));
        for text in ["the good film", "", "hate war stories"] {
            let c = cosine(&f.embed(text).unwrap(), &q.embed(text).unwrap());
            assert!(c > 0.99, "{text:?}: {c}");
        }
    }

    #[test]
    fn huge_and_odd_texts_embed() {
        let enc = tiny(Quant::Int8);
        let huge = "love the quick story. ".repeat(50_000); // ~1.1 MB
        let e = enc.embed(&huge).unwrap();
        assert!(e.iter().all(|x| x.is_finite()));
        for odd in [
            "e\u{301}\u{302}\u{303}",
            "\u{0}\u{7}",
            "中文字符",
            "👍🏽👍🏽",
            "مرحبا",
            "   \t\n ",
        ] {
            let e = enc.embed(odd).unwrap();
            assert!(e.iter().all(|x| x.is_finite()), "{odd:?}");
        }
    }

    #[test]
    fn plans_batches_within_budget() {
        let ids: Vec<Vec<u32>> = [5, 1, 9, 3, 3, 7].iter().map(|&n| vec![0; n]).collect();
        let groups = plan_batches(
            &ids,
            BatchOptions {
                max_texts: 2,
                max_tokens: 12,
            },
        );
        let mut seen: Vec<usize> = groups.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        for g in &groups {
            let longest = g.iter().map(|&i| ids[i].len()).max().unwrap();
            assert!(g.len() <= 2);
            assert!(g.len() == 1 || g.len() * longest <= 12, "{g:?}");
        }
    }
}
