//! Item vectors made outside the index build — by `localrec embed --ids` run
//! on many machines (a Spark job piping partitions through it) — read back for
//! `localrec index build --vectors`.
//!
//! JSONL: a header line `{"model_id": "sha256:…", "dims": 384}` naming the
//! model the vectors were made with, then one `{"id": "…", "vector": [...]}`
//! per item, in any order. Header lines may repeat (concatenated partitions
//! each start with one) but must agree; a Spark job's output directory is read
//! part by part ([`ItemVectors::read_part`]), each part starting with its header. Vectors are kept as int8 with a scale
//! (what the index stores), so a million of them take about 390 MB, and an
//! index built from them is byte for byte the one an in-process build of the
//! same items writes (`embed` prints the encoder's f32 values exactly).

use std::collections::HashMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::cpu::score::quantize;
use crate::util::error::{Error, Result};

/// The first line of a vectors file: what made the vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorsHeader {
    /// The model bundle's id (`localrec model inspect`).
    pub model_id: String,
    /// Values a vector.
    pub dims: usize,
}

/// One item's vector as a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemVector {
    /// The catalogue item id.
    pub id: String,
    /// Its embedding.
    pub vector: Vec<f32>,
}

/// Item vectors by id, quantised as the index stores them.
#[derive(Debug, Default)]
pub struct ItemVectors {
    by_id: HashMap<String, (Vec<i8>, f32)>,
}

impl ItemVectors {
    /// Reads a vectors file made with `model_id` (vectors of `dims` values).
    /// A header naming another model, a bad line, a vector of another width
    /// or with non-finite values, and an id given twice are errors naming the line.
    pub fn read(reader: impl BufRead, model_id: &str, dims: usize) -> Result<Self> {
        let mut v = Self::default();
        v.read_part(reader, "", model_id, dims)?;
        Ok(v)
    }

    /// Adds one part (a file of a Spark job's output directory, named `source`
    /// in errors); each part starts with its header.
    pub fn read_part(
        &mut self,
        reader: impl BufRead,
        source: &str,
        model_id: &str,
        dims: usize,
    ) -> Result<()> {
        let bad = |line: usize, reason: String| Error::InvalidInput {
            what: "item vectors",
            reason: format!(
                "{source}{}line {line}: {reason}",
                if source.is_empty() { "" } else { " " }
            ),
        };
        let by_id = &mut self.by_id;
        let mut header_seen = false;
        for (n, line) in reader.lines().enumerate() {
            let line_no = n + 1;
            let line = line.map_err(|e| bad(line_no, e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            if let Ok(h) = serde_json::from_str::<VectorsHeader>(&line) {
                if h.model_id != model_id || h.dims != dims {
                    return Err(bad(
                        line_no,
                        format!(
                            "made with model {} ({} values), the model is {model_id} ({dims})",
                            h.model_id, h.dims
                        ),
                    ));
                }
                header_seen = true;
                continue;
            }
            if !header_seen {
                return Err(bad(
                    line_no,
                    "the file must start with {\"model_id\": …, \"dims\": …}".into(),
                ));
            }
            let v: ItemVector =
                serde_json::from_str(&line).map_err(|e| bad(line_no, e.to_string()))?;
            if v.vector.len() != dims {
                return Err(bad(
                    line_no,
                    format!("`{}` has {} values, not {dims}", v.id, v.vector.len()),
                ));
            }
            if v.vector.iter().any(|x| !x.is_finite()) {
                return Err(bad(line_no, format!("`{}` has a non-finite value", v.id)));
            }
            if by_id.insert(v.id.clone(), quantize(&v.vector)).is_some() {
                return Err(bad(line_no, format!("`{}` is given twice", v.id)));
            }
        }
        Ok(())
    }

    /// Vectors left.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    /// True when none is left.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
    /// Takes item `id`'s quantised vector out.
    pub fn take(&mut self, id: &str) -> Option<(Vec<i8>, f32)> {
        self.by_id.remove(id)
    }
    /// Some ids still held (for an error about vectors no item used).
    pub fn some_ids(&self, n: usize) -> Vec<&str> {
        let mut ids: Vec<&str> = self.by_id.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids.truncate(n);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_and_vectors_and_names_bad_lines() {
        let good = "{\"model_id\": \"m\", \"dims\": 2}\n{\"id\": \"a\", \"vector\": [0.6, 0.8]}\n\
                    {\"model_id\": \"m\", \"dims\": 2}\n{\"id\": \"b\", \"vector\": [1, 0]}\n";
        let mut v = ItemVectors::read(good.as_bytes(), "m", 2).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v.take("b"), Some(quantize(&[1.0, 0.0])));
        assert_eq!(v.some_ids(5), ["a"]);
        let err = |text: &str| {
            ItemVectors::read(text.as_bytes(), "m", 2)
                .unwrap_err()
                .to_string()
        };
        assert!(err("{\"id\": \"a\", \"vector\": [1, 0]}").contains("line 1: the file must start"));
        assert!(err("{\"model_id\": \"other\", \"dims\": 2}").contains("made with model other"));
        let h = "{\"model_id\": \"m\", \"dims\": 2}\n";
        assert!(err(&format!("{h}{{\"id\": \"a\", \"vector\": [1]}}"))
            .contains("line 2: `a` has 1 values"));
        assert!(err(&format!(
            "{h}{{\"id\": \"a\", \"vector\": [1, 0]}}\n{{\"id\": \"a\", \"vector\": [0, 1]}}"
        ))
        .contains("line 3: `a` is given twice"));
        assert!(err(&format!("{h}{{\"id\": \"a\"}}")).contains("line 2"));
        assert!(err(&format!("{h}{{\"id\": \"a\", \"vector\": [1e39, 0]}}")).contains("line 2"));
    }
}
