mod action_button;
pub mod page_status;
mod stage_marks;
mod status_icon;
mod top_bar;

pub use action_button::{ActionButton, Notice, NoticeBar};
pub use stage_marks::StageMarks;
pub use status_icon::StatusIcon;
pub use top_bar::TopBar;
