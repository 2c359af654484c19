// `async fn main()` runs its body on a runtime: spawn and timers work.
use std::time::Duration;

#[strand::main]
async fn main() {
    let task = strand::spawn(async {
        strand::time::sleep(Duration::from_millis(1)).await;
        6 * 7
    });
    assert_eq!(task.await.unwrap(), 42);
}
