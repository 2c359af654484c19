#[strand::test(start_paused = 1)]
async fn number() {}

#[strand::test(start_paused = "true")]
async fn string() {}

#[strand::test(crate = strand)]
async fn unquoted_crate() {}

#[strand::test(crate = b"strand")]
async fn byte_string_crate() {}

fn main() {}
