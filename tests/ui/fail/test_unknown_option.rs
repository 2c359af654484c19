#[strand::test(worker_threads = 2)]
async fn unknown() {}

#[strand::test(start_pause = true)]
async fn misspelled() {}

fn main() {}
