//! Order-0 entropy coding of byte streams (rANS): how a bundle stores its
//! int8 weights close to their entropy.
//!
//! A calibrated bundle's integers are small (≈ 4.8 bits of entropy per word-table
//! value, ≈ 6.4 per linear weight) but a gzip transfer codes them well above
//! that: deflate's LZ77 stage finds short chance matches in them that cost
//! more than the literals they replace (word table at one setting: 6.75 MB
//! gzipped against 5.93 MB of entropy). One static frequency table per
//! stream and a range-asymmetric-numeral-system coder (Duda, 2013; the
//! 32-bit state, 16-bit renormalisation variant) reach the entropy within a
//! fraction of a percent.
//!
//! Stream layout: 256 little-endian `u16` symbol frequencies summing to
//! 2^[`PROB_BITS`], the four final 32-bit coder states (symbol i is coded by
//! state i mod 4, which lets a decoder overlap four steps), then the
//! renormalisation words (little-endian `u16`) in the order the decoder reads
//! them. Decoding checks that it ends in the coders' initial states having
//! read every word, so a damaged stream is an error rather than wrong weights
//! — except a stream of one repeated symbol, which has no state to damage and
//! decodes at any length: the count comes from the tensor's validated shape.

use crate::util::error::{Error, FileKind, Result};

/// Frequencies are scaled to sum to 2^PROB_BITS.
const PROB_BITS: u32 = 15;
const PROB_SCALE: u32 = 1 << PROB_BITS;
/// Lower bound of the coder state; it lives in `[LOW, 2^32)` and is
/// renormalised 16 bits at a time, so a step reads at most one word.
const LOW: u32 = 1 << 16;
/// Bytes of the frequency table.
const TABLE_BYTES: usize = 256 * 2;
/// Coder states interleaved in one stream (symbol i uses state i % LANES), so
/// that decoding is not one long chain of dependent steps.
const LANES: usize = 4;
/// Bytes before the renormalisation words: table and states.
const HEADER_BYTES: usize = TABLE_BYTES + 4 * LANES;

/// Codes `symbols`; [`decode`] with the same count gives them back.
pub(crate) fn encode(symbols: &[u8]) -> Vec<u8> {
    let freqs = normalised_frequencies(symbols);
    let mut cumulative = [0u32; 256];
    let mut sum = 0;
    for (c, f) in cumulative.iter_mut().zip(freqs) {
        *c = sum;
        sum += f;
    }
    // Symbol i belongs to state i % LANES; coding runs backwards so that
    // decoding runs forwards, all lanes sharing one byte stream.
    let mut states = [LOW; LANES];
    let mut reversed: Vec<u16> = Vec::with_capacity(symbols.len() / 4);
    for (i, &s) in symbols.iter().enumerate().rev() {
        let state = &mut states[i % LANES];
        let f = freqs[usize::from(s)];
        // Renormalise so that the state after coding stays below 2^32.
        let limit = (u64::from(LOW >> PROB_BITS) << 16) * u64::from(f);
        if u64::from(*state) >= limit {
            reversed.push(*state as u16);
            *state >>= 16;
        }
        *state = ((*state / f) << PROB_BITS) + *state % f + cumulative[usize::from(s)];
    }
    let mut out = Vec::with_capacity(HEADER_BYTES + 2 * reversed.len());
    for f in freqs {
        // A lone symbol has the whole scale, 2^15, which fits a u16.
        out.extend_from_slice(&(f as u16).to_le_bytes());
    }
    for state in states {
        out.extend_from_slice(&state.to_le_bytes());
    }
    for word in reversed.iter().rev() {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out
}

/// Decodes `count` symbols from `coded`, which must be exactly one stream.
pub(crate) fn decode(coded: &[u8], count: usize) -> Result<Vec<u8>> {
    let corrupt = |reason: &str| Error::Malformed {
        kind: FileKind::ModelBundle,
        reason: format!("entropy-coded weights: {reason}"),
    };
    if coded.len() < HEADER_BYTES {
        return Err(corrupt("shorter than its header"));
    }
    let mut freqs = [0u32; 256];
    for (f, b) in freqs.iter_mut().zip(coded[..TABLE_BYTES].chunks_exact(2)) {
        *f = u32::from(u16::from_le_bytes([b[0], b[1]]));
    }
    if freqs.iter().sum::<u32>() != PROB_SCALE {
        return Err(corrupt("frequencies do not add up"));
    }
    // Per slot: the symbol, and its frequency and offset within it in one
    // word, so that a step needs two independent loads.
    let mut symbol_of = vec![0u8; PROB_SCALE as usize];
    let mut step_of = vec![0u32; PROB_SCALE as usize];
    let mut start = 0u32;
    for (s, &f) in freqs.iter().enumerate() {
        for slot in start..start + f {
            symbol_of[slot as usize] = s as u8;
            step_of[slot as usize] = (f << 16) | (slot - start);
        }
        start += f;
    }
    let mut states = [0u32; LANES];
    for (lane, state) in states.iter_mut().enumerate() {
        let at = TABLE_BYTES + 4 * lane;
        *state = u32::from_le_bytes([coded[at], coded[at + 1], coded[at + 2], coded[at + 3]]);
        if *state < LOW {
            return Err(corrupt("bad coder state"));
        }
    }
    let bytes = &coded[HEADER_BYTES..];
    if !bytes.len().is_multiple_of(2) {
        return Err(corrupt("odd length"));
    }
    let words = bytes.len() / 2;
    let mut at = 0usize;
    let mut out = vec![0u8; count];
    for chunk in out.chunks_mut(LANES) {
        for (symbol, state) in chunk.iter_mut().zip(states.iter_mut()) {
            let slot = (*state & (PROB_SCALE - 1)) as usize;
            let step = step_of[slot];
            *symbol = symbol_of[slot];
            // freq ≤ 2^15 and state >> 15 < 2^17: the result stays below 2^32.
            *state = (step >> 16) * (*state >> PROB_BITS) + (step & 0xffff);
            // Branch-free refill: read the next word (0 past the end, which
            // the final check catches) and keep it only when needed.
            let need = *state < LOW;
            let word = match bytes.get(2 * at..2 * at + 2) {
                Some(w) => u32::from(u16::from_le_bytes([w[0], w[1]])),
                None => 0,
            };
            *state = if need { (*state << 16) | word } else { *state };
            at += usize::from(need);
        }
    }
    if states.iter().any(|&s| s != LOW) || at != words {
        return Err(corrupt("does not end where it should"));
    }
    Ok(out)
}

/// Symbol counts scaled to sum to 2^PROB_BITS, every present symbol at least 1.
fn normalised_frequencies(symbols: &[u8]) -> [u32; 256] {
    let mut counts = [0u64; 256];
    for &s in symbols {
        counts[usize::from(s)] += 1;
    }
    let total: u64 = counts.iter().sum();
    let mut freqs = [0u32; 256];
    if total == 0 {
        freqs[0] = PROB_SCALE; // an empty stream: any valid table
        return freqs;
    }
    for (f, &c) in freqs.iter_mut().zip(&counts) {
        if c > 0 {
            let scaled = (c * u64::from(PROB_SCALE) + total / 2) / total;
            *f = scaled.max(1) as u32;
        }
    }
    // Rounding leaves the sum off by at most one per symbol: settle it on the
    // symbols that can best afford it.
    let mut sum: u32 = freqs.iter().sum();
    while sum != PROB_SCALE {
        let largest = (0..256).max_by_key(|&i| freqs[i]).unwrap_or(0);
        if sum > PROB_SCALE {
            let over = (sum - PROB_SCALE).min(freqs[largest] - 1).max(1);
            freqs[largest] -= over;
            sum -= over;
        } else {
            freqs[largest] += PROB_SCALE - sum;
            sum = PROB_SCALE;
        }
    }
    freqs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn peaked(n: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let u = (s >> 8) & 0xffff;
                // roughly Laplacian small integers as two's-complement bytes
                let mag = (u.leading_zeros() - 16) as i8;
                (if s & 1 == 0 { mag } else { -mag }) as u8
            })
            .collect()
    }

    #[test]
    fn round_trips_and_reaches_the_entropy() {
        let symbols = peaked(2_000_000, 7);
        let coded = encode(&symbols);
        assert_eq!(decode(&coded, symbols.len()).unwrap(), symbols);
        let mut counts = [0f64; 256];
        for &s in &symbols {
            counts[usize::from(s)] += 1.0;
        }
        let n = symbols.len() as f64;
        let entropy_bytes: f64 = counts
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| -c * (c / n).log2())
            .sum::<f64>()
            / 8.0;
        let body = (coded.len() - HEADER_BYTES) as f64;
        let started = std::time::Instant::now();
        let back = decode(&coded, symbols.len()).unwrap();
        println!(
            "{} symbols: {body} bytes, entropy {entropy_bytes:.0}, decoded in {:?}",
            symbols.len(),
            started.elapsed()
        );
        assert_eq!(back, symbols);
        assert!(
            body < entropy_bytes * 1.01 + 8.0,
            "{body} bytes vs entropy {entropy_bytes}"
        );
    }

    #[test]
    fn edge_streams_round_trip() {
        for symbols in [
            vec![],
            vec![0u8],
            vec![255u8; 1000],
            (0..=255).collect::<Vec<u8>>(),
        ] {
            let coded = encode(&symbols);
            assert_eq!(decode(&coded, symbols.len()).unwrap(), symbols);
        }
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let symbols = peaked(5_000, 3);
        let coded = encode(&symbols);
        assert!(decode(&coded[..HEADER_BYTES - 1], 0).is_err());
        assert!(decode(&coded[..coded.len() - 1], symbols.len()).is_err());
        assert!(decode(&coded, symbols.len() + 1).is_err());
        let mut table = coded.clone();
        table[0] ^= 1;
        assert!(decode(&table, symbols.len()).is_err());
        let mut extra = coded.clone();
        extra.push(0);
        assert!(decode(&extra, symbols.len()).is_err());
        let mut words = coded.clone();
        words.extend([0, 0]);
        assert!(decode(&words, symbols.len()).is_err(), "a word too many");
        for at in [TABLE_BYTES, TABLE_BYTES + 5, TABLE_BYTES + 15] {
            let mut state = coded.clone();
            state[at] ^= 0x80;
            assert!(decode(&state, symbols.len()).is_err(), "state byte {at}");
        }
    }

    proptest! {
        #[test]
        fn any_stream_round_trips(symbols in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let coded = encode(&symbols);
            prop_assert_eq!(decode(&coded, symbols.len()).unwrap(), symbols);
        }

        #[test]
        fn flipped_bytes_never_panic(at in 0usize..usize::MAX, bit in 0u8..8) {
            let symbols = peaked(3_000, 11);
            let mut coded = encode(&symbols);
            let at = at % coded.len();
            coded[at] ^= 1 << bit;
            // Either an error or (rarely) other symbols of the right count.
            if let Ok(out) = decode(&coded, symbols.len()) {
                prop_assert_eq!(out.len(), symbols.len());
            }
        }
    }
}
