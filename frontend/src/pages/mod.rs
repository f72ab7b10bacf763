mod not_found;
mod overview;
mod project_pipelines;

pub use not_found::NotFound;
pub use overview::Overview;
pub use project_pipelines::ProjectPipelines;
