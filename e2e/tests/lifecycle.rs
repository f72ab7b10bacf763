//! The binary as an operator runs it: SIGTERM stops it promptly even with browsers holding
//! event streams open (which never end by themselves).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use stageboard_e2e::Stageboard;

#[test]
fn sigterm_with_event_streams_open_exits_within_ten_seconds() {
    let mut app = Stageboard::start_demo();
    let address = app.url.trim_start_matches("http://").to_owned();
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            stream,
            "GET /api/v1/events?topics=projects HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let mut head = [0u8; 256];
        let read = stream.read(&mut head).unwrap();
        let head = String::from_utf8_lossy(&head[..read]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        streams.push(stream);
    }
    let took = app.terminate(Duration::from_secs(15));
    drop(streams);
    let took = took.expect("stageboard exits after SIGTERM with event streams open");
    assert!(took <= Duration::from_secs(10), "it took {took:?}");
}

/// A GITLAB_URL that would send the token somewhere it should not go stops the binary at
/// start-up, saying why and what to set, without echoing a password.
#[test]
fn a_gitlab_url_that_would_leak_the_token_is_refused_at_start_up() {
    for (url, says) in [
        ("https://root:hunter2@gitlab.example.com", "user name or password"),
        ("http://gitlab.example.com", "GITLAB_ALLOW_HTTP"),
        ("https://gitlab.example.com/api/v4", "base address"),
    ] {
        let output = std::process::Command::new(stageboard_e2e::binary())
            .env("GITLAB_URL", url)
            .env("GITLAB_TOKEN", "glpat-start-up-test")
            .env(
                "STAGEBOARD_LISTEN",
                format!("127.0.0.1:{}", stageboard_e2e::free_port()),
            )
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{url}: it started");
        assert!(said.contains(says), "{url}: {said}");
        assert!(
            !said.contains("hunter2") && !said.contains("glpat-start-up-test"),
            "{said}"
        );
    }
}
