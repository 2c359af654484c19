#[strand::test(start_paused)]
async fn missing_value() {}

#[strand::test(start_paused =)]
async fn missing_value_after_eq() {}

#[strand::test(start_paused = true false)]
async fn two_values() {}

#[strand::test(, start_paused = true)]
async fn empty_option() {}

#[strand::test("start_paused")]
async fn not_a_name() {}

fn main() {}
