//! What crosses to JS: result cards, item fields and the privacy panel's view
//! of the profile, serialised with serde-wasm-bindgen.

/// A result as JS sees it: the ranking fields plus what a card shows.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Card<'a> {
    #[serde(flatten)]
    pub(super) recommendation: &'a crate::Recommendation,
    #[serde(flatten)]
    pub(super) item: Option<ItemView>,
}

/// An item's display fields.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ItemView {
    pub(super) snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) category: Option<String>,
    pub(super) tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) price: Option<f32>,
    pub(super) attributes: std::collections::BTreeMap<String, crate::AttributeValue>,
}

impl From<crate::rec::index::IndexedItem> for ItemView {
    fn from(i: crate::rec::index::IndexedItem) -> Self {
        Self {
            snippet: i.snippet,
            url: i.url,
            category: i.category,
            tags: i.tags,
            price: i.price,
            attributes: i.attributes,
        }
    }
}

/// One stored signal, for the privacy panel.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SignalView {
    pub(super) ts: i64,
    pub(super) weight: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) item: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) title: Option<String>,
    /// The concept a rejection keeps out ("horror").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) rejects: Option<String>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProfileView {
    pub(super) signals: Vec<SignalView>,
    pub(super) not_interested: Vec<String>,
    pub(super) seen: Vec<String>,
    pub(super) bytes: usize,
}
