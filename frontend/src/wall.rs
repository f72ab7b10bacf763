//! The wall's bundle (`frontend/wall.html`, served under `/wall`): a board's tiles on a screen
//! across the room, kept out of the team app's download and small for the computer behind a TV.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(stageboard_frontend::WallApp);
}
