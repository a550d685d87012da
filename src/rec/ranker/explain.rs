//! Why each result is where it is: the feedback that pulled it up most, the
//! rejection that pushed its neighbours down, "people who liked X also liked
//! this", popularity and the scene.

use crate::rec::profile::{IntentProfile, SignalSource};

use super::*;

impl<'a> Ranker<'a> {
    /// What `explain` needs of each signal, prepared once per ranking.
    pub(super) fn weighed_signals<'p>(
        &self,
        profile: &'p IntentProfile,
        now: i64,
    ) -> Vec<(f32, Query, &'p SignalSource)> {
        let hl = profile.settings().half_life_days;
        profile
            .signals()
            .iter()
            .map(|s| (s.decayed(now, hl), self.index.query(&s.vector()), &s.source))
            .filter(|(w, _, _)| *w != 0.0)
            .collect()
    }

    /// The words or item title a signal shows in an explanation.
    pub(super) fn describe(&self, source: &SignalSource) -> (String, Option<String>) {
        match source {
            SignalSource::Said(t) => (t.clone(), None),
            SignalSource::Rejected { said, .. } => (said.clone(), None),
            SignalSource::Review { item, text } => (text.clone(), Some(item.clone())),
            SignalSource::Item(id) => {
                let title = self
                    .index
                    .position(id)
                    .map(|p| self.index.title(p))
                    .filter(|t| !t.is_empty());
                (
                    title.map_or_else(|| id.clone(), str::to_string),
                    Some(id.clone()),
                )
            }
        }
    }

    pub(super) fn explain(
        &self,
        i: usize,
        signals: &[(f32, Query, &SignalSource)],
        directions: &Directions,
        user: Option<&UserFactors>,
        options: &RankOptions,
    ) -> Vec<Reason> {
        let m = self.index.matrix();
        let mut ups: Vec<(f32, &SignalSource)> = Vec::new();
        let mut down: Option<(f32, &SignalSource)> = None;
        for &(w, ref q, source) in signals {
            let cos = m.score(self.kernel, i, q);
            if w > 0.0 && cos > 0.0 {
                ups.push((w * cos, source));
            } else if w < 0.0 && cos > options.negative_margin {
                let push = -w * (cos - options.negative_margin);
                if down.is_none_or(|(p, _)| push > p) {
                    down = Some((push, source));
                }
            }
        }
        ups.sort_by(|a, b| b.0.total_cmp(&a.0));
        let reason = |effect: Effect, weight: f32, source: &SignalSource| {
            let (evidence, item) = self.describe(source);
            Reason {
                kind: ReasonKind::Feedback,
                effect,
                evidence,
                item,
                weight,
            }
        };
        let mut why: Vec<Reason> = ups
            .into_iter()
            .take(2)
            .map(|(w, src)| reason(Effect::Up, w, src))
            .collect();
        if let Some(r) = self.index.collab().zip(user).and_then(|(model, u)| {
            let blend = options.blend.unwrap_or(model.blend());
            self.people_also_liked(model, u, blend, i)
        }) {
            why.push(r);
        }
        why.extend(down.map(|(p, src)| reason(Effect::Down, -p, src)));
        if directions.interests.is_empty() {
            why.push(Reason {
                kind: ReasonKind::Popular,
                effect: Effect::Up,
                evidence: "popular".into(),
                item: None,
                weight: self.popularity[i],
            });
        }
        if let Some(scene) = &options.scene {
            let f = scene.factor(self.index, i);
            if f != 1.0 {
                why.push(Reason {
                    kind: ReasonKind::Scene,
                    effect: if f > 1.0 { Effect::Up } else { Effect::Down },
                    evidence: format!("scene: {}", scene.name),
                    item: None,
                    weight: f.ln(),
                });
            }
        }
        why
    }

    /// "People who liked X also liked this": the visitor's item with the largest
    /// share in item `i`'s collaborative score, when that share is positive.
    pub(super) fn people_also_liked(
        &self,
        model: &CollabModel,
        user: &UserFactors,
        blend: Blend,
        i: usize,
    ) -> Option<Reason> {
        let (j, share) = user.strongest_share(model, i)?;
        if share <= 0.0 || blend.collaborative <= 0.0 {
            return None;
        }
        let id = self.index.id(j);
        let title = Some(self.index.title(j))
            .filter(|t| !t.is_empty())
            .unwrap_or(id);
        Some(Reason {
            kind: ReasonKind::Collaborative,
            effect: Effect::Up,
            evidence: format!("people who liked {title} also liked this"),
            item: Some(id.to_string()),
            weight: share,
        })
    }
}
