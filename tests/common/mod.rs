//! Paths and fixtures shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A built model bundle under models/build/; fails loudly if the set-up has not run.
pub fn bundle(name: &str) -> PathBuf {
    let p = root().join("models/build").join(name);
    assert!(
        p.exists(),
        "{} is missing: run `bash scripts/setup.sh` (it builds the model bundles)",
        p.display()
    );
    p
}

/// The shared data folder: $LOCALREC_SHARED, else ../shared beside the checkout.
pub fn shared() -> PathBuf {
    let p = std::env::var_os("LOCALREC_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    assert!(
        p.join("reference").exists(),
        "{} has no reference/: set LOCALREC_SHARED to the shared data folder",
        p.display()
    );
    p
}

/// One reference text and its PyTorch sentence-transformers embedding.
pub struct Reference {
    pub text: String,
    pub source: String,
    pub embedding: Vec<f32>,
}

/// The 269 reference embeddings.
pub fn references() -> Vec<Reference> {
    let path = shared().join("reference/minilm-l6-v2.jsonl");
    let text = std::fs::read_to_string(&path).expect("reference file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("reference line");
            Reference {
                text: v["text"].as_str().expect("text").to_string(),
                source: v["source"].as_str().unwrap_or("").to_string(),
                embedding: v["embedding"]
                    .as_array()
                    .expect("embedding")
                    .iter()
                    .map(|x| x.as_f64().expect("float") as f32)
                    .collect(),
            }
        })
        .collect()
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Review summaries of ../shared/data/amazon-magazine that are not reference
/// texts: short texts (where int8 errors show most) the bundle never saw.
pub fn held_out_texts() -> Vec<String> {
    use std::io::BufRead;
    let refs = references();
    let path = shared().join("data/amazon-magazine/Magazine_Subscriptions_5.json.gz");
    let file = std::fs::File::open(path).unwrap();
    let mut texts = Vec::new();
    for line in std::io::BufReader::new(flate2::read::GzDecoder::new(file)).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Some(t) = v["summary"].as_str() {
            if !refs.iter().any(|r| r.text == t) && !texts.iter().any(|x| x == t) {
                texts.push(t.to_string());
            }
        }
    }
    texts
}
