//! stageboard's server: the JSON API over GitLab, and the embedded single-page app.

pub mod access;
pub mod acting;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod boards;
pub mod client;
pub mod cluster;
pub mod config;
pub mod error;
pub mod gitlab;
pub mod guard;
pub mod headers;
pub mod hub;
pub mod kiosk;
pub mod listen;
pub mod metrics;
mod pattern;
pub mod replicas;
pub mod router;
pub mod selection;
pub mod server;
mod spa;
pub mod store;

pub use app::AppState;
pub use router::router;
