//! `stageboard.toml` through the binary, as an operator meets it: `--config` and
//! `STAGEBOARD_CONFIG`, the environment and flags over the file, `check-config`, and a mistake
//! stopping the server with the file, the line and the key.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary with nothing from this process's environment but `PATH`, plus `env`.
fn stageboard(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stageboard"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied());
    command
}

/// Runs `command` to its end, which must come within 30 seconds (a server that started
/// instead of refusing its configuration is killed, and the test fails).
fn finish(mut command: Command) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let (out, err) = text(&child.wait_with_output().unwrap());
            panic!("still running after 30 s:\n{out}\n{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, body: &str, mode: u32) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn check_config_says_where_each_value_came_from_and_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "stageboard.toml",
        "[server]\nlisten = \"127.0.0.1:9001\"\n\n[gitlab]\nurl = \"https://gitlab.example.com\"\ntoken = \"glpat-from-the-file\"\npoll_idle = 90\npoll_fast = 3\n\n[selection]\nprojects = [\"platform/payments\", 42]\n",
        0o644,
    );
    let output = stageboard(
        &["--listen", "127.0.0.1:9002", "check-config", "--config", &file],
        &[("STAGEBOARD_POLL_IDLE", "60")],
    )
    .output()
    .unwrap();
    let (out, err) = text(&output);
    assert!(output.status.success(), "{out}\n{err}");
    for line in [
        "listen = \"127.0.0.1:9002\"  # from the command line".to_owned(),
        "poll_idle = 60  # from STAGEBOARD_POLL_IDLE".to_owned(),
        format!("poll_fast = 3  # from {file}:8; or STAGEBOARD_POLL_FAST"),
        format!("token = \"********\"  # from {file}:6; or GITLAB_TOKEN"),
        format!("projects = [\"platform/payments\", \"42\"]  # from {file}:11"),
        "poll_hooked = 300  # default; or STAGEBOARD_POLL_HOOKED".to_owned(),
        "# metrics_token  # not set; or STAGEBOARD_METRICS_TOKEN".to_owned(),
        "# Valid: watches GitLab at https://gitlab.example.com/, projects platform/payments, 42; listens on 127.0.0.1:9002".to_owned(),
    ] {
        assert!(out.contains(&line), "missing `{line}` in:\n{out}");
    }
    assert!(!out.contains("glpat-from-the-file") && !err.contains("glpat-from-the-file"));
    assert!(
        err.contains("holds secrets") && err.contains("chmod 600"),
        "a secret in a file others may read is warned of: {err}"
    );
    // What it prints is itself a configuration file (less the masked secret).
    let printed = write(
        dir.path(),
        "printed.toml",
        &out.replace("\"********\"", "\"glpat-again\""),
        0o600,
    );
    let again = stageboard(&["check-config", "--config", &printed], &[])
        .output()
        .unwrap();
    let (again_out, again_err) = text(&again);
    assert!(again.status.success(), "{again_out}\n{again_err}");
    assert!(again_out.contains("poll_idle = 60  # from"), "{again_out}");
    assert!(
        again_err.is_empty(),
        "a file only its owner reads gets no warning: {again_err}"
    );
}

#[test]
fn a_switch_the_file_turns_on_a_flag_turns_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "stageboard.toml",
        "[gitlab]\nurl = \"http://gitlab.internal\"\nallow_http = true\n\n[refs]\nprotected = true\n",
        0o600,
    );
    let token = &[("GITLAB_TOKEN", "glpat-switches")];
    let on = finish(stageboard(&["check-config", "--config", &file], token));
    let (out, err) = text(&on);
    assert!(on.status.success(), "{out}\n{err}");
    assert!(out.contains(&format!("allow_http = true  # from {file}:3")), "{out}");
    assert!(out.contains(&format!("protected = true  # from {file}:6")), "{out}");

    let off = finish(stageboard(
        &["--protected-refs=false", "check-config", "--config", &file],
        token,
    ));
    let (out, err) = text(&off);
    assert!(off.status.success(), "{out}\n{err}");
    assert!(out.contains("protected = false  # from the command line"), "{out}");
    let refused = finish(stageboard(
        &["--gitlab-allow-http=false", "check-config", "--config", &file],
        token,
    ));
    let (out, err) = text(&refused);
    assert!(!refused.status.success(), "{out}\n{err}");
    assert!(err.contains("plain http to another machine"), "{err}");
    // Alone, a switch still turns on, and takes no word after it for its value.
    let alone = finish(stageboard(
        &[
            "--gitlab-url",
            "http://gitlab.internal",
            "--gitlab-allow-http",
            "check-config",
        ],
        token,
    ));
    let (out, err) = text(&alone);
    assert!(alone.status.success(), "{out}\n{err}");
    assert!(out.contains("allow_http = true  # from the command line"), "{out}");
}

#[test]
fn a_mistake_stops_the_server_naming_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let wrong_value = write(
        dir.path(),
        "value.toml",
        &format!("[storage]\ndata_dir = \"{data}\"\n\n[server]\nlisten = \"8080\"\n"),
        0o600,
    );
    let wrong_together = write(
        dir.path(),
        "together.toml",
        &format!("[storage]\ndata_dir = \"{data}\"\n[server]\nmax_streams_per_address = 0\n"),
        0o600,
    );
    let unknown = write(
        dir.path(),
        "unknown.toml",
        "[gitlab]\nurl = \"https://gitlab.example.com\"\ntokn = \"x\"\n",
        0o600,
    );
    for (file, says) in [
        (
            &wrong_value,
            format!("{wrong_value}:5: `server.listen` = \"8080\" is not valid: invalid socket address syntax"),
        ),
        (
            &wrong_together,
            format!(
                "STAGEBOARD_MAX_STREAMS_PER_ADDRESS is 0, which refuses every page its events; leave it unset for no per-address bound. (STAGEBOARD_MAX_STREAMS_PER_ADDRESS is `server.max_streams_per_address` at {wrong_together}:4)"
            ),
        ),
        (
            &unknown,
            format!("{unknown}:3: unknown key `gitlab.tokn`; [gitlab] has url, token,"),
        ),
    ] {
        for run in [
            stageboard(&["--config", file], &[]),
            stageboard(&["check-config"], &[("STAGEBOARD_CONFIG", file)]),
        ] {
            let output = finish(run);
            let (out, err) = text(&output);
            assert!(!output.status.success(), "{out}\n{err}");
            assert!(err.contains(&says), "expected `{says}` in:\n{err}");
            assert!(!out.contains("serving on"), "{out}");
        }
    }
    let output = stageboard(
        &["--config", &dir.path().join("absent.toml").display().to_string()],
        &[],
    )
    .output()
    .unwrap();
    let (_, err) = text(&output);
    assert!(
        !output.status.success() && err.contains("cannot read the configuration file"),
        "{err}"
    );
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_server_and_the_kiosk_command_read_the_same_file() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = write(
        dir.path(),
        "stageboard.toml",
        &format!(
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[storage]\ndata_dir = \"{}\"\n\n[boards.lobby]\nprojects = [\"demo/*\"]\nhide_green = true\n",
            data.display()
        ),
        0o600,
    );
    let mut server = Running(
        stageboard(&["--config", &file], &[("RUST_LOG", "stageboard=info")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let base = loop {
        assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
        let line = lines.next().expect("the server logs its address").unwrap();
        if let Some((_, rest)) = line.split_once("serving on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let get = async |path: &str| reqwest::get(format!("{base}{path}")).await.unwrap().status().as_u16();
    assert_eq!(get("/health").await, 200);
    assert_eq!(get("/api/v1/wall?board=lobby").await, 200, "the file's board is served");
    assert_eq!(get("/api/v1/wall?board=cafe").await, 404);
    drop(server);
    assert!(data.join("stageboard.db").exists(), "the file's data directory is used");

    let kiosk = |args: &[&str]| {
        let output = stageboard(&[&["kiosk"], args].concat(), &[("STAGEBOARD_CONFIG", &file)])
            .output()
            .unwrap();
        let (out, err) = text(&output);
        assert!(output.status.success(), "{out}\n{err}");
        out
    };
    assert!(kiosk(&["create", "--board", "lobby", "--label", "hall TV"]).contains("sbk_"));
    assert!(kiosk(&["list"]).contains("hall TV"));
}
