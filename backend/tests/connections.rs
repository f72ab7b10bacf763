//! What one client can hold of the server: connections that send nothing, or send their
//! headers a byte at a time, are closed; past the connection cap, new connections wait for a
//! place instead of exhausting the process.

mod common;

use std::time::{Duration, Instant};

use stageboard::listen::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(app: &common::TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or 10 s pass); returns what it sent and when
/// it closed.
async fn until_closed(stream: &mut TcpStream) -> (String, Option<Instant>) {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), Some(Instant::now())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), None)
}

fn limits(max_connections: usize, header_read: Duration) -> Limits {
    Limits {
        max_connections,
        header_read,
        ..Limits::default()
    }
}

#[tokio::test]
async fn a_client_that_sends_its_headers_too_slowly_or_nothing_is_cut_off() {
    let app = common::TestApp::builder()
        .limits(limits(100, Duration::from_secs(1)))
        .start()
        .await;
    // Nothing at all.
    let mut silent = connect(&app).await;
    // Half a request line, then nothing: the start of a slow-headers attack.
    let mut slow = connect(&app).await;
    slow.write_all(b"GET /api/v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    // One byte: as much as a server telling HTTP/1 from HTTP/2 waits for.
    let mut one_byte = connect(&app).await;
    one_byte.write_all(b"P").await.unwrap();
    let opened = Instant::now();
    for stream in [&mut silent, &mut slow, &mut one_byte] {
        let (_, closed) = until_closed(stream).await;
        let closed = closed.expect("the server closes the connection");
        assert!(
            closed - opened < Duration::from_secs(4),
            "closed after {:?}",
            closed - opened
        );
    }
}

#[tokio::test]
async fn a_kept_alive_connection_left_idle_is_closed() {
    let app = common::TestApp::builder()
        .limits(limits(100, Duration::from_secs(1)))
        .start()
        .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answered = Instant::now();
    let (said, closed) = until_closed(&mut stream).await;
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    let closed = closed.expect("the idle connection is closed");
    assert!(
        closed - answered < Duration::from_secs(4),
        "closed after {:?}",
        closed - answered
    );
}

#[tokio::test]
async fn past_the_connection_cap_a_new_connection_waits_for_a_place() {
    let app = common::TestApp::builder()
        .limits(limits(3, Duration::from_secs(30)))
        .start()
        .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&app).await);
    }
    // Give the server a moment to take all three.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let url = format!("{}/health", app.base);
    let waiting = tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "a fourth connection is not served while three are held"
    );
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a place is free")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
}

/// Opens an event stream as a browser at `forwarded` (by way of a proxy that says so).
async fn stream(app: &common::TestApp, forwarded: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/api/v1/events?topics=projects", app.base))
        .header("x-forwarded-for", forwarded)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_address_holds_at_most_its_share_of_event_streams() {
    let app = common::TestApp::builder().clients(&["127.0.0.0/8"], 2).start().await;
    let first = stream(&app, "203.0.113.7").await;
    let second = stream(&app, "203.0.113.7").await;
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = stream(&app, "203.0.113.7").await;
    common::assert_error(&common::answer_of(third).await, 429, "busy");
    assert_eq!(
        stream(&app, "203.0.113.8").await.status(),
        200,
        "another person behind the proxy"
    );
    drop(first);
    let mut again = 0;
    for _ in 0..50 {
        again = stream(&app, "203.0.113.7").await.status().as_u16();
        if again == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(again, 200, "a closed stream gives its address's place back");
}

#[tokio::test]
async fn a_client_that_is_not_a_trusted_proxy_cannot_choose_its_address() {
    // The proxy is elsewhere: this client's X-Forwarded-For is its own invention.
    let app = common::TestApp::builder().clients(&["10.0.0.0/8"], 2).start().await;
    let _held = [stream(&app, "203.0.113.1").await, stream(&app, "203.0.113.2").await];
    let third = stream(&app, "203.0.113.3").await;
    assert_eq!(
        third.status(),
        429,
        "all three come from 127.0.0.1, whatever they claim"
    );
}

#[tokio::test]
async fn a_request_body_sent_too_slowly_is_answered_408_and_the_connection_freed() {
    let app = common::TestApp::builder()
        .limits(Limits {
            body: Duration::from_secs(1),
            ..Limits::default()
        })
        .start()
        .await;
    let mut stream = connect(&app).await;
    // A manual job's variables, announced at 200 bytes and sent a few at a time, then not at all.
    stream
        .write_all(
            b"POST /api/v1/projects/1/jobs/1/play HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"variables\": [",
        )
        .await
        .unwrap();
    let sent = Instant::now();
    let (said, closed) = until_closed(&mut stream).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert!(said.contains("\"code\":\"request_timeout\""), "{said}");
    assert!(
        said.to_ascii_lowercase().contains("x-content-type-options: nosniff"),
        "the answer carries the security headers: {said}"
    );
    let closed = closed.expect("the connection is closed after the answer");
    assert!(
        closed - sent < Duration::from_secs(4),
        "closed after {:?}",
        closed - sent
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answers_is_dropped() {
    let app = common::TestApp::builder()
        .limits(Limits {
            write_stall: Duration::from_secs(1),
            ..Limits::default()
        })
        .start()
        .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(app.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    // Far more answer than the sockets' buffers hold, asked for and then not read.
    const ASKED: usize = 200;
    let request = "GET /api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(ASKED);
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (said, closed) = until_closed(&mut stream).await;
    let answers = said.matches("HTTP/1.1 200").count();
    assert!(closed.is_some(), "the connection is dropped ({answers} answers read)");
    assert!(
        answers < ASKED,
        "all {answers} answers were kept for a client that did not read"
    );
}
