//! `--scene`: the demo shop's scenes by name, or a scene as JSON.

use std::path::Path;

use localrec::{Boost, BoostTarget, NumericRange, Scene};

use super::RecommendError;

/// A scene by name (the demo shop's), inline JSON, or a JSON file.
pub(super) fn parse_scene(text: &str) -> Result<Scene, RecommendError> {
    let bad = |reason: String| RecommendError::Scene {
        scene: text.to_string(),
        reason,
    };
    let json = if text.trim_start().starts_with('{') {
        Some(text.to_string())
    } else if text.ends_with(".json") || Path::new(text).is_file() {
        Some(std::fs::read_to_string(text).map_err(|e| bad(format!("cannot read {text}: {e}")))?)
    } else {
        None
    };
    if let Some(json) = json {
        return serde_json::from_str(&json).map_err(|e| bad(e.to_string()));
    }
    preset_scene(&text.to_ascii_lowercase()).ok_or_else(|| {
        bad(format!(
            "not a scene name ({}) nor JSON like {{\"name\": \"rainy day\", \"boosts\": [{{\"target\": {{\"tag\": \"Drama\"}}, \"factor\": 1.5}}]}}",
            PRESET_SCENES.join(", ")
        ))
    })
}

/// The demo shop's scenes (www/shop.js), by the names its menu uses.
const PRESET_SCENES: [&str; 4] = ["date", "family", "late", "recent"];

pub(super) fn preset_scene(name: &str) -> Option<Scene> {
    let tag = |t: &str, factor: f32| Boost {
        target: BoostTarget::Tag(t.into()),
        factor,
    };
    let (name, boosts) = match name {
        "date" => (
            "date night",
            vec![tag("Romance", 1.6), tag("Comedy", 1.2), tag("Horror", 0.5)],
        ),
        "family" => (
            "family movie night",
            vec![
                tag("Family", 2.0),
                tag("Animated", 1.8),
                tag("Horror", 0.3),
                tag("Thriller", 0.6),
            ],
        ),
        "late" => (
            "late-night thrills",
            vec![tag("Thriller", 1.6), tag("Horror", 1.5), tag("Family", 0.4)],
        ),
        "recent" => (
            "something recent",
            vec![Boost {
                target: BoostTarget::Attribute {
                    key: "year".into(),
                    range: Some(NumericRange {
                        min: Some(2015.0),
                        max: None,
                    }),
                    equals: None,
                },
                factor: 1.8,
            }],
        ),
        _ => return None,
    };
    Some(Scene {
        name: name.into(),
        boosts,
    })
}
