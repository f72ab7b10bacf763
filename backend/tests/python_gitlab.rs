//! `stageboard sim` run as its own process, and python-gitlab (a real GitLab client from PyPI)
//! pointed at it: projects, pipelines, jobs, a trace, a retry and a manual play.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_gitlab_works_against_the_simulator() {
    let token = "glpat-python-gitlab-check";
    let mut sim = Running(
        Command::new(env!("CARGO_BIN_EXE_stageboard"))
            .args(["sim", "--listen", "127.0.0.1:0", "--token", token])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the stageboard binary runs"),
    );
    let mut first_line = String::new();
    BufReader::new(sim.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line
        .trim()
        .rsplit(' ')
        .next()
        .expect("the simulator prints its URL")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first_line}");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/check_sim.py");
    let output = Command::new("python3")
        .args([script, &url, token])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python-gitlab check failed (install it with `pip install python-gitlab`; scripts/setup --test does):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
