//! Reads a GitLab job log the way a terminal and GitLab's own viewer show it:
//!
//! - ANSI SGR styles (16 colours, 256 colours, truecolor, bold, italic, underline); every other
//!   escape sequence is dropped, as GitLab's `ansi2json` does;
//! - a bare `\r` starts the line over (progress bars), so only what was written last shows;
//! - `section_start:<ts>:<name>[collapsed=true]\r\e[0K<header>` / `section_end:<ts>:<name>\r\e[0K`
//!   markers become nested, collapsible sections with durations;
//! - `FF_TIMESTAMPS` prefixes (`2024-06-05T10:00:00.100000Z 00O `) are recognised from the first
//!   line, taken off each line and kept beside it; `+` continuations join their line.
//!
//! Text stays text: nothing here produces markup. [`Parser`] reads a log in pieces as a running
//! job appends to it; [`parse`] reads a whole one.

mod ansi;
mod parser;

pub use ansi::{Color, Style};
pub use parser::{Line, Log, Parser, Section, Span, parse};
