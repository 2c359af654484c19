//! Load harness (work in progress): echo and HTTP servers on strand, tokio, smol and a raw mio
//! loop, driven by a closed-loop generator on strand. See docs/BENCHMARKS.md.
fn main() {
    eprintln!("load harness: not wired up yet");
}
