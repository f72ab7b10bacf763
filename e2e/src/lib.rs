//! The e2e harness: the real `stageboard` binary in demo mode and headless Chromium driven by
//! chromedriver over WebDriver. Both run in their own process groups and are stopped (group and
//! all) when dropped, so a failing test leaves nothing behind.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

pub mod soak;

pub use fantoccini;

/// A child process in its own process group, stopped with its whole group on drop.
pub struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.0.id() as i32);
        // Never signal group 0 or 1: that would reach every process of the session or machine.
        if pid.as_raw() > 1 {
            let _ = killpg(pid, Signal::SIGTERM);
            if self.exited_within(Duration::from_secs(5)).is_some() {
                return;
            }
            let _ = killpg(pid, Signal::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

impl Group {
    /// The process id (for reading its memory from /proc).
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Sends SIGTERM to the process alone and waits at most `within` for it to exit: how long
    /// it took, or `None` when it had not exited by then.
    pub fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let pid = Pid::from_raw(self.0.id() as i32);
        if pid.as_raw() <= 1 {
            return None;
        }
        let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
        self.exited_within(within)
    }

    /// Waits at most `within` for the process to exit: how long it took.
    fn exited_within(&mut self, within: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(_)) = self.0.try_wait() {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

pub fn spawn_group(command: &mut Command) -> Group {
    use std::os::unix::process::CommandExt;
    let child = command
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    Group(child)
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not open port {port} within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where test artifacts (screenshots) go: `target/e2e-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The stageboard binary under test: `STAGEBOARD_BIN` (scripts/test sets it to the release
/// build; a relative path is taken from where the test or bench was started, as the README
/// writes it), else the workspace's debug build. Absolute: the binary runs from elsewhere.
pub fn binary() -> PathBuf {
    let chosen = std::env::var_os("STAGEBOARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/stageboard"));
    std::path::absolute(&chosen).unwrap_or(chosen)
}

pub struct Stageboard {
    process: Group,
    pub url: String,
    /// Its own STAGEBOARD_DATA_DIR, removed when it is dropped.
    data: PathBuf,
}

impl Drop for Stageboard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

impl Stageboard {
    /// SIGTERM, then how long it took to exit (`None`: not within `within`).
    pub fn terminate(&mut self, within: Duration) -> Option<Duration> {
        self.process.terminate(within)
    }

    /// Demo mode, started from a directory that holds nothing of the repository, so the SPA must
    /// come from the binary itself.
    pub fn start_demo() -> Self {
        let port = free_port();
        let data = std::env::temp_dir().join(format!("stageboard-e2e-{}-{port}", std::process::id()));
        Stageboard {
            process: Self::spawn_demo(port, &data),
            url: format!("http://127.0.0.1:{port}"),
            data,
        }
    }

    /// Stops it (SIGTERM) and starts it again on the same address with the same data
    /// directory, as an upgrade or a reboot would.
    pub fn restart(&mut self) {
        assert!(
            self.terminate(Duration::from_secs(15)).is_some(),
            "stageboard did not stop within 15 s"
        );
        self.restart_stopped();
    }

    /// Starts it again, stopped by [`Stageboard::terminate`], on the same address with the
    /// same data directory.
    pub fn restart_stopped(&mut self) {
        let port = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the address");
        self.process = Self::spawn_demo(port, &self.data);
    }

    /// Against a GitLab (`GITLAB_URL`, `GITLAB_TOKEN` among `env`, e.g. a [`SimProcess`]),
    /// with the other settings in `env`.
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let data = std::env::temp_dir().join(format!("stageboard-e2e-{}-{port}", std::process::id()));
        let mut command = Self::command(port, &data);
        for (name, value) in env {
            command.env(name, value);
        }
        let process = spawn_group(&mut command);
        wait_for_port(port, "stageboard");
        Stageboard {
            process,
            url: format!("http://127.0.0.1:{port}"),
            data,
        }
    }

    fn spawn_demo(port: u16, data: &std::path::Path) -> Group {
        let process = spawn_group(&mut Self::command(port, data));
        wait_for_port(port, "stageboard");
        process
    }

    /// The binary in demo mode on `port`, whatever this process's environment says.
    fn command(port: u16, data: &std::path::Path) -> Command {
        let bin = binary();
        assert!(
            bin.exists(),
            "{} does not exist: build it (scripts/test does)",
            bin.display()
        );
        let mut command = Command::new(&bin);
        command
            .env("STAGEBOARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("STAGEBOARD_DATA_DIR", data)
            .env_remove("GITLAB_URL")
            .env_remove("GITLAB_TOKEN")
            .env_remove("STAGEBOARD_PROJECTS")
            .env_remove("STAGEBOARD_BOARDS")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        command
    }
}

/// The simulated GitLab and cluster alone (`stageboard sim`), for benchmarks that count what
/// reaches it.
pub struct SimProcess {
    _process: Group,
    pub url: String,
    pub token: String,
}

impl SimProcess {
    /// Starts `stageboard sim` on a free loopback port with `extra` arguments.
    pub fn start(extra: &[&str]) -> Self {
        let port = free_port();
        let token = "glpat-bench-token".to_owned();
        let process = spawn_group(
            Command::new(binary())
                .arg("sim")
                .args(["--listen", &format!("127.0.0.1:{port}"), "--token", &token])
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        );
        wait_for_port(port, "stageboard sim");
        SimProcess {
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
            token,
        }
    }
}

pub struct Browser {
    pub client: Client,
    _driver: Group,
    profile: PathBuf,
}

impl Browser {
    /// Headless Chromium with a fresh profile, through chromedriver.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Browser::start`] with more Chromium flags (`--js-flags=--expose-gc` for the soak).
    pub async fn start_with(extra: &[&str]) -> Self {
        let port = free_port();
        let driver = spawn_group(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_for_port(port, "chromedriver");
        let profile = std::env::temp_dir().join(format!("stageboard-e2e-{}-{port}", std::process::id()));
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            // A page left by `goto` would wait in the back/forward cache (up to 60 s) with its
            // event streams still open, and Chromium opens at most 6 connections to one host: a
            // few page loads later, every request to the server waits. Nothing here goes back.
            "--disable-back-forward-cache",
            "--window-size=1280,800",
        ];
        let profile_flag = format!("--user-data-dir={}", profile.display());
        args.push(&profile_flag);
        args.extend_from_slice(extra);
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "args": args, "binary": chromium_binary() }),
        );
        // The port can answer before chromedriver does (another test's `free_port` probing the
        // same number): a refused session is tried again for a while.
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let session = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match session {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("no WebDriver session yet ({e}); trying again");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => panic!("a WebDriver session with headless Chromium: {e}"),
            }
        };
        Browser {
            client,
            _driver: driver,
            profile,
        }
    }

    /// Ends the WebDriver session and stops chromedriver and Chromium. Call it before asserting,
    /// so a failed assertion does not leave a browser running.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    /// Waits (at most `timeout`) until `css` matches, and returns the texts of all matches.
    pub async fn texts(&self, css: &str, timeout: Duration) -> Result<Vec<String>, fantoccini::error::CmdError> {
        self.client
            .wait()
            .at_most(timeout)
            .for_element(Locator::Css(css))
            .await?;
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await? {
            texts.push(element.text().await?);
        }
        Ok(texts)
    }

    /// Saves a PNG of the page under `target/e2e-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, fantoccini::error::CmdError> {
        let png = self.client.screenshot().await?;
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write a screenshot");
        Ok(path)
    }
}

fn chromium_binary() -> &'static str {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .unwrap_or("/usr/bin/chromium")
}

impl Browser {
    /// Makes the page's viewport `width` × `height` CSS pixels (the window is larger by its
    /// frame, which headless Chromium has too).
    pub async fn viewport(&self, width: u32, height: u32) -> Result<(), String> {
        let inner = async || {
            let size = self.js("return [innerWidth, innerHeight];").await?;
            let get = |i: usize| size[i].as_u64().unwrap_or(0) as u32;
            Ok::<_, String>((get(0), get(1)))
        };
        // The frame: the window's size less the viewport's, once a resize has taken effect.
        let (w, h) = inner().await?;
        let (outer_w, outer_h) = self.client.get_window_size().await.map_err(|e| e.to_string())?;
        let (frame_w, frame_h) = ((outer_w as u32).saturating_sub(w), (outer_h as u32).saturating_sub(h));
        self.client
            .set_window_size(width + frame_w, height + frame_h)
            .await
            .map_err(|e| e.to_string())?;
        let mut seen = (0, 0);
        for _ in 0..40 {
            seen = inner().await?;
            if seen == (width, height) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("the viewport is {seen:?}, not {width}×{height}"))
    }

    /// Waits until an element matching `css` has text containing `needle`; returns that text.
    pub async fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut failing = Failing::default();
        while Instant::now() < deadline {
            failing.check(self, needle).await?;
            seen.clear();
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    if let Ok(text) = element.text().await {
                        if text.contains(needle) {
                            return Ok(text);
                        }
                        seen.push(text);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        Err(format!(
            "no `{css}` with text `{needle}` within {timeout:?}; saw {seen:?}"
        ))
    }

    /// Clicks the first element matching `css` whose text contains `needle` (waiting for it).
    pub async fn click_text(&self, css: &str, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut failing = Failing::default();
        while Instant::now() < deadline {
            failing.check(self, needle).await?;
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    if element.text().await.is_ok_and(|t| t.contains(needle)) {
                        match element.click().await {
                            Ok(_) => return Ok(()),
                            // Re-rendered between reading and clicking (an event arrived): look again.
                            Err(e) if e.is_stale_element_reference() => break,
                            Err(e) => return Err(e.to_string()),
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        Err(format!(
            "nothing to click: no `{css}` with text `{needle}` within {timeout:?}"
        ))
    }

    /// The text of the page's error notice (a failed load), if it shows one.
    async fn page_error(&self) -> Option<String> {
        let notices = self.client.find_all(Locator::Css("p.error[role=alert]")).await.ok()?;
        for notice in notices {
            if let Ok(text) = notice.text().await
                && !text.trim().is_empty()
            {
                return Some(text);
            }
        }
        None
    }

    /// Signs in as `username` through the (simulated) GitLab's sign-in page, as a person
    /// would, and comes back to `return_to` on stageboard at `base`.
    pub async fn sign_in(&self, base: &str, username: &str, return_to: &str) -> Result<(), String> {
        let login = format!("{base}/auth/login?return_to={}", urlencoded(return_to));
        self.client.goto(&login).await.map_err(|e| e.to_string())?;
        self.click_text("button[name=user]", &format!("(@{username})"), Duration::from_secs(20))
            .await?;
        self.wait_text(".topbar .who .person", "", Duration::from_secs(20))
            .await?;
        let at = self.client.current_url().await.map_err(|e| e.to_string())?;
        if at.path() != return_to.split('?').next().unwrap_or(return_to) {
            return Err(format!("signed in, but landed on {at} rather than {return_to}"));
        }
        Ok(())
    }

    /// Runs JavaScript in the page and returns its value.
    pub async fn js(&self, script: &str) -> Result<serde_json::Value, String> {
        self.client.execute(script, Vec::new()).await.map_err(|e| e.to_string())
    }

    /// Counts the elements matching `css` now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// Waits until the number of elements matching `css` satisfies `wanted` (and returns it),
    /// or fails after `timeout` (early on an error notice) saying what it saw.
    pub async fn wait_count(
        &self,
        css: &str,
        wanted: impl Fn(usize) -> bool,
        timeout: Duration,
    ) -> Result<usize, String> {
        let deadline = Instant::now() + timeout;
        let mut failing = Failing::default();
        let mut seen = self.count(css).await;
        while !wanted(seen) {
            if Instant::now() >= deadline {
                return Err(format!("`{css}` still counts {seen} after {timeout:?}"));
            }
            failing.check(self, css).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
            seen = self.count(css).await;
        }
        Ok(seen)
    }
}

/// A wait gives up early when the page has shown an error notice for two seconds: what it waits
/// for will not come, and the notice says why.
#[derive(Default)]
struct Failing {
    since: Option<Instant>,
}

impl Failing {
    async fn check(&mut self, browser: &Browser, needle: &str) -> Result<(), String> {
        match browser.page_error().await {
            Some(text) => {
                let since = *self.since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    return Err(format!("the page shows an error instead of `{needle}`: {text}"));
                }
            }
            None => self.since = None,
        }
        Ok(())
    }
}

fn urlencoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
