//! The admin bundle (`frontend/admin.html`, served under `/audit`): the pages for who runs and
//! audits stageboard, kept out of the team app's download.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(stageboard_frontend::AdminApp);
}
