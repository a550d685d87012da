//! `tokenizer.json` as a model bundle stores it: a word-piece vocabulary
//! apart, as one token per line in id order.
//!
//! In `tokenizer.json` the vocabulary is a map from token to id: 30,522
//! `"token": id` pairs for MiniLM, whose counting ids a gzip transfer codes
//! poorly (≈ 190 kB). As lines in id order the ids are implicit (≈ 110 kB).
//! [`split`] takes the map out, leaving an empty map in its place, and
//! re-serialises the rest (keys sorted: the same text for the same file);
//! [`join`] puts the map back. A vocabulary that
//! is not exactly the ids `0..n`, or has a token with a line break, stays in
//! the file.

use serde_json::{Map, Value};

use crate::util::error::{Error, FileKind, Result};

fn malformed(reason: String) -> Error {
    Error::Malformed {
        kind: FileKind::ModelBundle,
        reason,
    }
}

/// The word-piece vocabulary map of a parsed `tokenizer.json`, if it has one.
fn vocabulary(json: &mut Value) -> Option<&mut Map<String, Value>> {
    let model = json.get_mut("model")?;
    if model.get("type").and_then(Value::as_str) != Some("WordPiece") {
        return None;
    }
    model.get_mut("vocab")?.as_object_mut()
}

/// `tokenizer_json` without its vocabulary, and the vocabulary's lines;
/// `None` (and the file as it was) when the vocabulary cannot be stored apart.
pub(crate) fn split(tokenizer_json: &str) -> Result<(String, Option<String>)> {
    let unchanged = || Ok((tokenizer_json.to_string(), None));
    let mut json: Value = serde_json::from_str(tokenizer_json)
        .map_err(|e| Error::Tokenizer(format!("cannot parse tokenizer.json: {e}")))?;
    // An empty vocabulary would come back as one empty line: leave it in the file.
    let Some(vocab) = vocabulary(&mut json).filter(|v| !v.is_empty()) else {
        return unchanged();
    };
    let mut by_id: Vec<Option<&str>> = vec![None; vocab.len()];
    for (token, id) in vocab.iter() {
        let slot = id
            .as_u64()
            .and_then(|id| usize::try_from(id).ok())
            .and_then(|id| by_id.get_mut(id));
        match slot {
            Some(slot @ None) if !token.contains('\n') => *slot = Some(token),
            _ => return unchanged(),
        }
    }
    // Every slot is filled: n distinct ids below n.
    let lines: Vec<&str> = by_id.into_iter().flatten().collect();
    let lines = lines.join("\n");
    *vocab = Map::new();
    let rest = serde_json::to_string(&json)
        .map_err(|e| Error::Tokenizer(format!("cannot write tokenizer.json: {e}")))?;
    Ok((rest, Some(lines)))
}

/// Puts the vocabulary `lines` (one token per line, in id order) back into
/// `rest`, a `tokenizer.json` whose word-piece vocabulary is an empty map.
pub(crate) fn join(rest: &str, lines: &str) -> Result<String> {
    let mut json: Value =
        serde_json::from_str(rest).map_err(|e| malformed(format!("stored tokenizer: {e}")))?;
    let vocab = vocabulary(&mut json)
        .filter(|v| v.is_empty())
        .ok_or_else(|| malformed("stored tokenizer has no empty word-piece vocabulary".into()))?;
    for (id, token) in lines.split('\n').enumerate() {
        if vocab.insert(token.to_string(), Value::from(id)).is_some() {
            return Err(malformed(format!(
                "stored vocabulary lists `{token}` twice"
            )));
        }
    }
    serde_json::to_string(&json).map_err(|e| malformed(format!("stored tokenizer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tiny_tokenizer_json;

    fn vocab_of(json: &str) -> Map<String, Value> {
        let mut v: Value = serde_json::from_str(json).unwrap();
        vocabulary(&mut v).unwrap().clone()
    }

    #[test]
    fn the_vocabulary_comes_back_whole() {
        let json = tiny_tokenizer_json();
        let (rest, lines) = split(&json).unwrap();
        let lines = lines.expect("a 0..n word-piece vocabulary is stored apart");
        assert!(
            rest.len() + lines.len() < json.len(),
            "{} + {} of {}",
            rest.len(),
            lines.len(),
            json.len()
        );
        assert_eq!(lines.lines().next(), Some("[PAD]"));
        let back = join(&rest, &lines).unwrap();
        assert_eq!(vocab_of(&back), vocab_of(&json));
        let (mut a, mut b): (Value, Value) = (
            serde_json::from_str(&back).unwrap(),
            serde_json::from_str(&json).unwrap(),
        );
        *vocabulary(&mut a).unwrap() = Map::new();
        *vocabulary(&mut b).unwrap() = Map::new();
        assert_eq!(a, b, "everything else unchanged");
        // Splitting again gives the same bytes (bundles rewrite identically).
        assert_eq!(split(&back).unwrap(), (rest, Some(lines)));
    }

    #[test]
    fn vocabularies_that_cannot_be_lines_stay_in_the_file() {
        let mut json: Value = serde_json::from_str(&tiny_tokenizer_json()).unwrap();
        let vocab = vocabulary(&mut json).unwrap();
        let n = vocab.len();
        for edit in [
            ("gap", Value::from(n + 5)), // ids not 0..n
            ("dup", Value::from(3)),     // an id twice
            ("neg", Value::from(-1)),    // not an id
            ("line\nbreak", Value::from(n)),
        ] {
            let mut j = json.clone();
            vocabulary(&mut j).unwrap().insert(edit.0.into(), edit.1);
            let text = j.to_string();
            assert_eq!(split(&text).unwrap(), (text.clone(), None), "{}", edit.0);
        }
        let mut empty = json.clone();
        *vocabulary(&mut empty).unwrap() = Map::new();
        assert!(
            split(&empty.to_string()).unwrap().1.is_none(),
            "an empty vocabulary"
        );
        let mut other = json.clone();
        other["model"]["type"] = "BPE".into();
        assert!(split(&other.to_string()).unwrap().1.is_none());
        assert!(matches!(split("{"), Err(Error::Tokenizer(_))));
    }

    #[test]
    fn bad_stored_forms_are_typed_errors() {
        let (rest, lines) = split(&tiny_tokenizer_json()).unwrap();
        let lines = lines.unwrap();
        let twice = format!("{lines}\n[PAD]");
        for (rest, lines) in [
            (rest.as_str(), twice.as_str()),
            ("{", lines.as_str()),
            (&tiny_tokenizer_json(), lines.as_str()), // the vocabulary is still there
            (r#"{"model": {"type": "BPE", "vocab": {}}}"#, lines.as_str()),
        ] {
            assert!(
                matches!(join(rest, lines), Err(Error::Malformed { .. })),
                "{}",
                &rest[..rest.len().min(40)]
            );
        }
    }
}
