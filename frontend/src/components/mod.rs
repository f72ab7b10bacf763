mod status_badge;
mod top_bar;

pub use status_badge::StatusBadge;
pub use top_bar::TopBar;
