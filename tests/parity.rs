//! Parity with PyTorch sentence-transformers on the 269 reference texts
//! (empty, emoji, CJK, Arabic, over-long, reviews, film texts).

mod common;

use common::{bundle, cosine, references};
use localrec::gemm::Scheme;
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
