//! The choices of the book form's lists: authors (the chosen ones first, in
//! credit order) and genres.
//!
//! Owns only ordering and marking choices; it never fetches them.

use serde::Serialize;

/// One option of a list of choices (authors, genres).
#[derive(Debug, Serialize)]
pub(super) struct Choice {
    id: String,
    name: String,
    selected: bool,
}

/// The author options: the chosen ones first (in credit order), then the
/// rest of `known` (the book's authors, then the contributor list).
pub(super) fn author_choices(known: Vec<(String, String)>, chosen: &[String]) -> Vec<Choice> {
    let name_of = |id: &str| {
        known
            .iter()
            .find(|(known_id, _)| known_id == id)
            .map_or_else(
                || "(contributor not in the list)".to_owned(),
                |(_, name)| name.clone(),
            )
    };
    let mut choices: Vec<Choice> = Vec::new();
    for id in chosen {
        if !choices.iter().any(|choice| &choice.id == id) {
            choices.push(Choice {
                id: id.clone(),
                name: name_of(id),
                selected: true,
            });
        }
    }
    for (id, name) in known {
        if !choices.iter().any(|choice| choice.id == id) {
            choices.push(Choice {
                id,
                name,
                selected: false,
            });
        }
    }
    choices
}

pub(super) fn genre_choices(
    genres: impl IntoIterator<Item = (String, String)>,
    chosen: &[String],
) -> Vec<Choice> {
    genres
        .into_iter()
        .map(|(id, name)| Choice {
            selected: chosen.contains(&id),
            id,
            name,
        })
        .collect()
}
