#[strand::main]
async fn main<T: Default + std::fmt::Debug>() {
    println!("{:?}", T::default());
}
