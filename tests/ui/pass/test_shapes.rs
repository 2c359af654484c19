// Every `#[strand::test]` shape expands (the bodies run in tests/macros_test.rs).
#![deny(unused_attributes)]

/// A documented test.
#[strand::test]
async fn plain() {}

#[strand::test]
async fn returns_result() -> Result<(), String> {
    Ok(())
}

#[strand::test]
#[should_panic(expected = "boom")]
async fn should_panic() {
    panic!("boom");
}

#[strand::test]
#[ignore = "kept by the macro"]
async fn ignored() {}

#[strand::test]
#[cfg(any())]
async fn compiled_out() {
    this_function_does_not_exist();
}

#[strand::test(start_paused = true)]
async fn paused() {}

#[strand::test(start_paused = false, crate = "strand")]
async fn all_options() {}

#[strand::test(crate = "::strand", start_paused = true,)]
async fn options_in_any_order_with_a_trailing_comma() {}

mod inner {
    #[strand::test]
    pub async fn in_a_module() {}
}

fn main() {}
