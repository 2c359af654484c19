#[strand::main]
struct Server;

fn main() {}
