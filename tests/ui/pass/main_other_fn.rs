// On a function other than `main`, `#[strand::main]` makes a blocking function that keeps
// its parameters and runs its body on a new runtime per call.
#[strand::main]
async fn add_later(a: u32, b: &str) -> u32 {
    let b: u32 = b.parse().unwrap();
    strand::spawn(async move { a + b }).await.unwrap()
}

#[strand::main]
pub(crate) async fn with_where_clause() -> String
where
    String: Clone,
{
    String::from("ok")
}

fn main() {
    assert_eq!(add_later(40, "2"), 42);
    assert_eq!(add_later(1, "1"), 2);
    assert_eq!(with_where_clause(), "ok");
}
