//! Item factors trained outside localrec — Spark MLlib's implicit ALS
//! `itemFactors`, or `localrec factors train` — read back for `localrec index
//! build --item-factors`, and written in the same form.
//!
//! JSONL, one file or a directory of parts: exactly one kind of header line
//! (it may repeat, but every copy must agree)
//! `{"item_factors": 1, "rank": 64, "reg_param": 0.05, "alpha": 20, "max_iter": 15,
//! "reg_scaling": "per-interaction"}` — Spark's parameter names; `reg_scaling`
//! says how λ entered a row's solve (`per-interaction`: λ·n, Spark's ALS;
//! `none`: Hu et al.) — and per item `{"id": "…", "features": [k floats]}`,
//! Spark's `itemFactors` columns with its integer id mapped back to the
//! catalogue id. Factors trained without the validation users' held-out
//! events (`localrec index holdout`) also carry `"holdout": "sha256:…"`,
//! copied from that file, so a build can check they fit its validation split.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use crate::rec::collab::{AlsSettings, Factors, RegularizationScaling};
use crate::util::error::{Error, Result};

/// The form's version in `item_factors`.
pub const FORMAT_VERSION: u32 = 1;

/// The header line: how the factors were trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorsHeader {
    /// Always [`FORMAT_VERSION`].
    pub item_factors: u32,
    /// Factors per item (k).
    pub rank: usize,
    /// λ.
    pub reg_param: f32,
    /// Confidence slope α in `c = 1 + α·r`.
    pub alpha: f32,
    /// Sweeps trained (recorded, not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iter: Option<usize>,
    /// How λ entered a row's solve.
    pub reg_scaling: RegularizationScaling,
    /// The digest of the validation holdout these factors were trained without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<String>,
}

impl FactorsHeader {
    /// The header of factors trained with `settings`.
    pub fn new(settings: &AlsSettings, holdout: Option<String>) -> Self {
        Self {
            item_factors: FORMAT_VERSION,
            rank: settings.factors,
            reg_param: settings.regularization,
            alpha: settings.confidence,
            max_iter: Some(settings.iterations),
            reg_scaling: settings.scaling,
            holdout,
        }
    }

    /// The settings the fold-in solves with.
    pub fn settings(&self) -> Result<AlsSettings> {
        let s = AlsSettings {
            factors: self.rank,
            regularization: self.reg_param,
            scaling: self.reg_scaling,
            confidence: self.alpha,
            iterations: self.max_iter.unwrap_or(AlsSettings::default().iterations),
            ..AlsSettings::default()
        };
        s.validate()?;
        Ok(s)
    }
}

/// One item's factors as a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemFactorRow {
    /// The catalogue item id.
    pub id: String,
    /// Its factors.
    pub features: Vec<f32>,
}

/// Item factors by id with the header they came with.
#[derive(Debug, Default)]
pub struct ItemFactors {
    header: Option<FactorsHeader>,
    by_id: HashMap<String, Vec<f32>>,
}

impl ItemFactors {
    /// Reads one file.
    pub fn read(reader: impl BufRead) -> Result<Self> {
        let mut f = Self::default();
        f.read_part(reader, "")?;
        f.header()?;
        Ok(f)
    }

    /// Adds one part (named `source` in errors). Headers and rows may come in
    /// any order and any part; [`ItemFactors::header`] checks one was given.
    pub fn read_part(&mut self, reader: impl BufRead, source: &str) -> Result<()> {
        let bad = |line: usize, reason: String| Error::InvalidInput {
            what: "item factors",
            reason: format!(
                "{source}{}line {line}: {reason}",
                if source.is_empty() { "" } else { " " }
            ),
        };
        for (n, line) in reader.lines().enumerate() {
            let line_no = n + 1;
            let line = line.map_err(|e| bad(line_no, e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            if line.contains("\"item_factors\"") {
                let h: FactorsHeader =
                    serde_json::from_str(&line).map_err(|e| bad(line_no, e.to_string()))?;
                if h.item_factors != FORMAT_VERSION {
                    return Err(bad(
                        line_no,
                        format!("item_factors {} is not {FORMAT_VERSION}", h.item_factors),
                    ));
                }
                h.settings().map_err(|e| bad(line_no, e.to_string()))?;
                match &self.header {
                    Some(old) if *old != h => {
                        return Err(bad(line_no, "a second header that disagrees".into()))
                    }
                    _ => self.header = Some(h),
                }
                continue;
            }
            let row: ItemFactorRow =
                serde_json::from_str(&line).map_err(|e| bad(line_no, e.to_string()))?;
            if row.features.iter().any(|x| !x.is_finite()) {
                return Err(bad(line_no, format!("`{}` has a non-finite value", row.id)));
            }
            if let Some(first) = self.by_id.values().next() {
                if first.len() != row.features.len() {
                    return Err(bad(
                        line_no,
                        format!(
                            "`{}` has {} factors, others {}",
                            row.id,
                            row.features.len(),
                            first.len()
                        ),
                    ));
                }
            }
            if self.by_id.insert(row.id.clone(), row.features).is_some() {
                return Err(bad(line_no, format!("`{}` is given twice", row.id)));
            }
        }
        Ok(())
    }

    /// The header; an error when none was read or the rows' width is not its rank.
    pub fn header(&self) -> Result<&FactorsHeader> {
        let h = self.header.as_ref().ok_or_else(|| Error::InvalidInput {
            what: "item factors",
            reason: "no header line {\"item_factors\": 1, \"rank\": …, \"reg_param\": …, \"alpha\": …, \"reg_scaling\": …}".into(),
        })?;
        if let Some(row) = self.by_id.values().next() {
            if row.len() != h.rank {
                return Err(Error::InvalidInput {
                    what: "item factors",
                    reason: format!(
                        "rows have {} factors, the header says rank {}",
                        row.len(),
                        h.rank
                    ),
                });
            }
        }
        Ok(h)
    }

    /// Items with factors.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    /// True when no item has factors.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The factors in catalogue order (`ids`): an item without a row keeps
    /// none (zeros: nobody interacted with it). A row naming no catalogue item
    /// is an error (factors of another catalogue).
    pub fn for_catalogue<'a>(
        &self,
        ids: impl ExactSizeIterator<Item = &'a str>,
    ) -> Result<Factors> {
        let k = self.header()?.rank;
        let mut data = vec![0f32; ids.len() * k];
        let mut used = 0;
        for (i, id) in ids.enumerate() {
            if let Some(f) = self.by_id.get(id) {
                data[i * k..(i + 1) * k].copy_from_slice(f);
                used += 1;
            }
        }
        if used != self.by_id.len() {
            return Err(Error::InvalidInput {
                what: "item factors",
                reason: format!(
                    "{} rows name items the catalogue lacks",
                    self.by_id.len() - used
                ),
            });
        }
        Ok(Factors { k, data })
    }

    /// Writes `factors` (rows in `ids` order; all-zero rows, items nobody
    /// interacted with, are left out) in this form.
    pub fn write<'a>(
        mut out: impl Write,
        header: &FactorsHeader,
        ids: impl Iterator<Item = &'a str>,
        factors: &Factors,
    ) -> Result<()> {
        let io = |source| Error::Io {
            context: "cannot write item factors".into(),
            source,
        };
        let json = |e: serde_json::Error| io(std::io::Error::other(e));
        serde_json::to_writer(&mut out, header).map_err(json)?;
        out.write_all(b"\n").map_err(io)?;
        for (r, id) in ids.enumerate() {
            let row = factors.row(r);
            if row.iter().all(|&x| x == 0.0) {
                continue;
            }
            let line = ItemFactorRow {
                id: id.to_string(),
                features: row.to_vec(),
            };
            serde_json::to_writer(&mut out, &line).map_err(json)?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.flush().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "{\"item_factors\": 1, \"rank\": 2, \"reg_param\": 0.05, \"alpha\": 20, \"max_iter\": 10, \"reg_scaling\": \"per-interaction\"}";

    #[test]
    fn reads_spark_rows_in_any_order_and_parts() {
        let mut f = ItemFactors::default();
        f.read_part(
            "{\"id\": \"b\", \"features\": [0.5, -1]}\n".as_bytes(),
            "part-0",
        )
        .unwrap();
        assert!(f.header().is_err(), "no header yet");
        f.read_part(format!("{HEADER}\n").as_bytes(), "header.json")
            .unwrap();
        f.read_part(
            format!("{HEADER}\n{{\"id\": \"a\", \"features\": [1, 2]}}\n").as_bytes(),
            "part-1",
        )
        .unwrap();
        let h = f.header().unwrap();
        let s = h.settings().unwrap();
        assert_eq!(
            (s.factors, s.regularization, s.confidence, s.iterations),
            (2, 0.05, 20.0, 10)
        );
        assert_eq!(s.scaling, RegularizationScaling::PerInteraction);
        let y = f.for_catalogue(["a", "c", "b"].into_iter()).unwrap();
        assert_eq!(y.data, [1.0, 2.0, 0.0, 0.0, 0.5, -1.0]);
        let e = f.for_catalogue(["a"].into_iter()).unwrap_err().to_string();
        assert!(e.contains("1 rows name items the catalogue lacks"), "{e}");

        // Written back and read again: the same rows and header.
        let mut out = Vec::new();
        ItemFactors::write(&mut out, h, ["a", "c", "b"].into_iter(), &y).unwrap();
        let back = ItemFactors::read(out.as_slice()).unwrap();
        assert_eq!(back.len(), 2, "the all-zero row is left out");
        assert_eq!(back.header().unwrap(), h);
        assert_eq!(back.for_catalogue(["a", "c", "b"].into_iter()).unwrap(), y);
    }

    #[test]
    fn bad_input_names_the_part_and_line() {
        let err = |text: &str| {
            let mut f = ItemFactors::default();
            match f.read_part(text.as_bytes(), "p") {
                Err(e) => e.to_string(),
                Ok(()) => f
                    .header()
                    .map(|_| String::new())
                    .unwrap_or_else(|e| e.to_string()),
            }
        };
        assert!(err("{\"id\": \"a\", \"features\": [1, 2]}").contains("no header line"));
        assert!(err(&format!(
            "{HEADER}\n{{\"id\": \"a\", \"features\": [1, 2, 3]}}"
        ))
        .contains("rank 2"));
        assert!(err(&format!(
            "{HEADER}\n{{\"id\": \"a\", \"features\": [1, 2]}}\n{{\"id\": \"a\", \"features\": [1, 2]}}"
        ))
        .contains("p line 3: `a` is given twice"));
        assert!(err(&format!("{HEADER}\n{{\"id\": \"a\", \"features\": [1]}}\n{{\"id\": \"b\", \"features\": [1, 2]}}"))
            .contains("line 3"));
        assert!(err(&HEADER.replace("0.05", "-1")).contains("line 1"));
        assert!(
            err(&HEADER.replace("\"item_factors\": 1", "\"item_factors\": 2")).contains("is not 1")
        );
        assert!(err(&format!("{HEADER}\n{}", HEADER.replace("20", "5"))).contains("disagrees"));
        assert!(err(&format!(
            "{HEADER}\n{{\"id\": \"a\", \"features\": [1e39, 0]}}"
        ))
        .contains("line 2"));
        assert!(err(&format!("{HEADER}\n{{\"id\": \"a\"}}")).contains("line 2"));
    }
}
