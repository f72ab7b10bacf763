// The SPA in ../dist is embedded into the binary (src/spa.rs): rebuild when Trunk rewrites it.
fn main() {
    println!("cargo:rerun-if-changed=../dist");
}
