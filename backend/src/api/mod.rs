//! The JSON API under `/api/v1`, one file per resource.

pub mod audit;
pub mod cctray;
#[cfg(feature = "demo")]
pub mod demo;
pub mod environments;
pub mod events;
mod extract;
pub mod hooks;
mod job_environments;
pub mod jobs;
pub mod kiosk;
pub mod me;
pub mod meta;
pub mod openapi;
pub mod overview;
pub mod pipelines;
pub mod projects;
mod refusals;
pub mod runners;
mod summaries;
pub mod wall;
mod wire;

pub use pipelines::assemble;
