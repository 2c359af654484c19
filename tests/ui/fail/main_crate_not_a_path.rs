#[strand::main(crate = "strand::")]
async fn main() {}

#[strand::main(crate = "two words")]
async fn other() {}
