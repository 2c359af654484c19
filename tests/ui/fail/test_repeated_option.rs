#[strand::test(start_paused = true, start_paused = false)]
async fn repeated() {}

fn main() {}
