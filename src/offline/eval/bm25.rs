//! BM25 over item texts: the keyword baseline of the evaluation.

use std::collections::HashMap;

/// Lower-cased alphanumeric words.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// An inverted index with Okapi BM25 scoring (k1 = 1.2, b = 0.75).
#[derive(Debug, Clone)]
pub struct Bm25 {
    postings: HashMap<String, Vec<(u32, u32)>>, // word → (doc, term frequency)
    doc_len: Vec<f32>,
    avg_len: f32,
}

impl Bm25 {
    /// Indexes documents (one per item, in index order).
    pub fn new<S: AsRef<str>>(docs: &[S]) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::with_capacity(docs.len());
        for (d, doc) in docs.iter().enumerate() {
            let mut tf: HashMap<String, u32> = HashMap::new();
            let mut n = 0;
            for w in words(doc.as_ref()) {
                *tf.entry(w).or_default() += 1;
                n += 1;
            }
            doc_len.push(n as f32);
            for (w, f) in tf {
                postings.entry(w).or_default().push((d as u32, f));
            }
        }
        let avg_len = (doc_len.iter().sum::<f32>() / doc_len.len().max(1) as f32).max(1.0);
        Self {
            postings,
            doc_len,
            avg_len,
        }
    }

    /// Scores every document for a query (0 where no word matches).
    pub fn scores(&self, query: &str) -> Vec<f32> {
        let (k1, b) = (1.2f32, 0.75f32);
        let n = self.doc_len.len() as f32;
        let mut out = vec![0.0; self.doc_len.len()];
        let mut qtf: HashMap<String, u32> = HashMap::new();
        for w in words(query) {
            *qtf.entry(w).or_default() += 1;
        }
        for (w, _) in qtf {
            let Some(list) = self.postings.get(&w) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(d, f) in list {
                let f = f as f32;
                let norm = k1 * (1.0 - b + b * self.doc_len[d as usize] / self.avg_len);
                out[d as usize] += idf * f * (k1 + 1.0) / (f + norm);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_documents_score_and_rare_words_count_more() {
        let bm = Bm25::new(&[
            "the cat sat",
            "the dog ran",
            "a cat and a cat",
            "nothing here",
        ]);
        let s = bm.scores("Cat!");
        assert!(s[2] > s[0] && s[0] > 0.0);
        assert_eq!(s[1], 0.0);
        let s = bm.scores("the dog");
        assert!(s[1] > s[0], "dog is rarer than the");
        assert!(bm.scores("").iter().all(|&x| x == 0.0));
    }
}
