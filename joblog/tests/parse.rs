//! The parser on the synthetic traces of fixtures/gitlab (byte-exact to GitLab Runner's format)
//! and on the corner cases a real log has.

use stageboard_joblog::{Color, Parser, parse};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/gitlab/traces")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn texts(log: &stageboard_joblog::Log) -> Vec<String> {
    log.lines.iter().map(|l| l.text()).collect()
}

#[test]
fn the_plain_fixture_reads_as_gitlab_shows_it() {
    let log = parse(&fixture("job_trace_plain.log"));
    let lines = texts(&log);
    assert_eq!(lines[0], "Running with gitlab-runner 17.5.0 (abcd1234)");
    assert!(
        lines.contains(&"Receiving objects: 100% (10/10), done.".to_owned()),
        "\\r keeps what was written last: {lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("section_")), "markers are not text");
    let names: Vec<&str> = log.sections.iter().map(|s| s.name.as_str()).collect();
    // GitLab lower-cases names and turns anything but [a-z0-9] into `-`.
    assert_eq!(
        names,
        [
            "prepare-executor",
            "get-sources",
            "step-script",
            "deps",
            "cleanup-file-variables"
        ]
    );
    let deps = &log.sections[3];
    assert!(deps.collapsed);
    assert_eq!(deps.parent, Some(2), "deps is nested in step_script");
    assert_eq!(deps.duration().as_deref(), Some("00:03"));
    assert_eq!(log.sections[2].duration().as_deref(), Some("00:35"));
    assert_eq!(
        lines[log.sections[1].header_line - 1],
        "Getting source from Git repository"
    );

    let error = log.first_error().unwrap();
    assert_eq!(lines[error], "FAIL test_widgets (1.23s)");
    let fail = &log.lines[error];
    assert_eq!(fail.spans[0].style.fg, Some(Color::Ansi(1)));
    assert!(fail.spans[0].style.bold);

    // Collapsing deps hides its lines but not its header.
    let mut collapsed = vec![false; log.sections.len()];
    let all = log.visible_lines(&collapsed).len();
    collapsed[3] = true;
    let visible = log.visible_lines(&collapsed);
    assert_eq!(all - visible.len(), 1, "the one line inside deps");
    assert!(visible.contains(&(log.sections[3].header_line - 1)));
}

#[test]
fn the_timestamped_fixture_keeps_timestamps_and_joins_continuations() {
    let log = parse(&fixture("job_trace_timestamped.log"));
    assert!(log.timestamps);
    let plain = parse(&fixture("job_trace_plain.log"));
    let lines = texts(&log);
    assert!(
        lines.contains(&"this line was split by the runner into two fragments; GitLab joins them".to_owned()),
        "{lines:?}"
    );
    assert_eq!(log.lines[0].timestamp.as_deref(), Some("2024-06-05T10:00:00.100000Z"));
    assert_eq!(lines[0], plain.lines[0].text());
    assert!(log.lines.iter().any(|l| l.stderr && l.text().contains("FAIL")));
    assert_eq!(log.sections.len(), plain.sections.len());
}

#[test]
fn reading_in_pieces_gives_the_same_log() {
    for name in ["job_trace_plain.log", "job_trace_timestamped.log"] {
        let bytes = fixture(name);
        for chunk in [1, 3, 7, 64] {
            let mut parser = Parser::new();
            for piece in bytes.chunks(chunk) {
                parser.feed(piece);
            }
            assert_eq!(parser.finish(), parse(&bytes), "{name} in chunks of {chunk}");
        }
    }
}

#[test]
fn colours_in_all_three_depths() {
    let log = parse(b"\x1b[38;5;208morange\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m \x1b[1;3;4;95mall\x1b[m plain\n");
    let spans = &log.lines[0].spans;
    assert_eq!(spans[0].style.fg, Some(Color::Indexed(208)));
    assert_eq!(spans[2].style.fg, Some(Color::Rgb(1, 2, 3)));
    let all = &spans[4].style;
    assert!(all.bold && all.italic && all.underline);
    assert_eq!(all.fg, Some(Color::Ansi(13)));
    assert_eq!(spans.last().unwrap().text, " plain");
    assert_eq!(spans.last().unwrap().style, Default::default());
}

#[test]
fn markup_stays_text() {
    let log = parse(b"<script>alert(1)</script> & <img src=x onerror=alert(2)>\n");
    assert_eq!(
        log.lines[0].text(),
        "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
    );
}

#[test]
fn other_escapes_and_controls_are_dropped() {
    let log = parse(b"a\x1b[2Jb\x1b[0Kc\x1b(Bd\x07e\x1b[1;2Hf\r\n");
    assert_eq!(log.lines[0].text(), "abcdef");
}

#[test]
fn progress_overwrites_but_styles_carry_on() {
    let log = parse(b"\x1b[32m 10%\r 50%\r100% done\n");
    assert_eq!(log.lines[0].text(), "100% done");
    assert_eq!(log.lines[0].spans[0].style.fg, Some(Color::Ansi(2)));
}

#[test]
fn broken_markers_are_text_and_stray_ends_are_ignored() {
    let log = parse(b"section_start:abc:x\r\x1b[0Khello\nsection_end:1:never_started\r\x1b[0K\nsection_start:5:ok\r\x1b[0Kheader\nbody\n");
    // Not a marker (no timestamp), so its `\r` starts the line over, as a terminal would.
    assert_eq!(texts(&log), ["hello", "header", "body"]);
    assert_eq!(log.sections.len(), 1);
    assert_eq!(log.sections[0].end, None, "still open");
    assert_eq!(log.sections[0].duration(), None);
    assert_eq!(log.lines[2].section, Some(0));
}

#[test]
fn invalid_utf8_and_binary_do_not_break_anything() {
    let log = parse(&[
        0xff, 0xfe, b'o', b'k', b'\n', 0, 1, 2, 0x1b, b'[', b'9', b'9', b'9', b'9', b'9', b'9', b'm', b'x',
    ]);
    assert_eq!(log.lines.len(), 2);
    assert!(log.lines[0].text().ends_with("ok"));
    assert_eq!(log.lines[1].text(), "x");
}

#[test]
fn a_long_section_duration_shows_hours() {
    let log = parse(b"section_start:0:long\r\x1b[0Kh\nsection_end:3725:long\r\x1b[0K\n");
    assert_eq!(log.sections[0].duration().as_deref(), Some("1:02:05"));
}
