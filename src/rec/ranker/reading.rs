//! Reading a profile for one ranking: which directions pull and push, which
//! rejections are in force and what they keep out of the catalogue, and how
//! much the visitor's wishes lift each item.

use crate::rec::concept::ConceptMatch;
use crate::rec::profile::{Directions, IntentProfile, Rejection, Signal, SignalSource};

use super::*;

impl<'a> Ranker<'a> {
    /// The profile's directions with the rejections in force matched to the
    /// catalogue ([`ConceptMatch`]). The newer word wins: a like older than a
    /// rejection that covers its item no longer pulls, and a rejection older
    /// than a wish in words naming one of its facets is lifted. Also the lift
    /// of each item from the facets the visitor's wishes name ([`WISH_FACET_LIFT`]).
    pub fn read_profile(
        &self,
        profile: &IntentProfile,
        now: i64,
    ) -> (Directions, Vec<(ConceptMatch, Rejection)>, Vec<f32>) {
        let find = |v: &[f32]| ConceptMatch::find(self.index, self.kernel, v, self.facet_names);
        // The newest wishes in words, matched once: they lift their facets and
        // lift older rejections of the same facets.
        let wishes: Vec<(usize, ConceptMatch)> = profile
            .signals()
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, s)| s.weight > 0.0 && matches!(s.source, SignalSource::Said(_)))
            .take(LIFTING_WISHES)
            .map(|(at, s)| (at, find(&s.vector())))
            .collect();
        let directions = profile.directions(now);
        let newest = directions
            .rejections
            .len()
            .saturating_sub(KEPT_OUT_REJECTIONS);
        type Matched = Vec<(ConceptMatch, Rejection)>;
        let (kept_out, asked_again): (Matched, Matched) = directions.rejections[newest..]
            .iter()
            .map(|r| (find(&r.vector), r.clone()))
            .partition(|(m, r)| {
                !wishes.iter().any(|(at, w)| {
                    *at > r.at
                        && !m.facets.is_empty()
                        && w.facets.iter().any(|f| m.facets.contains(f))
                })
            });
        let lifted = |at: usize| asked_again.iter().any(|(_, r)| r.at == at);
        let covered = |at: usize, s: &Signal| {
            s.weight > 0.0
                && s.source
                    .item()
                    .and_then(|id| self.index.position(id))
                    .is_some_and(|p| {
                        kept_out
                            .iter()
                            .any(|(m, r)| at < r.at && m.items.get(p).copied().unwrap_or(false))
                    })
        };
        let directions = if kept_out.is_empty() && asked_again.is_empty() {
            directions
        } else {
            profile.directions_where(now, |at, s| !covered(at, s) && !lifted(at))
        };
        let mut lift = vec![0f32; self.index.len()];
        for (_, matched) in &wishes {
            for ((l, &m), &hits) in lift
                .iter_mut()
                .zip(&matched.in_facets)
                .zip(&matched.facet_hits)
            {
                if m {
                    // Its best facet, and one more it names ("short" and "funny").
                    *l = l.max(WISH_FACET_LIFT * f32::from(hits.min(2)));
                }
            }
        }
        (directions, kept_out, lift)
    }
}
