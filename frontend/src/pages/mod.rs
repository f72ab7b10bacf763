mod audit;
mod environment;
mod environments;
mod job;
mod kiosk;
mod not_found;
mod overview;
mod pipeline;
mod project_pipelines;

pub use audit::Audit;
pub use environment::EnvironmentPage;
pub use environments::Environments;
pub use job::JobPage;
pub use kiosk::Kiosk;
pub use not_found::NotFound;
pub use overview::Overview;
pub use pipeline::PipelinePage;
pub use project_pipelines::ProjectPipelines;
