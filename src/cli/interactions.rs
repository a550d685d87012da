//! `localrec interactions`: events JSONL → one `{user, item, strength, ts}`
//! line per positive interaction, the strengths localrec's own ALS trains on
//! (like / purchase 1, view 0.3, stars (s − 3)/2, …). Line by line in constant
//! memory, so a Spark job pipes partitions through it and trains on the same
//! numbers.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use localrec::offline::eval::SplitInteraction;
use localrec::rec::collab::interaction_strength;
use localrec::rec::feedback::events_on;
use localrec::Error;

use super::{open_input, CliError};

#[derive(Args)]
pub struct InteractionsArgs {
    /// Events JSONL (optionally .gz; default: stdin).
    #[arg(long)]
    events: Option<PathBuf>,
    /// The events' rating scale when the input names none on its first line
    /// (`{"rating_scale": …}`): `1-5` (default), `0.5-5`, `1-10`, `thumbs`, any `MIN-MAX`.
    #[arg(long, value_name = "SCALE")]
    rating_scale: Option<localrec::RatingScale>,
}

pub fn run(args: InteractionsArgs) -> Result<(), CliError> {
    let input: Box<dyn BufRead> = match &args.events {
        Some(p) => Box::new(BufReader::new(open_input(p)?)),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let failed = |source| Error::Io {
        context: "cannot write to stdout".into(),
        source,
    };
    for event in events_on(input, args.rating_scale) {
        let event = event?;
        let (Some(item), Some(strength)) = (
            event.feedback.item.clone(),
            interaction_strength(&event.feedback),
        ) else {
            continue;
        };
        let line = SplitInteraction {
            user: event.user,
            item,
            strength,
            ts: event.feedback.ts,
        };
        serde_json::to_writer(&mut out, &line).map_err(|e| failed(std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(failed)?;
    }
    out.flush().map_err(failed)?;
    Ok(())
}
