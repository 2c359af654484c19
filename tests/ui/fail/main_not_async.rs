#[strand::main]
fn main() {
    println!("not async");
}
