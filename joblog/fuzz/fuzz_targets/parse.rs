//! `cargo fuzz run parse` (from joblog/): any bytes parse without panicking, and reading them in
//! two pieces gives the same log as reading them whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stageboard_joblog::{Parser, parse};

fuzz_target!(|data: &[u8]| {
    let whole = parse(data);
    let split = data.first().map_or(0, |b| *b as usize % (data.len() + 1));
    let mut parser = Parser::new();
    parser.feed(&data[..split]);
    parser.feed(&data[split..]);
    assert_eq!(parser.finish(), whole);
    for (i, line) in whole.lines.iter().enumerate() {
        assert_eq!(line.number, i + 1);
        assert!(line.section.is_none_or(|s| s < whole.sections.len()));
    }
    let _ = whole.visible_lines(&whole.default_collapsed());
    let _ = whole.first_error();
});
