//! The intent benchmark on the shipped film catalogue, natively: free-text
//! feedback must move the top 10 the way a person meant it (the figures of
//! `localrec intent-bench` on `../shared/intent/queries.jsonl`, held at the
//! targets of README "Understanding what people mean"), and rejections in
//! French, German and Spanish keep their genre out too.

mod common;

use localrec::offline::eval::intent::{read_queries, run_intent_bench, IntentQuery};
use localrec::{CatalogueIndex, Encoder, Recommender};

fn recommender() -> Recommender {
    let encoder =
        Encoder::from_bytes(&std::fs::read(common::bundle("minilm-l6-v2-int8.lrm")).unwrap())
            .unwrap();
    let index = CatalogueIndex::from_bytes(
        std::fs::read(common::root().join("models/build/films.lri")).unwrap(),
    )
    .unwrap();
    Recommender::new(encoder, index).unwrap()
}

#[test]
fn the_visible_intent_queries_reach_their_targets() {
    let path = common::shared().join("intent/queries.jsonl");
    let queries =
        read_queries(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
    assert_eq!(queries.len(), 189);
    let (rows, s) = run_intent_bench(&recommender(), &queries).unwrap();
    assert_eq!(rows.len(), 189);
    println!("{}", serde_json::to_string_pretty(&s).unwrap());
    let checks = [
        ("wish: wished share", s.pos_want.mean >= 0.75),
        ("rejection: rejected share", s.neg_avoid.mean <= 0.03),
        ("wish + rejection: wished share", s.combo_want.mean >= 0.65),
        (
            "wish + rejection: rejected share",
            s.combo_avoid.mean <= 0.03,
        ),
        ("rejection after likes", s.hist_neg_avoid_after.mean <= 0.10),
        (
            "more of this kind after likes",
            s.hist_pos_want.mean >= 0.75,
        ),
    ];
    let failed: Vec<&str> = checks.iter().filter(|c| !c.1).map(|c| c.0).collect();
    assert!(failed.is_empty(), "below target: {failed:?}");
    // The cold list really does hold the genres the rejections remove.
    assert!(s.neg_avoid_cold.mean > 0.05, "{}", s.neg_avoid_cold.mean);
}

#[test]
fn rejections_in_french_german_and_spanish_keep_their_genre_out() {
    let q = |id: &str, text: &str, avoid: &[&str]| -> IntentQuery {
        serde_json::from_value(serde_json::json!({
            "id": id, "type": "neg", "events": [{"text": text}], "avoid": avoid,
        }))
        .unwrap()
    };
    let horror = ["Horror", "Slasher"];
    let queries = [
        // (French "horreur" itself is a word MiniLM does not know: the negation
        // is read — see src/intent's tests — but its concept lands nowhere.)
        q("fr", "pas de comédies, merci", &["Comedy"]),
        q("de", "keine Horrorfilme", &horror),
        q("es", "nada de terror", &horror),
        q("fr2", "sans comédies s'il vous plaît", &["Comedy"]),
        q("de2", "bitte keine Western", &["Western"]),
        q("es2", "no quiero películas de guerra", &["War"]),
    ];
    let (rows, _) = run_intent_bench(&recommender(), &queries).unwrap();
    for r in &rows {
        let avoid = r.avoid.unwrap();
        let cold = r.avoid_cold.unwrap();
        assert!(
            avoid <= 0.1 && avoid < cold.max(0.1),
            "{}: {avoid} (cold {cold})",
            r.text
        );
    }
}
