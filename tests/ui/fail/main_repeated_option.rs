#[strand::main(crate = "strand", crate = "strand")]
async fn main() {}
