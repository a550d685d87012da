//! What a ranking returns: ranked items with the reasons they are where they are.

use serde::{Deserialize, Serialize};

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Pulled this item up.
    Up,
    /// Pushed items like this one down.
    Down,
}

/// What kind of evidence a reason is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The user's own feedback (words or an item), by text similarity.
    #[default]
    Feedback,
    /// "People who liked X also liked this": the store's collaborative knowledge.
    Collaborative,
    /// Popularity (cold start).
    Popular,
    /// The scene's boosts.
    Scene,
    /// A concept the visitor rejected: its items are kept out of this list.
    KeptOut,
}

/// One reason a result is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// What kind of evidence.
    #[serde(default)]
    pub kind: ReasonKind,
    /// Up or down.
    pub effect: Effect,
    /// The evidence in words: the user's words, an item title, "people who liked X
    /// also liked this", "popular", "scene: NAME", or what a rejection keeps out.
    pub evidence: String,
    /// The item the evidence is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// How much it moved the score (signed).
    pub weight: f32,
}

/// One ranked item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// Item id.
    pub id: String,
    /// Item title.
    pub title: String,
    /// Final score (higher first).
    pub score: f32,
    /// Relevance to the profile in [0, 1] (0.5 = neutral).
    pub relevance: f32,
    /// Normalised popularity.
    pub popularity: f32,
    /// Why it is here.
    pub why: Vec<Reason>,
    /// Position in the index.
    #[serde(skip)]
    pub index: usize,
}
