//! The wall: a board's projects and refs as tiles for a screen across the room, worst first.
//! The server chooses, orders and folds the tiles, so the wall's bundle only lays them out.

use crate::{HealthStatus, StageMark, Status};

/// A wall screen's data (`GET /api/v1/wall`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Wall {
    /// The board's name, or what the address selects.
    pub title: String,
    /// The server's build: a wall that sees it change loads itself again.
    pub version: String,
    /// Failed first, then running, then the rest; successes left out when the board hides them.
    pub tiles: Vec<Tile>,
    /// Successful tiles folded into a count (`hide_green`).
    pub green: u32,
    /// Tiles past the most a screen shows, left out (the best of them).
    pub more: u32,
    /// How many projects the board shows.
    pub projects: u32,
    /// When the board's latest failure finished, as far back as its history is read: for
    /// "all green".
    pub last_failure: Option<crate::Timestamp>,
    /// Columns the board asks for; otherwise the wall fits the tiles to the screen.
    #[serde(default)]
    pub columns: Option<u32>,
    /// Boards to rotate through after this one, and seconds on each; a board showing a
    /// failure stops the rotation.
    #[serde(default)]
    pub rotate: Vec<String>,
    pub every: u32,
    /// When the server read it, on its clock.
    pub read_at: crate::Timestamp,
}

/// One project and ref.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tile {
    /// `group/project`.
    pub project: String,
    pub git_ref: String,
    /// Its latest pipeline's status; none when the ref has no pipeline or the project could
    /// not be read.
    pub status: Option<Status>,
    #[serde(default)]
    pub stages: Vec<StageMark>,
    pub started_at: Option<crate::Timestamp>,
    /// How long the last finished pipeline of the ref took, in seconds: a running one's
    /// progress is measured against it.
    pub last_duration: Option<u64>,
    /// Red: who broke it and since when.
    pub broken: Option<Broken>,
    /// The project's environments (on its default branch's tile).
    #[serde(default)]
    pub environments: Vec<TileEnvironment>,
    /// Why the project could not be read.
    pub error: Option<String>,
}

/// Who broke a ref and since when.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broken {
    pub since: Option<crate::Timestamp>,
    /// The people whose pipelines failed since it was last green, first breaker first.
    pub by: Vec<String>,
}

/// An environment on a tile's strip.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TileEnvironment {
    pub name: String,
    /// The ref (or short commit) deployed there last.
    pub deployed: Option<String>,
    /// The last deployment's status.
    pub status: Option<Status>,
    /// What the cluster says, where one is watched.
    pub health: Option<HealthStatus>,
    /// A manual deploy waits to run there (its job's name).
    pub waiting: Option<String>,
}
