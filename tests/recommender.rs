//! The recommender core end to end with the real int8 model: polarity, several
//! interests, pushing away from a bad review, explanations, and the evaluation
//! on the Amazon Magazine reviews (../shared).

mod common;

use std::io::BufReader;
use std::process::Command;

use localrec::rec::ranker::Effect;
use localrec::{
    read_catalogue, CatalogueIndex, Encoder, Feedback, FeedbackKind, ProfileSettings, RankOptions,
    Recommender,
};

fn shop() -> Recommender {
    let encoder =
        Encoder::from_bytes(&std::fs::read(common::bundle("minilm-l6-v2-int8.lrm")).unwrap())
            .unwrap();
    let file = std::fs::File::open(common::root().join("tests/fixtures/shop.jsonl")).unwrap();
    let items = read_catalogue(BufReader::new(file)).unwrap();
    let index = CatalogueIndex::build(&encoder, &items, 80, |_, _| {}).unwrap();
    Recommender::new(encoder, index).unwrap()
}

fn top(rec: &Recommender, p: &localrec::IntentProfile, k: usize) -> Vec<String> {
    rec.recommend(
        p,
        &RankOptions {
            k,
            ..Default::default()
        },
    )
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect()
}

#[test]
fn polarity_reads_reviews_and_wishes() {
    let rec = shop();
    let pol = |t: &str| rec.polarity().polarity(&rec.encoder().embed(t).unwrap());
    for neg in [
        "the service was terrible, I don't recommend it",
        "boring, a complete waste of money",
        "I hated every minute",
    ] {
        assert!(pol(neg) < 0.0, "{neg}: {}", pol(neg));
    }
    for pos in [
        "I love it, a great read every month",
        "excellent magazine, highly recommended",
        "I want short, light reads for the train",
    ] {
        assert!(pol(pos) > 0.0, "{pos}: {}", pol(pos));
    }
}

#[test]
fn wishes_pull_and_clear_rejections_push_without_taking_the_kind_along() {
    let rec = shop();
    let mut p = rec.new_profile(ProfileSettings::default()).unwrap();
    rec.record(
        &mut p,
        &Feedback::text(1, "a short, light, funny comedy to laugh at"),
    )
    .unwrap();
    rec.record(&mut p, &Feedback::text(2, "I don't want war films"))
        .unwrap();
    let w: Vec<f32> = p.signals().iter().map(|s| s.weight).collect();
    assert_eq!(w[0], 1.0, "a neutral-sounding wish is a wish");
    assert!(p.signals()[1].is_rejection(), "{:?}", p.signals()[1].source);
    assert_eq!(w[1], -1.0, "a clear rejection pushes away");
    let ids = top(&rec, &p, 22);
    let pos = |id: &str| ids.iter().position(|i| i == id);
    // Comedies lead. "war films" is about war, not about films: the shop's
    // other films (its "film" category) are not kept out with the war films.
    // (22 items give no facet or tail for "war" to keep out: it pushes down.)
    assert!(ids[..3].iter().all(|i| i.starts_with("com")), "{ids:?}");
    for war in ["war1", "war2"] {
        assert!(pos(war).is_none_or(|w| w > 3), "{war}: {ids:?}");
    }
}

#[test]
fn free_text_moves_the_ranking_and_is_explained() {
    let rec = shop();
    let mut p = rec.new_profile(ProfileSettings::default()).unwrap();
    let cold = top(&rec, &p, 3);
    rec.record(
        &mut p,
        &Feedback::text(100, "I want short, light, funny comedies"),
    )
    .unwrap();
    let got = rec
        .recommend(
            &p,
            &RankOptions {
                k: 3,
                now: 100,
                ..Default::default()
            },
        )
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_ne!(cold, ids);
    assert!(
        ids.iter().filter(|i| i.starts_with("com")).count() >= 2,
        "{ids:?}"
    );
    assert_eq!(
        got[0].why[0].evidence,
        "I want short, light, funny comedies"
    );
    assert_eq!(got[0].why[0].effect, Effect::Up);
}

#[test]
fn two_interests_are_both_served() {
    let rec = shop();
    let mut p = rec.new_profile(ProfileSettings::default()).unwrap();
    rec.record(
        &mut p,
        &Feedback::text(1, "I love cooking dinner recipes and baking bread"),
    )
    .unwrap();
    rec.record(&mut p, &Feedback::action(2, "bike1", FeedbackKind::Like))
        .unwrap();
    rec.record(
        &mut p,
        &Feedback::text(3, "road cycling and repairing my bike"),
    )
    .unwrap();
    let ids = top(&rec, &p, 4);
    assert!(ids.iter().any(|i| i.starts_with("cook")), "{ids:?}");
    assert!(ids.iter().any(|i| i.starts_with("bike")), "{ids:?}");
    // Cooking and cycling stay separate interests, not their mean.
    let interests = p.directions(3).interests;
    // (The wish is read as its concept, without "I love".)
    let cooking = rec
        .encoder()
        .embed("cooking dinner recipes and baking bread")
        .unwrap();
    let bike = rec.index().vector(rec.index().require("bike1").unwrap());
    let best = |v: &[f32]| {
        interests
            .iter()
            .map(|d| common::cosine(&d.vector, v))
            .fold(f32::MIN, f32::max)
    };
    assert!(interests.len() >= 2);
    assert!(
        best(&cooking) > 0.95,
        "a cooking interest: {}",
        best(&cooking)
    );
    assert!(best(&bike) > 0.8, "a cycling interest: {}", best(&bike));
}

#[test]
fn a_bad_review_pushes_away_from_the_item_and_its_neighbours() {
    let rec = shop();
    let mut p = rec.new_profile(ProfileSettings::default()).unwrap();
    rec.record(
        &mut p,
        &Feedback::text(1, "I'd like to watch a film tonight"),
    )
    .unwrap();
    let opts = RankOptions {
        k: 22,
        alpha: Some(1.0),
        now: 3,
        ..Default::default()
    };
    let before = rec.recommend(&p, &opts).unwrap();
    let rank_of =
        |list: &[localrec::Recommendation], id: &str| list.iter().position(|r| r.id == id);
    let war2_before = rank_of(&before, "war2").unwrap();
    let review = Feedback {
        ts: 2,
        item: Some("war1".into()),
        text: Some("the service was terrible, I don't recommend it".into()),
        ..Default::default()
    };
    rec.record(&mut p, &review).unwrap();
    assert!(
        p.signals().iter().any(|s| s.weight < 0.0),
        "the review's polarity is negative"
    );
    let after = rec.recommend(&p, &opts).unwrap();
    assert!(
        rank_of(&after, "war1").is_none(),
        "the reviewed item is not offered again"
    );
    let war2_after = rank_of(&after, "war2").unwrap();
    assert!(
        war2_after > war2_before,
        "its neighbour war2 sinks: {war2_before} → {war2_after}"
    );
    let down = after[war2_after]
        .why
        .iter()
        .find(|w| w.effect == Effect::Down)
        .expect("a Down reason");
    assert_eq!(down.item.as_deref(), Some("war1"));
}

#[test]
fn amazon_magazine_evaluation_beats_popularity_and_bm25_and_collaborative_beats_text() {
    let amazon = common::shared().join("data/amazon-magazine");
    let dir = tempfile::tempdir().unwrap();
    let (cat, ev) = (
        dir.path().join("catalogue.jsonl"),
        dir.path().join("events.jsonl"),
    );
    let bin = env!("CARGO_BIN_EXE_localrec");
    let out = Command::new(bin)
        .args(["convert", "amazon", "--reviews"])
        .arg(amazon.join("Magazine_Subscriptions_5.json.gz"))
        .arg("--meta")
        .arg(amazon.join("meta_Magazine_Subscriptions.json.gz"))
        .arg("--catalogue")
        .arg(&cat)
        .arg("--events")
        .arg(&ev)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin)
        .args(["eval", "--json", "--collaborative", "--catalogue"])
        .arg(&cat)
        .arg("--events")
        .arg(&ev)
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    let ndcg = |m: &str| r["methods"][m]["ndcg@10"]["mean"].as_f64().unwrap();
    let at_least = |method: &str, times: f64, other: &str| {
        let (a, b) = (ndcg(method), ndcg(other));
        assert!(a >= times * b, "{method} {a} vs {other} {b}");
    };
    assert!(r["users"].as_u64().unwrap() > 300);
    at_least("localrec", 1.5, "popularity");
    assert!(ndcg("localrec") > ndcg("bm25"));
    assert!(ndcg("random") < ndcg("popularity"));
    assert!(r["polarity"]["balanced_accuracy"].as_f64().unwrap() >= 0.75);
    // Collaborative knowledge trained on the events before each held-out one.
    at_least("localrec+collab", 2.0, "popularity");
    assert!(ndcg("localrec+collab") > ndcg("localrec"));
    let c = &r["collaborative"];
    assert!(c["items_with_factors"].as_u64().unwrap() > 100, "{c}");
    assert_eq!(c["unknown_item_events"].as_u64(), Some(0));
    // localrec's text / popularity weight was learned on validation users, and on them it is
    // never worse than popularity alone or text alone (the guard).
    let t = &r["text_blend"];
    let alpha = t["alpha"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&alpha), "{t}");
    assert!(t["validation_users"].as_u64().unwrap() > 100, "{t}");
    let v = t["validation_ndcg"].as_f64().unwrap();
    assert!(
        v >= t["popularity_ndcg"].as_f64().unwrap() && v >= t["text_ndcg"].as_f64().unwrap(),
        "{t}"
    );
}
