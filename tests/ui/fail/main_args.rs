#[strand::main]
async fn main(args: Vec<String>, verbose: bool) {
    println!("{args:?} {verbose}");
}
