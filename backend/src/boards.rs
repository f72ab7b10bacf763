//! Boards: what a wall screen shows. A board is written as the wall's own address parameters
//! (`projects=payments/*&refs=main,release/*&hide_green=1`), so a screen is configured by its
//! URL alone (`/wall?projects=…`) or by a name the configuration gives that selection
//! (`STAGEBOARD_BOARDS="payments=projects=payments/*&hide_green=1"`, `/wall/payments`). Parameters
//! in the address change a named board for that screen.

use axum::extract::Query;
use axum::http::Uri;

/// The most entries a list parameter takes.
const MAX_ENTRIES: usize = 100;
/// The longest entry.
const MAX_ENTRY: usize = 255;

/// A wall's parameters: all optional, as the address gives them.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Selection {
    /// A board of the configuration (STAGEBOARD_BOARDS); the other parameters change it.
    pub board: Option<String>,
    /// Projects, comma-separated: ids or paths, `*` matching any characters (`platform/*`).
    /// Default: every watched project.
    pub projects: Option<String>,
    /// Refs, comma-separated, `*` matching any characters (`main,release/*`). Default: each
    /// project's default branch.
    pub refs: Option<String>,
    /// Environments on a project's default-branch tile, comma-separated, `*` matching any
    /// characters. Default: up to four that are not in a folder (not `review/…`).
    pub environments: Option<String>,
    /// `1` (or `true`): successful tiles fold into a count.
    pub hide_green: Option<String>,
    /// Columns, 1 to 12; otherwise the tiles are fitted to the screen.
    pub columns: Option<u32>,
    /// Boards to show in turn after this one, comma-separated; a board showing a failure stops
    /// the rotation.
    pub rotate: Option<String>,
    /// Seconds on each board of a rotation, 10 to 3600 (default 30).
    pub every: Option<u32>,
}

/// A selection made whole and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub title: String,
    pub projects: Vec<String>,
    pub refs: Vec<String>,
    pub environments: Vec<String>,
    pub hide_green: bool,
    pub columns: Option<u32>,
    pub rotate: Vec<String>,
    pub every: u32,
}

impl Board {
    /// The board shows this project: it names it (by id or path, `*` wildcards), or names none.
    pub fn shows(&self, project: &crate::gitlab::types::GlProject) -> bool {
        let (id, path) = (project.id.to_string(), project.path_with_namespace.to_lowercase());
        self.projects.is_empty()
            || self
                .projects
                .iter()
                .any(|p| *p == id || crate::pattern::matches(&p.to_lowercase(), &path))
    }
}

/// What is wrong with a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardError {
    /// No board has that name.
    Unknown(String),
    Invalid(String),
}

/// The configured boards, by name.
#[derive(Debug, Clone, Default)]
pub struct Boards(Vec<(String, Selection)>);

impl Boards {
    /// STAGEBOARD_BOARDS' entries, each `name=parameters`.
    pub fn parse(specs: &[String]) -> Result<Boards, String> {
        let mut boards = Boards::default();
        for spec in specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let (name, query) = spec.split_once('=').ok_or_else(|| {
                format!(
                    "STAGEBOARD_BOARDS has `{spec}`; write name=parameters, e.g. team=projects=group/*&hide_green=1."
                )
            })?;
            let name = name.trim();
            if name.is_empty()
                || name.len() > 64
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "STAGEBOARD_BOARDS names a board `{name}`: a board's name is 1 to 64 letters, digits, - and _ (it goes in the address, /wall/<name>)."
                ));
            }
            if boards.0.iter().any(|(n, _)| n == name) {
                return Err(format!("STAGEBOARD_BOARDS names the board `{name}` twice."));
            }
            let selection = from_query(query).map_err(|e| format!("STAGEBOARD_BOARDS, board `{name}`: {e}"))?;
            if selection.board.is_some() {
                return Err(format!(
                    "STAGEBOARD_BOARDS, board `{name}`: a board cannot name another board (`board=`)."
                ));
            }
            boards.0.push((name.to_owned(), selection));
        }
        // Every board must make a whole board, and name only boards that exist.
        for (name, _) in &boards.0 {
            let asked = Selection {
                board: Some(name.clone()),
                ..Selection::default()
            };
            boards.resolve(&asked).map_err(|e| match e {
                BoardError::Unknown(m) | BoardError::Invalid(m) => format!("STAGEBOARD_BOARDS, board `{name}`: {m}"),
            })?;
        }
        Ok(boards)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The board `asked` selects: the named board with the address's parameters over it.
    pub fn resolve(&self, asked: &Selection) -> Result<Board, BoardError> {
        let base = match &asked.board {
            Some(name) => Some(
                self.0
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, s)| s)
                    .ok_or_else(|| {
                        let known: Vec<&str> = self.names().collect();
                        BoardError::Unknown(if known.is_empty() {
                            format!("There is no board `{name}`: none is configured (STAGEBOARD_BOARDS). /wall shows every watched project.")
                        } else {
                            format!("There is no board `{name}`; the boards are {}.", known.join(", "))
                        })
                    })?,
            ),
            None => None,
        };
        let pick = |f: fn(&Selection) -> &Option<String>| f(asked).clone().or_else(|| base.and_then(|b| f(b).clone()));
        let projects = list("projects", pick(|s| &s.projects))?;
        let rotate = list("rotate", pick(|s| &s.rotate))?;
        if let Some(unknown) = rotate.iter().find(|r| !self.names().any(|n| n == r.as_str())) {
            return Err(BoardError::Invalid(format!(
                "rotate names `{unknown}`, which is not a configured board."
            )));
        }
        let hide_green = match pick(|s| &s.hide_green).as_deref().map(str::trim) {
            None | Some("" | "0" | "false" | "no" | "off") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(other) => {
                return Err(BoardError::Invalid(format!(
                    "hide_green is `{other}`; give 1 (fold successes into a count) or 0."
                )));
            }
        };
        let columns = asked.columns.or_else(|| base.and_then(|b| b.columns));
        if let Some(c) = columns.filter(|c| !(1..=12).contains(c)) {
            return Err(BoardError::Invalid(format!(
                "columns is {c}; give 1 to 12, or leave it out to fit the tiles to the screen."
            )));
        }
        let every = asked.every.or_else(|| base.and_then(|b| b.every)).unwrap_or(30);
        if !(10..=3600).contains(&every) {
            return Err(BoardError::Invalid(format!(
                "every is {every}; give the seconds on each board, 10 to 3600."
            )));
        }
        let title = match (&asked.board, projects.as_slice()) {
            (Some(name), _) => name.clone(),
            (None, []) => "All projects".to_owned(),
            (None, some) => some.join(", "),
        };
        Ok(Board {
            title,
            projects,
            refs: list("refs", pick(|s| &s.refs))?,
            environments: list("environments", pick(|s| &s.environments))?,
            hide_green,
            columns,
            rotate,
            every,
        })
    }
}

/// A board's parameters from a query string.
fn from_query(query: &str) -> Result<Selection, String> {
    let uri: Uri = format!("/?{}", query.trim().trim_start_matches('?'))
        .parse()
        .map_err(|_| format!("`{query}` is not a query string (name=value pairs joined by &)."))?;
    Query::<Selection>::try_from_uri(&uri).map(|Query(s)| s).map_err(|e| {
        format!(
            "{}.",
            e.body_text().trim_start_matches("Failed to deserialize query string: ")
        )
    })
}

/// A comma-separated parameter's entries.
fn list(name: &str, value: Option<String>) -> Result<Vec<String>, BoardError> {
    let entries: Vec<String> = value
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    if entries.len() > MAX_ENTRIES {
        return Err(BoardError::Invalid(format!(
            "{name} has {} entries; a board takes at most {MAX_ENTRIES} (use `*`: group/*).",
            entries.len()
        )));
    }
    if let Some(long) = entries.iter().find(|e| e.len() > MAX_ENTRY) {
        return Err(BoardError::Invalid(format!(
            "{name} has an entry of {} characters; at most {MAX_ENTRY}.",
            long.len()
        )));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boards(specs: &[&str]) -> Result<Boards, String> {
        Boards::parse(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_board_is_its_address_parameters_under_a_name() {
        let boards = boards(&[
            "payments=projects=payments/*,42&refs=main,release/*&hide_green=1&environments=staging,production",
            "team=projects=gitlab-org/*&rotate=payments&every=20",
        ])
        .unwrap();
        let payments = boards
            .resolve(&Selection {
                board: Some("payments".into()),
                ..Selection::default()
            })
            .unwrap();
        assert_eq!(payments.title, "payments");
        assert_eq!(payments.projects, ["payments/*", "42"]);
        assert_eq!(payments.refs, ["main", "release/*"]);
        assert_eq!(payments.environments, ["staging", "production"]);
        assert!(payments.hide_green);
        assert_eq!(payments.every, 30);
        // The address changes a named board for one screen.
        let shown = boards
            .resolve(&Selection {
                board: Some("team".into()),
                hide_green: Some("1".into()),
                ..Selection::default()
            })
            .unwrap();
        assert_eq!(
            (
                shown.projects.as_slice(),
                shown.hide_green,
                shown.rotate.as_slice(),
                shown.every
            ),
            (
                ["gitlab-org/*".to_owned()].as_slice(),
                true,
                ["payments".to_owned()].as_slice(),
                20
            )
        );
        // And an address alone is a board.
        let adhoc = boards
            .resolve(&Selection {
                projects: Some("a/b, c/d".into()),
                ..Selection::default()
            })
            .unwrap();
        assert_eq!((adhoc.title.as_str(), adhoc.refs.len()), ("a/b, c/d", 0));
    }

    #[test]
    fn a_mistake_names_the_board_and_the_parameter() {
        let err = |specs: &[&str]| boards(specs).unwrap_err();
        assert!(err(&["x=projects=a&colour=red"]).contains("board `x`"));
        assert!(err(&["x=projects=a&colour=red"]).contains("colour"));
        assert!(err(&["x=hide_green=maybe"]).contains("hide_green is `maybe`"));
        assert!(err(&["x=columns=40"]).contains("columns is 40"));
        assert!(err(&["x=rotate=y"]).contains("`y`, which is not a configured board"));
        assert!(err(&["x=every=2"]).contains("every is 2"));
        assert!(err(&["x=hide_green=1", "x=hide_green=0"]).contains("twice"));
        assert!(err(&["bad name=projects=a"]).contains("letters, digits"));
        assert!(err(&["noequals"]).contains("name=parameters"));
        let none = Boards::default()
            .resolve(&Selection {
                board: Some("lobby".into()),
                ..Selection::default()
            })
            .unwrap_err();
        assert!(matches!(none, BoardError::Unknown(m) if m.contains("none is configured")));
        let many = (0..101).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        assert!(matches!(
            Boards::default().resolve(&Selection { projects: Some(many), ..Selection::default() }),
            Err(BoardError::Invalid(m)) if m.contains("at most 100")
        ));
    }
}
