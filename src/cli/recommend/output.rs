//! The human output: a heading, what the list keeps out, one line per item
//! with its reasons in words below, and the timings.

use localrec::{Effect, Error, Reason, ReasonKind, Recommendation, Recommender};

use super::visit::Visit;
use super::{Timings, REASON_CHARS, TITLE_CHARS};
use crate::cli::CliError;

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
pub(super) fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            context: "cannot write to stdout".into(),
            source: e,
        }
        .into()),
        _ => Ok(()),
    }
}

/// `text` cut to `n` characters, with an ellipsis when cut.
pub(super) fn cut(text: &str, n: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(n).collect();
    if chars.next().is_some() {
        format!("{}…", head.trim_end())
    } else {
        head
    }
}

/// One reason in words, as the demo shop says it.
pub(super) fn explain(rec: &Recommender, reason: &Reason) -> String {
    let said = cut(&reason.evidence, REASON_CHARS);
    let title = reason
        .item
        .as_deref()
        .and_then(|id| rec.index().position(id))
        .map(|p| rec.index().title(p));
    let words = match (reason.kind, reason.effect) {
        (ReasonKind::Feedback, Effect::Up) => match title {
            Some(t) if t == reason.evidence || t.is_empty() => {
                format!("because you liked \u{201c}{said}\u{201d}")
            }
            Some(t) => format!(
                "because you said \u{201c}{said}\u{201d} about \u{201c}{}\u{201d}",
                cut(t, TITLE_CHARS)
            ),
            None => format!("because you said \u{201c}{said}\u{201d}"),
        },
        (ReasonKind::Feedback, Effect::Down) => match title {
            Some(t) if !t.is_empty() => format!(
                "ranked lower: like \u{201c}{}\u{201d}, which you turned down",
                cut(t, TITLE_CHARS)
            ),
            _ => format!("ranked lower: near what you turned down, \u{201c}{said}\u{201d}"),
        },
        _ => said,
    };
    let sign = match reason.effect {
        Effect::Up => '+',
        Effect::Down => '-',
    };
    if reason.kind == ReasonKind::KeptOut {
        format!("{sign} {words}")
    } else if reason.kind == ReasonKind::Scene {
        // The weight is the log of the scene's factor.
        format!("{sign} {words}  (\u{d7}{:.2})", reason.weight.exp())
    } else {
        format!("{sign} {words}  ({:+.3})", reason.weight)
    }
}

/// The human output: a heading, what the list keeps out, one line per item
/// with its reasons below, and the timings.
pub(super) fn human(
    rec: &Recommender,
    visit: &Visit,
    results: &[Recommendation],
    timings: &Timings,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let n = results.len();
    let _ = match &visit.user {
        None if n == 1 => writeln!(out, "cold start (no feedback): the most popular item"),
        None => writeln!(out, "cold start (no feedback): the {n} most popular items"),
        Some(user) => writeln!(
            out,
            "top {n} for `{user}` after {} event{}",
            visit.events.len(),
            if visit.events.len() == 1 { "" } else { "s" }
        ),
    };
    // A kept-out concept holds for the whole list: said once, above it.
    let kept_out: Vec<&Reason> = results
        .first()
        .map(|r| {
            r.why
                .iter()
                .filter(|w| w.kind == ReasonKind::KeptOut)
                .collect()
        })
        .unwrap_or_default();
    for w in &kept_out {
        let _ = writeln!(out, "  {}", explain(rec, w));
    }
    if results.is_empty() {
        let _ = writeln!(out, "  (no item passes the filters)");
    }
    let width = n.to_string().len();
    for (rank, r) in results.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>width$}. {}  {}  {:.3}",
            rank + 1,
            r.id,
            cut(&r.title, TITLE_CHARS),
            r.score
        );
        for w in r.why.iter().filter(|w| w.kind != ReasonKind::KeptOut) {
            let _ = writeln!(out, "{:width$}    {}", "", explain(rec, w));
        }
    }
    let events = visit.events.len();
    let _ = if events == 0 {
        writeln!(
            out,
            "{} items ranked in {:.1} ms; model and index loaded in {:.0} ms",
            rec.index().len(),
            timings.rank,
            timings.load
        )
    } else {
        let all = if events > 1 {
            format!("; all {events} events recorded in {:.1} ms", timings.record)
        } else {
            String::new()
        };
        writeln!(
            out,
            "newest event \u{2192} list: {:.1} ms (recorded in {:.1} ms, {} items ranked in {:.1} ms){all}; model and index loaded in {:.0} ms",
            timings.record_newest + timings.rank,
            timings.record_newest,
            rec.index().len(),
            timings.rank,
            timings.load
        )
    };
    out
}
