//! Where a concept the visitor named sits in the catalogue: the facets (tags,
//! categories) and items it picks out.
//!
//! A rejection ("no horror please") must keep *every* item of that concept out
//! of the lists, also the popular ones whose description barely says it; a
//! wish ("kung fu") should lift all of them. The concept is grounded in the
//! catalogue's own vocabulary: each facet is scored by two measures, both
//! relative to this catalogue so that no absolute cosine has to fit every
//! model and shop —
//! - how far its items' mean similarity to the concept sits above the
//!   catalogue's, in catalogue standard deviations (an effect size), and
//! - how far the facet *name*'s similarity to the concept sits above the other
//!   names', in standard deviations over the names (half weight);
//!
//! and the facets scoring at least [`FACET_SCORE`], within [`FACET_SPREAD`]
//! of the best, are the concept. Any single item [`ITEM_Z`] standard
//! deviations out matches on its own. Measured on the film catalogue
//! (benches/README.md, "Intent"): "frightening films" → Horror, Supernatural;
//! "docs" → Documentary; "mob movies" → nothing (MiniLM reads "mob" near
//! horror, and no facet clears the bar, so nothing is wrongly kept out).

use crate::cpu::isa::Kernel;
use crate::rec::index::CatalogueIndex;

/// Least score (effect size + half the name's z-score) for a facet to match.
pub const FACET_SCORE: f32 = 1.5;
/// Facets within this much of the best also match ("horror" → Horror and Supernatural).
pub const FACET_SPREAD: f32 = 0.6;
/// An item matches on its own at this many standard deviations above the mean.
pub const ITEM_Z: f32 = 3.0;
/// Facets with fewer items are not judged (their means are too noisy).
pub const MIN_FACET_ITEMS: usize = 5;

/// The embeddings of a catalogue's facet names: every tag, then every category.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacetNames {
    /// One unit vector per facet (tags first, then categories), as the index lists them.
    pub vectors: Vec<Vec<f32>>,
}

impl FacetNames {
    /// The names to embed for `index`, in facet order.
    pub fn names(index: &CatalogueIndex) -> Vec<&str> {
        index
            .tags()
            .iter()
            .chain(index.categories())
            .map(String::as_str)
            .collect()
    }
}

/// The facets and items one concept picks out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConceptMatch {
    /// Per item position: whether it matches (through a facet, or on its own).
    pub items: Vec<bool>,
    /// Per item position: whether it carries a matching facet.
    pub in_facets: Vec<bool>,
    /// Per item position: how many of the facets scoring at least
    /// [`FACET_SCORE`] it carries, however far below the best ("short and
    /// funny" names Short first and Comedy too: a short comedy carries both).
    pub facet_hits: Vec<u8>,
    /// The matching facets' names, best first ("Horror", "Supernatural").
    pub facets: Vec<String>,
}

impl ConceptMatch {
    /// Matches `vector` (a unit concept embedding) against `index`; `names`
    /// (from [`FacetNames`]) adds the names' measure when it fits the index.
    pub fn find(
        index: &CatalogueIndex,
        kernel: Kernel,
        vector: &[f32],
        names: Option<&FacetNames>,
    ) -> Self {
        let n = index.len();
        if n == 0 || vector.len() != index.dims() {
            return Self::default();
        }
        let m = index.matrix();
        let q = index.query(vector);
        let scores: Vec<f32> = (0..n).map(|i| m.score(kernel, i, &q)).collect();
        let z = standardised(&scores);
        let mut items: Vec<bool> = z.iter().map(|&z| z >= ITEM_Z).collect();

        let tags = index.tags();
        let facet_count = tags.len() + index.categories().len();
        let facet_of = |i: usize| {
            index
                .tag_ids(i)
                .iter()
                .map(|&t| t as usize)
                .chain(index.category_id(i).map(|c| tags.len() + c as usize))
        };
        let mut sums = vec![(0f64, 0usize); facet_count];
        for (i, &zi) in z.iter().enumerate() {
            for f in facet_of(i) {
                if let Some(e) = sums.get_mut(f) {
                    *e = (e.0 + f64::from(zi), e.1 + 1);
                }
            }
        }
        let name_z = names
            .filter(|names| names.vectors.len() == facet_count)
            .map(|names| {
                let cos: Vec<f32> = names
                    .vectors
                    .iter()
                    .map(|v| crate::cpu::ops::dot(v, vector))
                    .collect();
                standardised(&cos)
            });
        let mut scored: Vec<(usize, f32)> = sums
            .iter()
            .enumerate()
            .filter(|(_, &(_, count))| count >= MIN_FACET_ITEMS)
            .map(|(f, &(sum, count))| {
                let effect = (sum / count as f64) as f32;
                let name = name_z.as_ref().map_or(0.0, |z| 0.5 * z[f]);
                (f, effect + name)
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let best = scored.first().map_or(f32::INFINITY, |s| s.1);
        let matched: Vec<usize> = scored
            .iter()
            .take_while(|&&(_, s)| s >= FACET_SCORE && s >= best - FACET_SPREAD)
            .map(|&(f, _)| f)
            .collect();
        let in_facets: Vec<bool> = (0..n)
            .map(|i| facet_of(i).any(|f| matched.contains(&f)))
            .collect();
        let named: Vec<usize> = scored
            .iter()
            .take_while(|&&(_, s)| s >= FACET_SCORE)
            .map(|&(f, _)| f)
            .collect();
        let facet_hits: Vec<u8> = (0..n)
            .map(|i| facet_of(i).filter(|f| named.contains(f)).count().min(255) as u8)
            .collect();
        for (item, &f) in items.iter_mut().zip(&in_facets) {
            *item |= f;
        }
        let mut facets: Vec<String> = Vec::new();
        for f in matched {
            let name = if f < tags.len() {
                &tags[f]
            } else {
                &index.categories()[f - tags.len()]
            };
            if !facets.contains(name) {
                facets.push(name.clone());
            }
        }
        Self {
            items,
            in_facets,
            facet_hits,
            facets,
        }
    }
}

/// `(x − mean) / sd` over the values (sd floored so a flat list gives zeros).
fn standardised(values: &[f32]) -> Vec<f32> {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&s| f64::from(s)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&s| (f64::from(s) - mean).powi(2))
        .sum::<f64>()
        / n;
    let sd = var.sqrt().max(1e-6);
    values
        .iter()
        .map(|&s| ((f64::from(s) - mean) / sd) as f32)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::encoder::Embeddings;
    use crate::rec::catalogue::CatalogueItem;

    pub const DIMS: usize = 16;

    /// A unit vector along `axis` with a little of `(axis + 1 + k) % DIMS`.
    pub fn near(axis: usize, k: usize) -> Vec<f32> {
        let mut v = vec![0f32; DIMS];
        v[axis] = 1.0;
        v[(axis + 1 + k % 5) % DIMS] = 0.15;
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    /// 60 items: tag `t{g}` on items 10g..10g+10, each near axis g; item 59
    /// (tag t5) also tagged `t2` and described near axis 5 only.
    pub fn index() -> CatalogueIndex {
        let mut items = Vec::new();
        let mut data = Vec::new();
        for i in 0..60 {
            let g = i / 10;
            let mut tags = vec![format!("t{g}")];
            if i == 59 {
                tags.push("t2".into());
            }
            items.push(CatalogueItem {
                id: format!("i{i}"),
                title: format!("Item {i}"),
                text: Some(format!("about {g}")),
                category: Some(if g < 3 { "low" } else { "high" }.into()),
                tags,
                price: None,
                popularity: Some((60 - i) as f64),
                url: None,
                attributes: Default::default(),
            });
            data.extend(near(g, i));
        }
        CatalogueIndex::from_embeddings(
            &items,
            &Embeddings::from_rows(DIMS, data).unwrap(),
            "m",
            50,
        )
        .unwrap()
    }

    #[test]
    fn a_concept_picks_out_its_facet_and_every_item_of_it() {
        let index = index();
        let m = ConceptMatch::find(&index, Kernel::detect(), &near(2, 0), None);
        assert_eq!(m.facets, ["t2"]);
        let matched: Vec<usize> = (0..60).filter(|&i| m.items[i]).collect();
        let mut want: Vec<usize> = (20..30).collect();
        want.push(59); // tagged t2, though its text sits elsewhere
        assert_eq!(matched, want);
        assert_eq!(m.in_facets, m.items);
    }

    #[test]
    fn a_concept_far_from_every_facet_matches_nothing() {
        let index = index();
        let mut v = vec![0f32; DIMS];
        v[12] = 1.0; // no item points there
        let m = ConceptMatch::find(&index, Kernel::detect(), &v, None);
        assert!(m.facets.is_empty(), "{:?}", m.facets);
        assert!(m.items.iter().all(|&x| !x));
        // A vector of the wrong length, or an empty index, is no match either.
        assert_eq!(
            ConceptMatch::find(&index, Kernel::detect(), &[1.0; 3], None),
            ConceptMatch::default()
        );
    }

    #[test]
    fn facet_names_help_choose_between_facets() {
        let index = index();
        // Between axes 1 and 2: the items alone barely prefer either facet.
        let mut v = vec![0f32; DIMS];
        v[1] = 0.7;
        v[2] = 0.714;
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        let names = FacetNames::names(&index);
        assert_eq!(names.len(), 6 + 2);
        // Name vectors: "t1" points exactly at the concept, the others away.
        let vectors = names
            .iter()
            .map(|name| {
                if *name == "t1" {
                    v.clone()
                } else {
                    near(10, 0)
                }
            })
            .collect();
        let m = ConceptMatch::find(&index, Kernel::detect(), &v, Some(&FacetNames { vectors }));
        assert_eq!(m.facets.first().map(String::as_str), Some("t1"));
        // Names of the wrong count are ignored, not misapplied.
        let wrong = FacetNames {
            vectors: vec![v.clone()],
        };
        let plain = ConceptMatch::find(&index, Kernel::detect(), &v, None);
        assert_eq!(
            ConceptMatch::find(&index, Kernel::detect(), &v, Some(&wrong)),
            plain
        );
    }
}
