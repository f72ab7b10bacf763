// The SPA in ../dist is embedded into the binary (src/spa.rs): rebuild when Trunk rewrites it.
fn main() {
    println!("cargo:rerun-if-changed=../dist");
    // The store's migrations are embedded too (sqlx::migrate!).
    println!("cargo:rerun-if-changed=migrations");
}
