//! The recommender's tests: feedback kinds, text read in parts, history,
//! reviews, and the index-only recommender before and after its model.

use super::*;
use crate::model::bundle::Quant;
use crate::rec::catalogue::CatalogueItem;
use crate::rec::feedback::FeedbackKind;
use crate::rec::profile::SignalSource;
use crate::testing::tiny_bundle;
use crate::util::error::Error;

/// The tiny model (`seed` 9 is the one the index is built with).
fn encoder(seed: u64) -> Encoder {
    Encoder::from_bundle(tiny_bundle(Quant::F32, seed)).unwrap()
}

fn recommender() -> Recommender {
    let encoder = encoder(9);
    let items: Vec<CatalogueItem> = [
        "war story",
        "funny comedy",
        "quick read",
        "long film",
        "love story",
    ]
    .iter()
    .enumerate()
    .map(|(i, t)| CatalogueItem {
        id: format!("x{i}"),
        title: t.to_string(),
        text: Some(t.to_string()),
        category: None,
        tags: vec![],
        price: None,
        popularity: Some(i as f64),
        url: None,
        attributes: Default::default(),
    })
    .collect();
    let index = CatalogueIndex::build(&encoder, &items, 40, |_, _| {}).unwrap();
    Recommender::new(encoder, index).unwrap()
}

#[test]
fn bad_feedback_changes_nothing() {
    let r = recommender();
    let mut p = r.new_profile(ProfileSettings::default()).unwrap();
    r.record(&mut p, &Feedback::action(1, "x1", FeedbackKind::Like))
        .unwrap();
    let before = p.clone();
    for bad in [
        Feedback::action(2, "nope", FeedbackKind::Like),
        Feedback::rating(2, "x1", 9.0, None),
        Feedback::rating(2, "x1", f32::NAN, Some("text".into())),
        Feedback::text(2, ""),
        Feedback::default(),
    ] {
        assert!(r.record(&mut p, &bad).is_err(), "{bad:?}");
        assert_eq!(p, before, "{bad:?} left a trace");
    }
    assert!(matches!(
        r.record(&mut p, &Feedback::action(2, "nope", FeedbackKind::Like)),
        Err(Error::UnknownItem(id)) if id == "nope"
    ));
    let mut foreign = IntentProfile::new("other", 32, ProfileSettings::default()).unwrap();
    assert!(matches!(
        r.record(&mut foreign, &Feedback::text(0, "hi")),
        Err(Error::ModelMismatch { .. })
    ));
    assert!(r
        .record_embedded(&mut p, &Feedback::text(0, "hi"), Some(&[1.0; 3]))
        .is_err());
}

#[test]
fn feedback_kinds_become_signals() {
    let r = recommender();
    let mut p = r.new_profile(ProfileSettings::default()).unwrap();
    r.record(&mut p, &Feedback::rating(1, "x0", 5.0, None))
        .unwrap();
    r.record(&mut p, &Feedback::rating(2, "x1", 3.0, None))
        .unwrap();
    r.record(
        &mut p,
        &Feedback::rating(3, "x2", 1.0, Some("boring".into())),
    )
    .unwrap();
    r.record(
        &mut p,
        &Feedback::action(4, "x3", FeedbackKind::NotInterested),
    )
    .unwrap();
    r.record(&mut p, &Feedback::text(5, "a quick funny read"))
        .unwrap();
    let w: Vec<f32> = p.signals().iter().map(|s| s.weight).collect();
    assert_eq!(
        &w[..4],
        &[1.0, -1.0, -0.5, -1.0],
        "5★ +1, 3★ nothing, 1★ −1 and its text −0.5, not interested −1"
    );
    assert_eq!(w.len(), 5);
    assert!(
        p.seen().contains("x1"),
        "a neutral rating still marks the item seen"
    );
    assert!(p.not_interested().contains("x3"));
    let recs = r
        .recommend(
            &p,
            &RankOptions {
                k: 5,
                ..Default::default()
            },
        )
        .unwrap();
    let ids: Vec<&str> = recs.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["x4"], "everything else was touched or rejected");
}

#[test]
fn text_with_cues_is_read_in_parts() {
    let r = recommender();
    let mut p = r.new_profile(ProfileSettings::default()).unwrap();
    r.record(&mut p, &Feedback::text(1, "a quick read, no war please"))
        .unwrap();
    let sources: Vec<&SignalSource> = p.signals().iter().map(|s| &s.source).collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert_eq!(sources[0], &SignalSource::Said("a quick read".into()));
    assert_eq!(
        sources[1],
        &SignalSource::Rejected {
            concept: "war".into(),
            said: "a quick read, no war please".into(),
        }
    );
    assert_eq!(p.signals()[1].weight, -1.0);
    // The rejection's direction is the concept alone, not the whole text.
    let war = r.encoder().embed("war").unwrap();
    let v = p.signals()[1].vector();
    assert!(crate::cpu::ops::dot(&v, &war) > 0.99);
    // A plain phrase is still one wish along the whole text.
    r.record(&mut p, &Feedback::text(2, "long film")).unwrap();
    assert_eq!(
        p.signals()[2].source,
        SignalSource::Said("long film".into())
    );
    assert_eq!(p.signals()[2].weight, 1.0);
}

#[test]
fn more_like_these_and_something_different_follow_the_likes() {
    let r = recommender();
    let mut p = r.new_profile(ProfileSettings::default()).unwrap();
    // Nothing liked yet: "more like these" has nothing to follow.
    r.record(&mut p, &Feedback::text(1, "more like these"))
        .unwrap();
    assert!(p.signals().is_empty());
    for (ts, id) in [(2, "x1"), (3, "x4")] {
        r.record(&mut p, &Feedback::action(ts, id, FeedbackKind::Like))
            .unwrap();
    }
    r.record(&mut p, &Feedback::text(4, "more like these"))
        .unwrap();
    let mean: Vec<f32> = {
        let (a, b) = (r.index().vector(1), r.index().vector(4));
        let m: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let n = crate::cpu::ops::dot(&m, &m).sqrt();
        m.into_iter().map(|x| x / n).collect()
    };
    let more = &p.signals()[2];
    assert_eq!(more.weight, 1.0);
    assert!(crate::cpu::ops::dot(&more.vector(), &mean) > 0.99);
    r.record(&mut p, &Feedback::text(5, "something different"))
        .unwrap();
    let different = &p.signals()[3];
    assert!(different.is_rejection() && different.weight < 0.0);
    assert!(crate::cpu::ops::dot(&different.vector(), &mean) > 0.99);
}

#[test]
fn a_review_with_cues_keeps_each_aspect_s_polarity() {
    let r = recommender();
    let mut p = r.new_profile(ProfileSettings::default()).unwrap();
    let review = Feedback::rating(1, "x0", 4.0, Some("loved the story but not the war".into()));
    r.record(&mut p, &review).unwrap();
    let s = p.signals();
    assert_eq!(s[0].source, SignalSource::Item("x0".into()));
    assert_eq!(s[0].weight, 0.5, "the stars set the item's weight");
    let aspects: Vec<(f32, &str)> = s[1..]
        .iter()
        .map(|s| (s.weight, s.source.text().unwrap_or("")))
        .collect();
    assert_eq!(aspects.len(), 2, "{aspects:?}");
    assert_eq!(aspects[0], (0.5, "loved the story"));
    assert_eq!(aspects[1].0, -0.5, "{aspects:?}");
    // The same text recorded with a precomputed whole-text vector reads the same.
    let mut q = r.new_profile(ProfileSettings::default()).unwrap();
    let whole = r
        .encoder()
        .embed("loved the story but not the war")
        .unwrap();
    r.record_embedded(&mut q, &review, Some(&whole)).unwrap();
    assert_eq!(p.signals(), q.signals());
}

/// The same catalogue as [`recommender`], before its model is loaded.
fn index_only() -> IndexRecommender {
    IndexRecommender::new(recommender().index().clone())
}

/// Ids and scores of a top 5, for comparing rankings exactly.
fn ranked(recs: &[Recommendation]) -> Vec<(String, f32)> {
    recs.iter().map(|r| (r.id.clone(), r.score)).collect()
}

fn top5() -> RankOptions {
    RankOptions {
        k: 5,
        now: 10,
        ..Default::default()
    }
}

#[test]
fn text_before_the_model_is_a_typed_error_and_changes_nothing() {
    let early = index_only();
    assert!(early.facet_names().is_none());
    let mut p = early.new_profile(ProfileSettings::default()).unwrap();
    early
        .record(&mut p, &Feedback::action(1, "x1", FeedbackKind::Like))
        .unwrap();
    let before = p.clone();
    for text in [
        Feedback::text(2, "a quick funny read"),
        Feedback::text(2, "a quick read, no war please"),
        Feedback::rating(2, "x0", 4.0, Some("loved the story".into())),
        Feedback::rating(2, "x0", 4.0, Some("loved the story but not the war".into())),
    ] {
        let got = early.record(&mut p, &text);
        assert!(
            matches!(
                got,
                Err(Error::ModelNotLoaded {
                    what: "feedback text"
                })
            ),
            "{text:?}: {got:?}"
        );
        assert_eq!(p, before, "{text:?} left a trace");
    }
    // Bad input is still bad input, model or not.
    assert!(matches!(
        early.record(&mut p, &Feedback::action(2, "nope", FeedbackKind::Like)),
        Err(Error::UnknownItem(_))
    ));
    assert_eq!(p, before);
}

#[test]
fn likes_stars_and_not_interested_rank_without_the_model() {
    let early = index_only();
    let full = recommender();
    let events = [
        Feedback::action(1, "x1", FeedbackKind::Like),
        Feedback::rating(2, "x0", 1.0, None),
        Feedback::action(3, "x3", FeedbackKind::NotInterested),
    ];
    let mut p = early.new_profile(ProfileSettings::default()).unwrap();
    let mut q = full.new_profile(ProfileSettings::default()).unwrap();
    for e in &events {
        early.record(&mut p, e).unwrap();
        full.record(&mut q, e).unwrap();
    }
    assert_eq!(p, q, "the same signals with and without the model");
    let options = RankOptions {
        exclude_seen: false,
        ..top5()
    };
    let without = early.recommend(&p, &options).unwrap();
    assert_eq!(
        ranked(&without),
        ranked(&full.recommend(&q, &options).unwrap())
    );
    assert!(
        !without.iter().any(|r| r.id == "x3"),
        "not interested stays out"
    );
    let liked = without.iter().position(|r| r.id == "x1");
    let disliked = without.iter().position(|r| r.id == "x0");
    assert!(liked < disliked, "the like above the 1★: {without:?}");
    // The cold start ranks too: popularity alone, the most popular first.
    let empty = early.new_profile(ProfileSettings::default()).unwrap();
    let cold = early.recommend(&empty, &top5()).unwrap();
    assert_eq!(cold[0].id, "x4", "{cold:?}");
}

#[test]
fn attaching_the_model_later_ranks_as_loading_both() {
    let early = index_only();
    let mut p = early.new_profile(ProfileSettings::default()).unwrap();
    early
        .record(&mut p, &Feedback::action(1, "x1", FeedbackKind::Like))
        .unwrap();
    // Another model than the index's: refused, and the early one keeps working.
    assert!(matches!(
        early.with_encoder(encoder(10)),
        Err(Error::ModelMismatch { .. })
    ));
    early
        .record(&mut p, &Feedback::action(2, "x2", FeedbackKind::View))
        .unwrap();

    let late = early.with_encoder(encoder(9)).unwrap();
    let both = recommender();
    let mut q = both.new_profile(ProfileSettings::default()).unwrap();
    both.record(&mut q, &Feedback::action(1, "x1", FeedbackKind::Like))
        .unwrap();
    both.record(&mut q, &Feedback::action(2, "x2", FeedbackKind::View))
        .unwrap();
    for text in [
        Feedback::text(3, "a quick read, no war please"),
        Feedback::text(4, "long film"),
        Feedback::rating(5, "x4", 4.0, Some("loved the story".into())),
    ] {
        late.record(&mut p, &text).unwrap();
        both.record(&mut q, &text).unwrap();
    }
    assert_eq!(p, q, "the same profile, model loaded first or later");
    assert_eq!(late.facet_names(), both.facet_names());
    assert_eq!(
        late.index_recommender().facet_names(),
        Some(both.facet_names())
    );
    let options = RankOptions {
        exclude_seen: false,
        ..top5()
    };
    let (a, b) = (
        late.recommend(&p, &options).unwrap(),
        both.recommend(&q, &options).unwrap(),
    );
    assert_eq!(ranked(&a), ranked(&b));
    assert_eq!(a[0].why, b[0].why);
    // The index is shared, not copied.
    assert!(std::ptr::eq(late.index(), early.index()));
}
