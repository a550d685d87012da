//! Parity with PyTorch sentence-transformers on the 269 reference texts
//! (empty, emoji, CJK, Arabic, over-long, reviews, film texts).

mod common;

use common::{bundle, cosine, held_out_texts, references};
use localrec::cpu::gemm::Scheme;
use localrec::{Encoder, ModelBundle};

/// Embeds every reference text in one batched call and returns (min cosine, worst text).
fn parity(bundle_name: &str) -> (f32, String, f32) {
    parity_for(bundle_name, Scheme::Wide)
}

fn parity_for(bundle_name: &str, scheme: Scheme) -> (f32, String, f32) {
    let refs = references();
    assert_eq!(refs.len(), 269, "the reference file has 269 texts");
    let bytes = std::fs::read(bundle(bundle_name)).unwrap();
    let encoder =
        Encoder::from_bundle_for(ModelBundle::from_bytes(&bytes).unwrap(), scheme).unwrap();
    assert_eq!(encoder.dims(), 384);
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let got = encoder.embed_batch(&texts).unwrap();
    let mut worst = (f32::MAX, String::new());
    let mut sum = 0.0;
    for (r, e) in refs.iter().zip(got.rows()) {
        let c = cosine(&r.embedding, e);
        sum += c;
        if c < worst.0 {
            worst = (
                c,
                format!(
                    "{:?} ({})",
                    r.text.chars().take(60).collect::<String>(),
                    r.source
                ),
            );
        }
    }
    (worst.0, worst.1, sum / refs.len() as f32)
}

#[test]
fn f32_bundle_matches_pytorch() {
    let (min, worst, mean) = parity("minilm-l6-v2-f32.lrm");
    println!("f32: min cosine {min:.7} (worst {worst}), mean {mean:.7}");
    assert!(min >= 0.99999, "f32 min cosine {min} < 0.99999 on {worst}");
}

#[test]
fn int8_bundle_matches_pytorch() {
    let (min, worst, mean) = parity("minilm-l6-v2-int8.lrm");
    println!("int8: min cosine {min:.5} (worst {worst}), mean {mean:.5}");
    assert!(min >= 0.995, "int8 min cosine {min} < 0.995 on {worst}");
}

#[test]
fn int8_bundle_on_the_narrow_product_matches_pytorch() {
    // What the relaxed-SIMD wasm build computes (7-bit weights, 8-bit
    // activations per block), here on the portable kernel.
    let (min, worst, mean) = parity_for("minilm-l6-v2-int8.lrm", Scheme::Narrow);
    println!("int8 narrow: min cosine {min:.5} (worst {worst}), mean {mean:.5}");
    assert!(min >= 0.995, "narrow min cosine {min} < 0.995 on {worst}");
}

#[test]
fn single_and_batched_embeddings_agree_on_the_real_model() {
    let encoder =
        Encoder::from_bytes(&std::fs::read(bundle("minilm-l6-v2-int8.lrm")).unwrap()).unwrap();
    let refs = references();
    let texts: Vec<&str> = refs.iter().step_by(23).map(|r| r.text.as_str()).collect();
    let batch = encoder.embed_batch(&texts).unwrap();
    for (t, row) in texts.iter().zip(batch.rows()) {
        let solo = encoder.embed(t).unwrap();
        assert!(cosine(&solo, row) > 0.99999, "{t:?}");
    }
}

#[test]
fn int8_bundle_holds_on_held_out_texts() {
    // Calibration and the choice of rounding steps looked at the reference
    // texts; these it did not. The judge is our f32 bundle (0.99999 to PyTorch).
    let texts = held_out_texts();
    assert!(texts.len() > 1000, "{} held-out texts", texts.len());
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let f32 = Encoder::from_bytes(&std::fs::read(bundle("minilm-l6-v2-f32.lrm")).unwrap()).unwrap();
    let want = f32.embed_batch(&texts).unwrap();
    // Both products — the simd128 build's and the relaxed build's narrow one —
    // hold 0.995 on every text: no allowance.
    let mut failures = Vec::new();
    for (scheme, bound, most_under) in [(Scheme::Wide, 0.995, 0), (Scheme::Narrow, 0.995, 0)] {
        let bytes = std::fs::read(bundle("minilm-l6-v2-int8.lrm")).unwrap();
        let encoder =
            Encoder::from_bundle_for(ModelBundle::from_bytes(&bytes).unwrap(), scheme).unwrap();
        let got = encoder.embed_batch(&texts).unwrap();
        let (mut min, mut worst, mut sum, mut under) = (f32::MAX, "", 0.0, 0);
        for ((a, b), t) in want.rows().zip(got.rows()).zip(&texts) {
            let c = cosine(a, b);
            sum += c;
            under += usize::from(c < 0.995);
            if c < min {
                (min, worst) = (c, t);
            }
        }
        let mean = sum / texts.len() as f32;
        println!(
            "{scheme:?} on {} held-out texts: min {min:.5} ({worst:?}), mean {mean:.5}, {under} under 0.995",
            texts.len()
        );
        if min < bound {
            failures.push(format!("{scheme:?}: {min} < {bound} on {worst:?}"));
        }
        if under > most_under {
            failures.push(format!("{scheme:?}: {under} texts under 0.995"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn no_text_reaches_a_word_piece_the_int8_bundle_left_out() {
    // The int8 bundle zeroes (and does not store) the rows of word pieces the
    // tokenizer can never produce. Every reference text, held-out summary and
    // shipped film must tokenise to stored pieces only.
    let bundle =
        ModelBundle::from_bytes(&std::fs::read(bundle("minilm-l6-v2-int8.lrm")).unwrap()).unwrap();
    let rows = bundle.config().vocab_size;
    let tokenizer = bundle.tokenizer();
    let reachable = tokenizer.reachable_ids(rows).unwrap();
    let left_out = reachable.iter().filter(|&&r| !r).count();
    // MiniLM's vocabulary: 994 `[unused…]` entries, `##` + punctuation or a CJK character.
    assert!(
        (994..2000).contains(&left_out),
        "{left_out} of {rows} rows left out"
    );
    let films = localrec::read_catalogue(std::io::BufReader::new(flate2::read::GzDecoder::new(
        std::fs::File::open(common::root().join("data/films/films.jsonl.gz")).unwrap(),
    )))
    .unwrap();
    let mut texts: Vec<String> = references().into_iter().map(|r| r.text).collect();
    texts.extend(held_out_texts());
    texts.extend(films.iter().map(|f| f.embedding_text()));
    let mut seen = 0usize;
    for text in &texts {
        for id in tokenizer.encode(text).unwrap() {
            assert!(reachable[id as usize], "{text:?} reaches left-out id {id}");
            seen += 1;
        }
    }
    println!(
        "{left_out} of {rows} word pieces left out; {seen} tokens of {} texts all stored",
        texts.len()
    );
}
