#[strand::main(flavor = "multi_thread", threads = 4)]
async fn main() {}
