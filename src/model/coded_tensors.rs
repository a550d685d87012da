//! The coded section of a model bundle: `Q8_0` tensors stored with their
//! scales apart from their integers, the integers entropy-coded, and rows of
//! zeros left out.
//!
//! `Q8_0` interleaves an f16 scale with every 32 integers. Split apart, the
//! scales of a calibrated bundle repeat along each row and gzip to almost
//! nothing, and the integers code near their entropy ([`crate::model::entropy`]);
//! interleaved, a gzip transfer of the same tensors is ≈ 20 % larger.
//!
//! The section follows the bundle's GGUF container. Its directory is the GGUF
//! metadata string `localrec.coded`, a JSON list of `{"name", "dims",
//! "bytes"}` in section order, plus, from format version 3, `"rows"`: the
//! `[start, end)` ranges of rows that are stored, when some rows (every byte
//! zero: scales and integers) are not. An int8 bundle zeroes the rows no text
//! can reach (word pieces the tokenizer never produces, positions past its
//! window), so they cost nothing. Each record is the stored rows' `blocks`
//! little-endian f16 scales, then one entropy-coded stream of their integers.

use std::collections::HashMap;
use std::ops::Range;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::cpu::gemm::{BLOCK, Q8_0_BLOCK_BYTES as BLOCK_BYTES};
use crate::model::entropy;
use crate::util::error::{Error, FileKind, Result};

/// The first bundle format version whose directory may leave rows out.
pub(crate) const ROWS_SINCE: u32 = 3;

/// One tensor of the section, as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    dims: Vec<usize>,
    bytes: usize,
    /// Stored row ranges `[start, end)`; absent when every row is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rows: Option<Vec<[usize; 2]>>,
}

/// Where one coded tensor lies in the section and which of its rows it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub dims: Vec<usize>,
    pub range: Range<usize>,
    /// Stored row ranges, in order; `None`: all rows.
    rows: Option<Vec<Range<usize>>>,
}

/// Where each coded tensor lies in the section.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    entries: HashMap<String, Record>,
}

fn malformed(reason: String) -> Error {
    Error::Malformed {
        kind: FileKind::ModelBundle,
        reason,
    }
}

impl Directory {
    /// Parses the directory of a bundle of format `version` and checks that
    /// its records exactly fill `section_len` bytes.
    pub fn parse(json: &str, section_len: usize, version: u32) -> Result<Self> {
        let list: Vec<Entry> = serde_json::from_str(json)
            .map_err(|e| malformed(format!("coded-tensor directory: {e}")))?;
        let mut entries = HashMap::new();
        let mut at = 0usize;
        for e in list {
            let end = at
                .checked_add(e.bytes)
                .filter(|&end| end <= section_len)
                .ok_or_else(|| {
                    malformed(format!("coded tensor `{}` runs past the file", e.name))
                })?;
            if e.rows.is_some() && version < ROWS_SINCE {
                return Err(malformed(format!(
                    "coded tensor `{}` leaves rows out, which format version {version} cannot",
                    e.name
                )));
            }
            let record = Record {
                dims: e.dims,
                range: at..end,
                rows: e.rows.map(|r| r.into_iter().map(|[a, b]| a..b).collect()),
            };
            if entries.insert(e.name.clone(), record).is_some() {
                return Err(malformed(format!(
                    "coded tensor `{}` appears twice",
                    e.name
                )));
            }
            at = end;
        }
        if at != section_len {
            return Err(malformed(format!(
                "{} bytes after the coded tensors",
                section_len - at
            )));
        }
        Ok(Self { entries })
    }

    /// The record of tensor `name`, if it is coded.
    pub fn get(&self, name: &str) -> Option<&Record> {
        self.entries.get(name)
    }

    /// Names the directory lists.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

/// The ranges of rows (`row_bytes` each) with a nonzero byte; `None` when that is all of them.
fn stored_rows(data: &[u8], row_bytes: usize) -> Option<Vec<[usize; 2]>> {
    let mut ranges: Vec<[usize; 2]> = Vec::new();
    for (r, row) in data.chunks_exact(row_bytes).enumerate() {
        if row.iter().all(|&b| b == 0) {
            continue;
        }
        match ranges.last_mut() {
            Some(last) if last[1] == r => last[1] = r + 1,
            _ => ranges.push([r, r + 1]),
        }
    }
    let all = data.len() / row_bytes;
    (ranges != [[0, all]]).then_some(ranges)
}

/// Codes `tensors` (all `Q8_0`) for format `version`: the directory JSON and
/// the section bytes. Zero rows are left out from [`ROWS_SINCE`] on.
pub(crate) fn write(tensors: &[(&str, &QTensor)], version: u32) -> Result<(String, Vec<u8>)> {
    let mut list = Vec::with_capacity(tensors.len());
    let mut section = Vec::new();
    for (name, tensor) in tensors {
        if tensor.dtype() != GgmlDType::Q8_0 {
            return Err(Error::TensorType {
                name: name.to_string(),
                dtype: format!("{:?} (only Q8_0 is coded)", tensor.dtype()),
            });
        }
        let dims = tensor.shape().dims().to_vec();
        let data = tensor.data()?;
        let cols = dims.last().copied().unwrap_or(0);
        let row_bytes = cols / BLOCK * BLOCK_BYTES;
        let rows = if row_bytes == 0 || version < ROWS_SINCE {
            None
        } else {
            stored_rows(&data, row_bytes)
        };
        let kept: Vec<&[u8]> = match &rows {
            None => vec![&data[..]],
            Some(ranges) => ranges
                .iter()
                .map(|[a, b]| &data[a * row_bytes..b * row_bytes])
                .collect(),
        };
        let start = section.len();
        let mut integers = Vec::with_capacity(data.len());
        for block in kept.iter().flat_map(|part| part.chunks_exact(BLOCK_BYTES)) {
            section.extend_from_slice(&block[..2]);
            integers.extend_from_slice(&block[2..]);
        }
        section.extend(entropy::encode(&integers));
        list.push(Entry {
            name: name.to_string(),
            dims,
            bytes: section.len() - start,
            rows,
        });
    }
    let json = serde_json::to_string(&list)
        .map_err(|e| Error::Container(format!("coded-tensor directory: {e}")))?;
    Ok((json, section))
}

/// Decodes one record (as the directory lists it, its bytes `record`) back to a `Q8_0` tensor.
pub(crate) fn read(name: &str, entry: &Record, record: &[u8]) -> Result<QTensor> {
    let dims = &entry.dims;
    let bad_dims = || malformed(format!("coded tensor `{name}` has dims {dims:?}"));
    let (&cols, outer) = dims.split_last().ok_or_else(bad_dims)?;
    let rows = outer
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|_| cols.is_multiple_of(BLOCK) && cols > 0)
        .ok_or_else(bad_dims)?;
    let row_blocks = cols / BLOCK;
    let bytes = rows
        .checked_mul(row_blocks)
        .and_then(|b| b.checked_mul(BLOCK_BYTES))
        .ok_or_else(bad_dims)?;
    // The stored rows: ranges in order, not empty, not touching, within the tensor.
    let ranges = match &entry.rows {
        None => {
            let all = 0..rows;
            vec![all]
        }
        Some(ranges) => {
            let mut end = 0;
            for (i, r) in ranges.iter().enumerate() {
                if r.start >= r.end || r.end > rows || (i > 0 && r.start <= end) {
                    return Err(malformed(format!(
                        "coded tensor `{name}` lists rows {r:?} out of order or out of its {rows}"
                    )));
                }
                end = r.end;
            }
            ranges.clone()
        }
    };
    let stored: usize = ranges.iter().map(|r| r.len()).sum();
    let blocks = stored * row_blocks;
    if record.len() < 2 * blocks {
        return Err(malformed(format!("coded tensor `{name}` is cut short")));
    }
    let (scales, stream) = record.split_at(2 * blocks);
    let integers = entropy::decode(stream, blocks * BLOCK)
        .map_err(|e| malformed(format!("coded tensor `{name}`: {e}")))?;
    // Rows not stored stay zero: scale 0, integers 0.
    let mut q8_0 = vec![0u8; bytes];
    let mut pairs = scales.chunks_exact(2).zip(integers.chunks_exact(BLOCK));
    for range in ranges {
        let span = range.start * row_blocks * BLOCK_BYTES..range.end * row_blocks * BLOCK_BYTES;
        for (block, (scale, ints)) in q8_0[span].chunks_exact_mut(BLOCK_BYTES).zip(&mut pairs) {
            block[..2].copy_from_slice(scale);
            block[2..].copy_from_slice(ints);
        }
    }
    Ok(qtensor_from_ggml(
        GgmlDType::Q8_0,
        &q8_0,
        dims.to_vec(),
        &Device::Cpu,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Tensor;

    fn q8(rows: usize, cols: usize, seed: f32) -> QTensor {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| ((i as f32 * 0.37 + seed).sin() * 3.0).round())
            .collect();
        let t = Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap();
        QTensor::quantize(&t, GgmlDType::Q8_0).unwrap()
    }

    /// `rows × cols` with the rows `zero` picks all zero.
    fn with_zero_rows(rows: usize, cols: usize, zero: impl Fn(usize) -> bool) -> QTensor {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| {
                if zero(i / cols) {
                    0.0
                } else {
                    (i as f32 * 0.61).cos() * 2.0
                }
            })
            .collect();
        let t = Tensor::from_vec(v, (rows, cols), &Device::Cpu).unwrap();
        QTensor::quantize(&t, GgmlDType::Q8_0).unwrap()
    }

    fn round_trip(tensors: &[(&str, &QTensor)]) -> (String, Vec<u8>) {
        let (json, section) = write(tensors, ROWS_SINCE).unwrap();
        let dir = Directory::parse(&json, section.len(), ROWS_SINCE).unwrap();
        for (name, t) in tensors {
            let record = dir.get(name).unwrap();
            let back = read(name, record, &section[record.range.clone()]).unwrap();
            assert_eq!(back.data().unwrap(), t.data().unwrap(), "{name}");
            assert_eq!(back.shape().dims(), t.shape().dims());
        }
        (json, section)
    }

    #[test]
    fn tensors_round_trip_exactly() {
        let (a, b) = (q8(4, 64, 0.1), q8(3, 32, 2.0));
        let (json, _) = round_trip(&[("a", &a), ("b", &b)]);
        assert!(!json.contains("rows"), "no zero rows, no row list: {json}");
    }

    #[test]
    fn zero_rows_are_left_out_and_come_back() {
        let sparse = with_zero_rows(40, 64, |r| r < 3 || (10..25).contains(&r) || r == 39);
        let zero = with_zero_rows(5, 32, |_| true);
        let whole = with_zero_rows(6, 32, |_| false);
        let (json, section) =
            round_trip(&[("sparse", &sparse), ("zero", &zero), ("whole", &whole)]);
        assert!(json.contains(r#""rows":[[3,10],[25,39]]"#), "{json}");
        assert!(json.contains(r#""rows":[]"#), "{json}");
        // The record costs what the 21 stored rows cost as a tensor of their own.
        let dir = Directory::parse(&json, section.len(), ROWS_SINCE).unwrap();
        let data = sparse.data().unwrap();
        let row_bytes = 2 * BLOCK_BYTES;
        let kept: Vec<u8> = [3..10, 25..39]
            .into_iter()
            .flat_map(|r| data[r.start * row_bytes..r.end * row_bytes].to_vec())
            .collect();
        let kept = qtensor_from_ggml(GgmlDType::Q8_0, &kept, vec![21, 64], &Device::Cpu).unwrap();
        let (_, alone) = write(&[("kept", &kept)], ROWS_SINCE).unwrap();
        assert_eq!(dir.get("sparse").unwrap().range.len(), alone.len());
        // Older versions cannot leave rows out, nor are they written so.
        assert!(Directory::parse(&json, section.len(), ROWS_SINCE - 1).is_err());
        let (old, _) = write(&[("sparse", &sparse)], ROWS_SINCE - 1).unwrap();
        assert!(!old.contains("rows"), "{old}");
    }

    #[test]
    fn bad_row_lists_are_typed_errors() {
        let t = with_zero_rows(8, 32, |r| r == 2);
        let (json, section) = write(&[("t", &t)], ROWS_SINCE).unwrap();
        assert!(json.contains(r#""rows":[[0,2],[3,8]]"#), "{json}");
        for rows in [
            "[[0,2],[2,8]]",
            "[[3,8],[0,2]]",
            "[[0,9]]",
            "[[2,2]]",
            "[[5,3]]",
            "[[0,2],[1,8]]",
        ] {
            let forged = json.replace("[[0,2],[3,8]]", rows);
            let dir = Directory::parse(&forged, section.len(), ROWS_SINCE).unwrap();
            let record = dir.get("t").unwrap();
            assert!(
                matches!(
                    read("t", record, &section[record.range.clone()]),
                    Err(Error::Malformed { .. })
                ),
                "{rows}"
            );
        }
        // A row list whose rows are fewer than the stream holds: the stream does not end where it should.
        let forged = json.replace("[[0,2],[3,8]]", "[[0,2],[3,7]]");
        let dir = Directory::parse(&forged, section.len(), ROWS_SINCE).unwrap();
        let record = dir.get("t").unwrap();
        assert!(read("t", record, &section[record.range.clone()]).is_err());
    }

    #[test]
    fn bad_directories_and_records_are_typed_errors() {
        let a = q8(2, 32, 0.5);
        let (json, section) = write(&[("a", &a)], ROWS_SINCE).unwrap();
        let v = ROWS_SINCE;
        assert!(Directory::parse(&json, section.len() + 1, v).is_err());
        assert!(Directory::parse(&json, section.len() - 1, v).is_err());
        assert!(Directory::parse("{", section.len(), v).is_err());
        let twice = format!("[{0},{0}]", &json[1..json.len() - 1]);
        assert!(Directory::parse(&twice, 2 * section.len(), v).is_err());
        let record = |dims: Vec<usize>, len: usize| Record {
            dims,
            range: 0..len,
            rows: None,
        };
        assert!(read("a", &record(vec![2, 32], 3), &section[..3]).is_err());
        for dims in [
            vec![2, 31],
            vec![],
            vec![usize::MAX, 64],
            vec![4, 32],
            vec![2, 0],
        ] {
            assert!(
                read("a", &record(dims.clone(), section.len()), &section).is_err(),
                "{dims:?}"
            );
        }
        let f32 = QTensor::quantize(
            &Tensor::zeros((1, 32), candle_core::DType::F32, &Device::Cpu).unwrap(),
            GgmlDType::F32,
        )
        .unwrap();
        assert!(write(&[("f", &f32)], ROWS_SINCE).is_err());
    }
}
