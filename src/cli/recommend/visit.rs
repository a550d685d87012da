//! The visitor's events: read (a file, `.gz` or stdin), one user's kept, each
//! with its line in the file.

use std::io::Read;
use std::path::Path;

use localrec::{Error, Feedback};

use super::{RecommendError, USERS_NAMED};
use crate::cli::{io_error, open_input, CliError};

/// The visitor's events, each with its line in the file.
pub(super) struct Visit {
    /// The file as named in messages ("stdin" for `-`).
    pub(super) file: String,
    /// The user, when there are events.
    pub(super) user: Option<String>,
    /// (line, feedback), in file order.
    pub(super) events: Vec<(usize, Feedback)>,
}

/// Reads the events (none without a file), keeps one user's, with their lines.
pub(super) fn read_visit(
    path: Option<&Path>,
    user: Option<&str>,
    scale: Option<localrec::RatingScale>,
) -> Result<Visit, CliError> {
    let Some(path) = path else {
        return Ok(Visit {
            file: String::new(),
            user: None,
            events: Vec::new(),
        });
    };
    let (file, bytes) = if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|source| Error::Io {
                context: "cannot read stdin".into(),
                source,
            })?;
        ("stdin".to_string(), bytes)
    } else {
        let mut bytes = Vec::new();
        open_input(path)?
            .read_to_end(&mut bytes)
            .map_err(io_error(path))?;
        (path.display().to_string(), bytes)
    };
    let events = localrec::read_events_on(bytes.as_slice(), scale).map_err(|source| {
        RecommendError::Events {
            file: file.clone(),
            source,
        }
    })?;
    // Reading skips blank lines and a first line naming the rating scale; number the others the same way.
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, _)| n + 1)
        .collect();
    if lines.len() == events.len() + 1 {
        lines.remove(0);
    }
    if lines.len() != events.len() {
        lines = (1..=events.len()).collect();
    }
    // Users in the order they first appear (a store's file may hold many).
    let mut seen = std::collections::HashSet::new();
    let users: Vec<&str> = events
        .iter()
        .map(|e| e.user.as_str())
        .filter(|u| seen.insert(*u))
        .collect();
    let named = |users: &[&str]| {
        let mut names: Vec<String> = users
            .iter()
            .take(USERS_NAMED)
            .map(|u| format!("`{u}`"))
            .collect();
        if users.len() > USERS_NAMED {
            names.push("…".into());
        }
        names.join(", ")
    };
    let chosen = match (user, users.as_slice()) {
        (Some(u), _) if users.contains(&u) => Some(u.to_string()),
        (Some(u), []) => {
            return Err(RecommendError::UnknownUser {
                file,
                user: u.to_string(),
                known: "it holds no events".into(),
            }
            .into())
        }
        (Some(u), known) => {
            return Err(RecommendError::UnknownUser {
                file,
                user: u.to_string(),
                known: format!("users: {}", named(known)),
            }
            .into())
        }
        (None, []) => None,
        (None, [one]) => Some(one.to_string()),
        (None, several) => {
            return Err(RecommendError::SeveralUsers {
                file,
                count: several.len(),
                names: named(several),
            }
            .into())
        }
    };
    let events = lines
        .into_iter()
        .zip(events)
        .filter(|(_, e)| chosen.as_deref() == Some(e.user.as_str()))
        .map(|(line, e)| (line, e.feedback))
        .collect();
    Ok(Visit {
        file,
        user: chosen,
        events,
    })
}
