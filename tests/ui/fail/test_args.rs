#[strand::test]
async fn takes_an_argument(port: u16) {
    assert_ne!(port, 0);
}

fn main() {}
