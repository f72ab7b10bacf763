//! The log viewer's bundle (`frontend/log.html`, served for `/projects/:id/jobs/:job_id`): a job
//! and its whole log, kept out of the team app's download.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(stageboard_frontend::LogApp);
}
