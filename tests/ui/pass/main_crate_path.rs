// `crate = "..."` names the facade through a re-export or a rename.
mod reexport {
    pub use ::strand as rt;
}

#[strand::test(crate = "reexport::rt")]
async fn through_a_reexport() {}

#[strand::main(crate = "reexport::rt")]
async fn run_through_a_reexport() -> u32 {
    1
}

#[strand::main(crate = "::strand")]
async fn run_with_leading_colons() -> u32 {
    2
}

#[strand::main(crate = r"strand",)]
async fn run_with_a_raw_string() -> u32 {
    3
}

#[strand::main(crate = "reexport::rt")]
async fn main() {
    let sum = std::thread::spawn(|| {
        run_through_a_reexport() + run_with_leading_colons() + run_with_a_raw_string()
    })
    .join()
    .unwrap();
    assert_eq!(sum, 6);
}
