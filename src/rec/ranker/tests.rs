//! Ranker tests: filters, scenes, blends, diversity, explanations, rejections.

use super::*;
use crate::encoder::Embeddings;
use crate::rec::catalogue::{AttributeValue, CatalogueItem};
use crate::rec::concept::ConceptMatch;
use crate::rec::profile::SignalSource;
use crate::rec::profile::{ProfileSettings, Signal};

pub const DIMS: usize = 8;

/// A unit vector mostly along `axis`, tilted toward `axis + 1` by `tilt`.
pub fn dir(axis: usize, tilt: f32) -> Vec<f32> {
    let mut v = [0.0; DIMS];
    v[axis % DIMS] = 1.0;
    v[(axis + 1) % DIMS] = tilt;
    let n = (1.0 + tilt * tilt).sqrt();
    v.iter().map(|x| x / n).collect()
}

/// 16 items: two per axis (a slightly tilted twin), categories by axis parity,
/// price = index, popularity rising with index.
pub fn index() -> CatalogueIndex {
    let mut items = Vec::new();
    let mut data = Vec::new();
    for i in 0..16 {
        let axis = i / 2;
        items.push(CatalogueItem {
            id: format!("i{i}"),
            title: format!("Item {i}"),
            text: Some(format!("text {i}")),
            category: Some(if axis % 2 == 0 { "even" } else { "odd" }.into()),
            tags: vec![format!("axis{axis}")],
            price: Some(i as f64),
            popularity: Some(i as f64),
            url: None,
            attributes: [(
                "year".to_string(),
                AttributeValue::Number(1990.0 + i as f64),
            )]
            .into_iter()
            .collect(),
        });
        data.extend(dir(axis, if i % 2 == 0 { 0.0 } else { 0.2 }));
    }
    CatalogueIndex::from_embeddings(&items, &Embeddings::from_rows(DIMS, data).unwrap(), "m", 50)
        .unwrap()
}

pub fn profile() -> IntentProfile {
    IntentProfile::new("m", DIMS, ProfileSettings::default()).unwrap()
}

fn ids(r: &[Recommendation]) -> Vec<String> {
    r.iter().map(|x| x.id.clone()).collect()
}

#[test]
fn a_rejection_keeps_its_facet_out_and_says_so_until_a_newer_wish() {
    use crate::rec::concept::tests::{index as faceted, near, DIMS as FDIMS};
    let index = faceted();
    let mut p = IntentProfile::new("m", FDIMS, ProfileSettings::default()).unwrap();
    // A like of an item the rejection will cover, then the rejection.
    p.add_signal(Signal::new(1, 1.0, &index.vector(21), SignalSource::Item("i21".into())).unwrap())
        .unwrap();
    let rejected = SignalSource::Rejected {
        concept: "two".into(),
        said: "no two please".into(),
    };
    p.add_signal(Signal::new(2, -1.0, &near(2, 0), rejected).unwrap())
        .unwrap();
    let ranker = Ranker::new(&index);
    let (directions, kept_out, _) = ranker.read_profile(&p, 3);
    assert!(
        directions.interests.is_empty(),
        "the covered like no longer pulls"
    );
    assert_eq!(kept_out.len(), 1);
    let opts = RankOptions {
        k: 30,
        now: 3,
        ..RankOptions::default()
    };
    let r = ranker.rank(&p, &opts).unwrap();
    assert_eq!(r.len(), 30);
    for rec in &r {
        assert!(
            !(20..30).contains(&rec.index) && rec.index != 59,
            "{} is of the rejected facet",
            rec.id
        );
        let kept = rec
            .why
            .iter()
            .find(|w| w.kind == ReasonKind::KeptOut)
            .unwrap();
        assert_eq!(
            kept.evidence,
            "kept out: t2 (you said \u{201c}no two please\u{201d})"
        );
        assert_eq!(kept.effect, Effect::Down);
    }
    // Asked for again in words: the rejection lifts and the facet returns.
    p.add_signal(Signal::new(4, 1.0, &near(2, 1), SignalSource::Said("two again".into())).unwrap())
        .unwrap();
    let opts = RankOptions { now: 5, ..opts };
    let r = ranker.rank(&p, &opts).unwrap();
    assert!((20..30).contains(&r[0].index), "{}", r[0].id);
    assert!(r
        .iter()
        .all(|x| x.why.iter().all(|w| w.kind != ReasonKind::KeptOut)));
}

#[test]
fn a_wish_naming_a_rejected_facet_lifts_it_even_in_the_same_second() {
    use crate::rec::concept::tests::{index as faceted, near, DIMS as FDIMS};
    let index = faceted();
    let ranker = Ranker::new(&index);
    let mut p = IntentProfile::new("m", FDIMS, ProfileSettings::default()).unwrap();
    let rejected = SignalSource::Rejected {
        concept: "two".into(),
        said: "no two".into(),
    };
    p.add_signal(Signal::new(7, -1.0, &near(2, 0), rejected).unwrap())
        .unwrap();
    // Between facets two and four: under the cosine that lifts by direction
    // alone, but naming facet two among its facets.
    let mut between = vec![0f32; FDIMS];
    between[2] = 0.7;
    between[4] = 0.714;
    let n = crate::cpu::ops::dot(&between, &between).sqrt();
    between.iter_mut().for_each(|x| *x /= n);
    assert!(crate::cpu::ops::dot(&between, &near(2, 0)) < crate::rec::profile::ASKED_AGAIN_COSINE);
    // The facet name "t2" reads like the wish.
    let names = crate::rec::concept::FacetNames {
        vectors: crate::rec::concept::FacetNames::names(&index)
            .iter()
            .map(|n| {
                if *n == "t2" {
                    between.clone()
                } else {
                    near(12, 0)
                }
            })
            .collect(),
    };
    let ranker = ranker.with_facet_names(&names);
    let (_, kept_out, _) = ranker.read_profile(&p, 8);
    assert_eq!(kept_out.len(), 1);
    p.add_signal(Signal::new(7, 1.0, &between, SignalSource::Said("two or four".into())).unwrap())
        .unwrap();
    let (directions, kept_out, _) = ranker.read_profile(&p, 8);
    let wish = ConceptMatch::find(&index, Kernel::detect(), &between, Some(&names));
    assert!(
        kept_out.is_empty(),
        "lifted by the newer wish naming {:?}",
        wish.facets
    );
    assert!(
        directions.negatives.is_empty(),
        "and no longer pushes either"
    );
}

#[test]
fn cold_start_is_popularity() {
    let index = index();
    let r = Ranker::new(&index)
        .rank(
            &profile(),
            &RankOptions {
                k: 3,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ids(&r), ["i15", "i14", "i13"]);
    assert!(r[0].why.iter().any(|w| w.evidence == "popular"));
}

#[test]
fn a_wish_pulls_its_items_up_and_says_why() {
    let index = index();
    let mut p = profile();
    p.add_signal(
        Signal::new(
            0,
            1.0,
            &dir(2, 0.0),
            SignalSource::Said("axis two please".into()),
        )
        .unwrap(),
    )
    .unwrap();
    let r = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ids(&r), ["i4", "i5"]);
    assert_eq!(r[0].why[0].evidence, "axis two please");
    assert_eq!(r[0].why[0].effect, Effect::Up);
    assert!(r[0].score >= r[1].score);
}

#[test]
fn two_interests_both_show() {
    let index = index();
    let mut p = profile();
    for t in 0..3 {
        p.add_signal(
            Signal::new(t, 1.0, &dir(1, 0.0), SignalSource::Said("cooking".into())).unwrap(),
        )
        .unwrap();
    }
    p.add_signal(Signal::new(3, 1.0, &dir(5, 0.0), SignalSource::Said("cycling".into())).unwrap())
        .unwrap();
    let r = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 4,
                ..Default::default()
            },
        )
        .unwrap();
    let got = ids(&r);
    assert!(
        got.contains(&"i2".to_string()) && got.contains(&"i10".to_string()),
        "{got:?}"
    );
}

#[test]
fn a_rejection_pushes_the_item_and_its_neighbours_down() {
    let index = index();
    let mut p = profile();
    // Wants axis 3 or axis 4 equally; rejects item i6 (axis 3).
    p.add_signal(
        Signal::new(
            0,
            1.0,
            &dir(3, 1.0),
            SignalSource::Said("three or four".into()),
        )
        .unwrap(),
    )
    .unwrap();
    let before = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 4,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        ids(&before)[..2].contains(&"i6".to_string())
            || ids(&before)[..2].contains(&"i7".to_string())
    );
    p.add_signal(Signal::new(1, -1.0, &index.vector(6), SignalSource::Item("i6".into())).unwrap())
        .unwrap();
    p.mark_seen("i6");
    let after = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 3,
                ..Default::default()
            },
        )
        .unwrap();
    let got = ids(&after);
    assert!(!got.contains(&"i6".to_string()));
    assert_eq!(&got[..2], ["i8", "i9"], "axis 4 now wins: {got:?}");
    let i7 = after.iter().find(|r| r.id == "i7");
    if let Some(r) = i7 {
        assert!(r
            .why
            .iter()
            .any(|w| w.effect == Effect::Down && w.item.as_deref() == Some("i6")));
    }
}

#[test]
fn filters_exclusions_and_seen_items() {
    let index = index();
    let mut p = profile();
    p.mark_seen("i15");
    p.mark_not_interested("i14");
    let opts = RankOptions {
        k: 20,
        filters: Filters {
            categories: vec!["even".into()],
            price: Some(NumericRange {
                min: Some(2.0),
                max: None,
            }),
            attributes: vec![AttributeFilter {
                key: "year".into(),
                range: Some(NumericRange {
                    min: None,
                    max: Some(2003.0),
                }),
                one_of: vec![],
            }],
            exclude: vec!["i12".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let got = ids(&Ranker::new(&index).rank(&p, &opts).unwrap());
    assert_eq!(got, ["i13", "i9", "i8", "i5", "i4"]);
    let all = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 20,
                exclude_seen: false,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(ids(&all).contains(&"i15".to_string()));
    assert!(
        !ids(&all).contains(&"i14".to_string()),
        "not interested is never shown"
    );
    let tagged = Filters {
        tags: vec!["axis0".into()],
        ..Default::default()
    };
    let got = ids(&Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                filters: tagged,
                ..Default::default()
            },
        )
        .unwrap());
    assert_eq!(got, ["i1", "i0"]);
}

#[test]
fn scenes_reweight_and_explain() {
    let index = index();
    let scene = Scene {
        name: "commute".into(),
        boosts: vec![Boost {
            target: BoostTarget::Category("even".into()),
            factor: 3.0,
        }],
    };
    let r = Ranker::new(&index)
        .rank(
            &profile(),
            &RankOptions {
                k: 2,
                scene: Some(scene),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        ids(&r),
        ["i13", "i12"],
        "even items, boosted past the most popular odd ones"
    );
    assert!(r
        .iter()
        .all(|x| index.item(x.index).unwrap().category.as_deref() == Some("even")));
    assert!(r[0].why.iter().any(|w| w.evidence == "scene: commute"));
}

#[test]
fn diversity_spreads_the_list() {
    let index = index();
    let mut p = profile();
    p.add_signal(Signal::new(0, 1.0, &dir(0, 0.5), SignalSource::Said("zero-ish".into())).unwrap())
        .unwrap();
    let plain = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 2,
                alpha: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(ids(&plain), ["i1", "i0"], "the twins");
    let diverse = Ranker::new(&index)
        .rank(
            &p,
            &RankOptions {
                k: 2,
                alpha: Some(1.0),
                diversity: 0.7,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(diverse[0].id, "i1");
    assert_ne!(diverse[1].id, "i0", "a twin is not a diverse second pick");
}

/// The test index with collaborative factors: items 0–5 co-liked (factor
/// axis 0), items 6–13 co-liked (axis 1), items 14–15 never interacted with.
fn collab_index() -> CatalogueIndex {
    use crate::rec::collab::{AlsSettings, Blend, CollabModel, Factors};
    let data = (0..16)
        .flat_map(|i| match i {
            0..=5 => [1.0, 0.1 * i as f32],
            6..=13 => [0.1 * i as f32 - 0.6, 1.0],
            _ => [0.0, 0.0],
        })
        .collect();
    let model = CollabModel::new(
        &Factors { k: 2, data },
        &AlsSettings::default(),
        Blend::default(),
    )
    .unwrap();
    index().with_collab(model).unwrap()
}

#[test]
fn text_only_visitors_and_plain_indexes_rank_as_before() {
    let (plain, rich) = (index(), collab_index());
    let mut p = profile();
    p.add_signal(Signal::new(0, 1.0, &dir(3, 0.4), SignalSource::Said("three".into())).unwrap())
        .unwrap();
    let opts = RankOptions {
        k: 16,
        ..Default::default()
    };
    assert!(
        Ranker::new(&rich).fold_in(&p).is_none(),
        "free text only: the text path"
    );
    assert_eq!(
        Ranker::new(&plain).rank(&p, &opts).unwrap(),
        Ranker::new(&rich).rank(&p, &opts).unwrap()
    );
    // An old (version 1) file of the same catalogue loads and ranks the same.
    let old = CatalogueIndex::from_bytes(plain.as_bytes().to_vec()).unwrap();
    assert_eq!(old.format_version(), 1);
    assert_eq!(
        Ranker::new(&old).rank(&profile(), &opts).unwrap(),
        Ranker::new(&plain).rank(&profile(), &opts).unwrap()
    );
}

#[test]
fn liked_items_pull_up_what_people_also_liked_and_say_so() {
    let index = collab_index();
    let mut p = profile();
    // Liked item 7 (axis 3 in text, the 6–13 group in behaviour).
    p.add_signal(Signal::new(0, 1.0, &index.vector(7), SignalSource::Item("i7".into())).unwrap())
        .unwrap();
    p.mark_seen("i7");
    let ranker = Ranker::new(&index);
    assert!(ranker.fold_in(&p).is_some());
    let collab_only = RankOptions {
        k: 8,
        blend: Some(crate::rec::collab::Blend {
            text: 0.0,
            collaborative: 1.0,
            popularity: 0.0,
        }),
        ..Default::default()
    };
    let r = ranker.rank(&p, &collab_only).unwrap();
    assert!(
        r.iter().take(7).all(|x| (6..=13).contains(&x.index)),
        "{:?}",
        ids(&r)
    );
    let because = r[0]
        .why
        .iter()
        .find(|w| w.kind == ReasonKind::Collaborative)
        .expect("a collaborative reason");
    assert_eq!(because.evidence, "people who liked Item 7 also liked this");
    assert_eq!(because.item.as_deref(), Some("i7"));
    let top = |k: usize| {
        let opts = RankOptions {
            k,
            ..Default::default()
        };
        ranker.rank(&p, &opts).unwrap()
    };
    // The learned (default) blend still finds the text neighbour and the co-liked items.
    assert!(
        ids(&top(4)).contains(&"i6".to_string()),
        "{:?}",
        ids(&top(4))
    );
    // Items nobody interacted with fall back to text and popularity: still ranked.
    let all = top(16);
    assert!(all.iter().any(|x| x.index == 14) && all.iter().any(|x| x.index == 15));
    let blended = |text: f32, collaborative: f32, popularity: f32| RankOptions {
        blend: Some(crate::rec::collab::Blend {
            text,
            collaborative,
            popularity,
        }),
        ..Default::default()
    };
    assert!(matches!(
        ranker.rank(&p, &blended(0.9, 0.9, 0.0)),
        Err(Error::InvalidInput { .. })
    ));
    // Without collaborative weight, no "people who liked" reason.
    assert!(ranker
        .rank(&p, &blended(0.9, 0.0, 0.1))
        .unwrap()
        .iter()
        .all(|r| r.why.iter().all(|w| w.kind != ReasonKind::Collaborative)));
}

#[test]
fn bad_options_and_foreign_profiles_are_errors() {
    let index = index();
    let r = Ranker::new(&index);
    for opts in [
        RankOptions {
            alpha: Some(f32::NAN),
            ..Default::default()
        },
        RankOptions {
            alpha: Some(1.5),
            ..Default::default()
        },
        RankOptions {
            diversity: -0.1,
            ..Default::default()
        },
        RankOptions {
            k: 0,
            ..Default::default()
        },
        RankOptions {
            filters: Filters {
                price: Some(NumericRange {
                    min: Some(f64::NAN),
                    max: None,
                }),
                ..Default::default()
            },
            ..Default::default()
        },
        RankOptions {
            scene: Some(Scene {
                name: "x".into(),
                boosts: vec![Boost {
                    target: BoostTarget::Tag("t".into()),
                    factor: 0.0,
                }],
            }),
            ..Default::default()
        },
    ] {
        assert!(
            matches!(r.rank(&profile(), &opts), Err(Error::InvalidInput { .. })),
            "{opts:?}"
        );
    }
    let foreign = IntentProfile::new("other", DIMS, ProfileSettings::default()).unwrap();
    assert!(matches!(
        r.rank(&foreign, &RankOptions::default()),
        Err(Error::ModelMismatch { .. })
    ));
    assert!(r.clone().with_popularity(&[0.5]).is_err());
}

#[test]
fn options_read_from_camel_case_json() {
    let json = r#"{"k": 3, "excludeSeen": false, "diversity": 0.2,
        "filters": {"tags": ["Comedy"], "attributes": [{"key": "decade", "oneOf": ["1990s"]}],
                    "price": {"max": 9.5}},
        "scene": {"name": "date", "boosts": [{"target": {"tag": "Romance"}, "factor": 1.5},
                  {"target": {"attribute": {"key": "year", "range": {"min": 2015}}}, "factor": 2}]}}"#;
    let o: RankOptions = serde_json::from_str(json).unwrap();
    assert_eq!(o.k, 3);
    assert!(!o.exclude_seen);
    assert_eq!(
        o.alpha,
        RankOptions::default().alpha,
        "missing fields keep their defaults"
    );
    assert_eq!(o.filters.attributes[0].one_of, vec!["1990s".to_string()]);
    assert_eq!(o.filters.price.unwrap().max, Some(9.5));
    assert_eq!(o.scene.as_ref().unwrap().boosts.len(), 2);
    assert!(serde_json::from_str::<RankOptions>(r#"{"alpha": "high"}"#).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn rankings_respect_filters_never_repeat_and_are_sorted(
            signals in proptest::collection::vec((0usize..8, -1.0f32..1.0, 0.0f32..1.0), 0..6),
            k in 1usize..20,
            alpha in 0.0f32..=1.0,
            min_price in 0.0f64..16.0,
            even in any::<bool>(),
            touched in proptest::collection::vec(0usize..16, 0..4),
        ) {
            let index = index();
            let mut p = profile();
            for (t, (axis, w, tilt)) in signals.iter().enumerate() {
                if *w != 0.0 {
                    p.add_signal(Signal::new(t as i64, *w, &dir(*axis, *tilt), SignalSource::Said("s".into())).unwrap()).unwrap();
                }
            }
            for t in &touched { p.mark_seen(&format!("i{t}")); }
            let category = if even { "even" } else { "odd" };
            let opts = RankOptions {
                k, alpha: Some(alpha),
                filters: Filters { categories: vec![category.into()], price: Some(NumericRange { min: Some(min_price), max: None }), ..Default::default() },
                ..Default::default()
            };
            let r = Ranker::new(&index).rank(&p, &opts).unwrap();
            prop_assert!(r.len() <= k);
            let mut seen = std::collections::HashSet::new();
            for (n, x) in r.iter().enumerate() {
                let item = index.item(x.index).unwrap();
                prop_assert_eq!(item.category.as_deref(), Some(category));
                prop_assert!(f64::from(item.price.unwrap()) >= min_price);
                prop_assert!(!p.seen().contains(&x.id));
                prop_assert!(seen.insert(x.id.clone()), "repeated {}", x.id);
                prop_assert!(x.score.is_finite());
                if n > 0 { prop_assert!(r[n - 1].score >= x.score); }
            }
            // Every eligible item that is missing scores no higher than the last returned.
            let eligible = (0..16).filter(|&i| {
                let it = index.item(i).unwrap();
                it.category.as_deref() == Some(category) && f64::from(it.price.unwrap()) >= min_price && !p.seen().contains(&it.id)
            }).count();
            prop_assert_eq!(r.len(), k.min(eligible));
        }
    }
}

#[test]
fn the_catalogues_learned_text_weight_is_the_default_alpha() {
    let mut p = profile();
    p.add_signal(
        Signal::new(
            0,
            1.0,
            &dir(2, 0.0),
            SignalSource::Said("axis two please".into()),
        )
        .unwrap(),
    )
    .unwrap();
    let learned = |alpha: f32| {
        index()
            .with_text_blend(crate::rec::index::TextBlend {
                alpha,
                validation_users: 10,
                validation_ndcg: 0.1,
                popularity_ndcg: 0.1,
                text_ndcg: 0.1,
            })
            .unwrap()
    };
    let top = |index: &CatalogueIndex, alpha: Option<f32>| {
        let options = RankOptions {
            k: 2,
            alpha,
            ..Default::default()
        };
        ids(&Ranker::new(index).rank(&p, &options).unwrap())
    };
    let popular = ids(&Ranker::new(&index())
        .rank(&profile(), &Default::default())
        .unwrap());
    // Learned α = 0: popularity alone, whatever the wish; the caller's α still wins.
    assert_eq!(top(&learned(0.0), None), popular[..2]);
    assert_eq!(top(&learned(0.0), Some(0.9)), ["i4", "i5"]);
    // Learned α = 1 and an index without one (α 0.9) follow the wish.
    assert_eq!(top(&learned(1.0), None), ["i4", "i5"]);
    assert_eq!(top(&index(), None), ["i4", "i5"]);
}
