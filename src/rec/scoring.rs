//! Catalogue scoring on the GPU for a [`crate::rec::recommender::Recommender`]'s index, chosen
//! by measurement (or forced), with a silent fallback to the CPU kernel on
//! any GPU fault. The CPU ranker does everything after the scores.

use std::sync::Arc;

use crate::encoder::backend::{
    Backend, BackendChoice, BackendEvent, BackendPreference, BackendTimings, Health,
};
use crate::gpu::{GpuCatalogue, GpuContext, WeightedQuery};
use crate::util::stopwatch::Stopwatch;

/// Catalogue scoring on the GPU for a [`crate::rec::recommender::Recommender`]'s index, chosen
/// by measurement (or forced), falling back to the CPU kernel on any fault.
/// Built once per index; the CPU ranker does everything after the scores
/// (filters, popularity blend, exact re-ranking, diversity, explanations).
pub struct CatalogueScoring {
    ctx: Arc<GpuContext>,
    catalogue: GpuCatalogue,
    choice: Backend,
    health: Health,
}

impl std::fmt::Debug for CatalogueScoring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogueScoring")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl CatalogueScoring {
    /// Uploads `index`'s item matrix and picks the path: `Auto` times one
    /// scoring pass on each, `Gpu` forces the GPU, `Cpu` keeps the CPU.
    pub async fn attach(
        ctx: Arc<GpuContext>,
        index: &crate::rec::index::CatalogueIndex,
        preference: BackendPreference,
    ) -> crate::util::error::Result<Self> {
        let catalogue = GpuCatalogue::upload(&ctx, index.matrix())?;
        let mut scoring = Self {
            ctx,
            catalogue,
            choice: Backend::CpuSimd,
            health: Health::default(),
        };
        let (choice, timings) = match preference {
            BackendPreference::Cpu => (Backend::CpuSimd, None),
            BackendPreference::Gpu => (Backend::Gpu, None),
            // Nothing to time on an empty catalogue: the CPU has nothing to do either.
            BackendPreference::Auto if index.is_empty() => (Backend::CpuSimd, None),
            BackendPreference::Auto => {
                let probe: Vec<f32> = index.project(&index.vector(0)).into_owned();
                let m = index.matrix();
                let kernel = crate::cpu::score::Kernel::detect();
                let q = [crate::cpu::score::Query::new(&probe)];
                let mut out = vec![Vec::new()];
                let mut ms = [0f64; 2];
                for measure in [false, true] {
                    let clock = Stopwatch::start();
                    m.score_all(kernel, &q, &mut out);
                    let cpu = clock.elapsed_ms();
                    let clock = Stopwatch::start();
                    let one = [WeightedQuery {
                        vector: &probe,
                        weight: 1.0,
                    }];
                    let gpu = scoring.catalogue.scores(&scoring.ctx, &one, &[], 0.0).await;
                    let gpu_ms = clock.elapsed_ms();
                    if gpu.is_err() {
                        ms = [0.0, f64::INFINITY];
                        break;
                    }
                    if measure {
                        ms = [cpu, gpu_ms];
                    }
                }
                let choice = if ms[1] < ms[0] {
                    Backend::Gpu
                } else {
                    Backend::CpuSimd
                };
                (
                    choice,
                    Some(BackendTimings {
                        cpu_single_ms: ms[0],
                        gpu_single_ms: ms[1],
                        cpu_batch_ms: ms[0],
                        gpu_batch_ms: ms[1],
                    }),
                )
            }
        };
        scoring.choice = choice;
        scoring.health.push(BackendEvent::Selected {
            adapter: scoring.ctx.adapter().name.clone(),
            choice: BackendChoice {
                single: choice,
                batch: choice,
            },
            timings,
        });
        Ok(scoring)
    }

    /// The path in force (the CPU after a GPU fault).
    pub fn backend(&self) -> Backend {
        if self.health.failed() {
            Backend::CpuSimd
        } else {
            self.choice
        }
    }

    /// The GPU context (adapter details; fault injection in tests).
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// Events since the last call (selection, fallback).
    pub fn take_events(&self) -> Vec<BackendEvent> {
        self.health.take_events()
    }

    /// The top items for `profile`, as [`crate::rec::recommender::Recommender::recommend`]
    /// returns them, with the catalogue scored on the chosen path. A GPU fault
    /// is not an error: this call and later ones score on the CPU. `rec` is a
    /// `Recommender` or an `IndexRecommender` (no model loaded yet).
    pub async fn recommend(
        &self,
        rec: &impl AsRef<crate::rec::recommender::IndexRecommender>,
        profile: &crate::rec::profile::IntentProfile,
        options: &crate::rec::ranker::RankOptions,
    ) -> crate::util::error::Result<Vec<crate::rec::ranker::Recommendation>> {
        let rec = rec.as_ref();
        if self.backend() != Backend::Gpu || self.catalogue.rows() != rec.index().len() {
            return rec.recommend(profile, options);
        }
        options.validate()?;
        profile.check_model(rec.index().model_id(), rec.index().dims())?;
        let ranker = rec.ranker();
        let (directions, _, _) = ranker.read_profile(profile, options.now);
        let (gains, strengths) = crate::rec::ranker::Ranker::direction_weights(&directions);
        let index = rec.index();
        let interests = projected(index, &directions.interests, gains);
        let negatives = projected(index, &directions.negatives, strengths);
        let (interests, negatives) = (weighted(&interests), weighted(&negatives));
        let scores = self
            .catalogue
            .scores(&self.ctx, &interests, &negatives, options.negative_margin)
            .await;
        match scores {
            Ok(scores) => ranker
                .with_item_scores(crate::rec::ranker::ItemScoresRef {
                    positive: &scores.positive,
                    push: &scores.push,
                })?
                .rank(profile, options),
            Err(e) => {
                self.health.fail(e.to_string());
                rec.recommend(profile, options)
            }
        }
    }
}

/// Directions in the index's stored space (compact vectors score projected
/// queries), paired with their ranking weights.
fn projected<'a>(
    index: &crate::rec::index::CatalogueIndex,
    directions: &'a [crate::rec::profile::Direction],
    weights: Vec<f32>,
) -> Vec<(std::borrow::Cow<'a, [f32]>, f32)> {
    directions
        .iter()
        .zip(weights)
        .map(|(d, weight)| (index.project(&d.vector), weight))
        .collect()
}

/// The GPU scorer's view of weighted directions.
fn weighted<'a>(directions: &'a [(std::borrow::Cow<'a, [f32]>, f32)]) -> Vec<WeightedQuery<'a>> {
    directions
        .iter()
        .map(|(v, weight)| WeightedQuery {
            vector: v,
            weight: *weight,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::Embeddings;
    use crate::offline::index_build::IndexLayout;
    use crate::rec::catalogue::CatalogueItem;
    use crate::rec::index::CatalogueIndex;
    use crate::rec::profile::{ProfileSettings, Signal, SignalSource};
    use crate::rec::ranker::RankOptions;
    use crate::rec::recommender::IndexRecommender;

    /// A compact index of `n` items: unit vectors sharing a direction, plus noise.
    fn compact_index(n: usize, dims: usize, bytes: usize) -> CatalogueIndex {
        let data: Vec<f32> = (0..n)
            .flat_map(|i| crate::testing::unit_vector(i as u32, dims, 3, 0.6))
            .collect();
        let items: Vec<CatalogueItem> = (0..n)
            .map(|i| CatalogueItem {
                id: format!("i{i}"),
                title: format!("Item {i}"),
                text: Some(String::new()),
                category: None,
                tags: vec![],
                price: None,
                popularity: Some((i % 50) as f64),
                url: None,
                attributes: Default::default(),
            })
            .collect();
        let layout = IndexLayout {
            vector_bytes: Some(bytes),
            ..IndexLayout::with_snippets(0)
        };
        let e = Embeddings::from_rows(dims, data).unwrap();
        CatalogueIndex::from_embeddings_with(&items, &e, "m", layout).unwrap()
    }

    #[test]
    #[ignore = "needs a GPU adapter: the test command runs it with `cargo test -- --ignored` on lavapipe"]
    fn the_gpu_scores_compact_vectors_as_the_cpu_does() {
        let ctx = crate::gpu::tests::context();
        let index = compact_index(3_000, 64, 24);
        assert_eq!(index.vector_bytes(), 24);
        let rec = IndexRecommender::new(index.clone());
        let mut p = rec.new_profile(ProfileSettings::default()).unwrap();
        for (ts, (i, w)) in [(10usize, 1.0f32), (700, 1.0), (1500, -1.0)]
            .into_iter()
            .enumerate()
        {
            let source = SignalSource::Item(format!("i{i}"));
            p.add_signal(Signal::new(ts as i64, w, &index.vector(i), source).unwrap())
                .unwrap();
        }
        let scoring = pollster::block_on(CatalogueScoring::attach(
            ctx,
            &index,
            BackendPreference::Gpu,
        ))
        .unwrap();
        assert_eq!(scoring.backend(), Backend::Gpu);
        let options = RankOptions {
            k: 20,
            ..Default::default()
        };
        let gpu = pollster::block_on(scoring.recommend(&rec, &p, &options)).unwrap();
        let cpu = rec.recommend(&p, &options).unwrap();
        let ids = |r: &[crate::rec::ranker::Recommendation]| {
            r.iter().map(|x| x.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&gpu), ids(&cpu));
        for (g, c) in gpu.iter().zip(&cpu) {
            assert!(
                (g.score - c.score).abs() < 1e-3,
                "{} vs {}",
                g.score,
                c.score
            );
        }
    }
}
