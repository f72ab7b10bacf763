mod action_button;
pub mod page_status;
mod shell;
mod stage_marks;
pub mod status_icon;
mod table;
mod top_bar;

pub use action_button::{ActionButton, Notice, NoticeBar};
pub use shell::loaded;
pub use stage_marks::StageMarks;
pub use status_icon::StatusIcon;
pub use table::{Cell, data_table};
pub use top_bar::TopBar;
