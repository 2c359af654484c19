//! `#[strand::main]` and `#[strand::test]`: the attributes that start a strand program and
//! its async tests.
//!
//! Use them through the facade (`strand::main`, `strand::test`); this crate is a
//! `proc-macro` crate with no dependencies at all (it reads tokens with `proc_macro` alone, so
//! it builds in a fraction of a second). The code it emits names only the facade's public API:
//! `Runtime::builder()`, its setters, `build()` and `Runtime::block_on`, through `::strand` or
//! the path given with `crate = "..."`.
//!
//! ## Contract
//! - `#[strand::main]` turns `async fn main()` (or `async fn main() -> R`, for any `R` that
//!   `main` may return, such as `Result<(), E>`) into a plain `fn main() -> R` that builds a
//!   default runtime and `block_on`s the body. Whatever `main` returns is reported by the
//!   standard library as usual: an `Err` prints `Error: {err:?}` and exits with code 1.
//! - `#[strand::test]` turns `async fn name()` (or `-> Result<(), E>`) into a `#[test]` that
//!   runs the body on a fresh runtime of its own.
//! - Every other attribute on the function (doc comments, `#[should_panic]`, `#[ignore]`,
//!   `#[cfg]`, lint levels...) is kept on the generated function.
//! - Misuse (a missing `async`, arguments on `main` or on a test, generic parameters, an
//!   unknown, repeated or ill-typed option) is a compile error spanned at the offending
//!   tokens, and the function is still emitted so editors keep resolving its body.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod error;
mod expand;
mod item;
mod options;

/// Marks `async fn main` as the program's entry point, running it on a strand runtime.
///
/// The function becomes a plain `fn` that builds a default runtime with
/// `strand::Runtime::builder().build()` and `block_on`s the original body. When `main`
/// returns, the runtime is dropped: every task still pending has its future dropped, and the
/// process exits.
///
/// ```text
/// #[strand::main]
/// async fn main() {
///     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     println!("listening on {}", listener.local_addr().unwrap());
/// }
/// ```
///
/// `main` may return anything a synchronous `main` may return; an `Err` is printed as
/// `Error: {err:?}` on standard error and the process exits with code 1:
///
/// ```text
/// #[strand::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let config = std::fs::read_to_string("app.toml")?;
///     strand::spawn(async move { println!("{} bytes of config", config.len()) }).await?;
///     Ok(())
/// }
/// ```
///
/// Expands to (roughly):
///
/// ```text
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let body = async move { /* the original body */ };
///     ::strand::runtime::Runtime::builder()
///         .build()
///         .expect("failed to build the strand runtime")
///         .block_on(body)
/// }
/// ```
///
/// # Options
/// - `crate = "path"`: where the `strand` facade is, when it is not `::strand` (renamed in
///   `Cargo.toml`, or re-exported by another crate): `#[strand::main(crate = "my_rt::strand")]`.
///
/// # Errors at compile time
/// A function that is not `async`, a `main` with arguments, generic parameters, and any
/// unknown, repeated or ill-typed option are compile errors pointing at the offending tokens.
/// (`start_paused` is a test-only option, as in tokio; call `strand::time::pause()` in `main`
/// instead.) On a function not named `main`, `#[strand::main]` makes a blocking function that
/// keeps its parameters and runs its body on a new runtime on each call.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args, item)
}

/// Marks an `async fn` as a test that runs on a fresh strand runtime.
///
/// The function becomes a `#[test]` that builds its own runtime with
/// `strand::Runtime::builder()` and `block_on`s the body; the runtime (and every task still
/// pending) is dropped when the test returns. A test whose tasks deadlock on strand locks, or
/// that hangs with nothing left that could ever wake it, fails at once with the runtime's report
/// (the cycle, or a dump of every task) instead of waiting forever. Tests may return `Result<(), E>` (an `Err` fails
/// the test) and combine with `#[should_panic]`, `#[ignore]`, `#[cfg(...)]` and doc comments,
/// which are all kept.
///
/// ```text
/// #[strand::test]
/// async fn echo() -> std::io::Result<()> {
///     let listener = strand::net::TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let client = strand::spawn(async move { strand::net::TcpStream::connect(addr).await });
///     let (_server_side, _) = listener.accept().await?;
///     client.await??;
///     Ok(())
/// }
///
/// #[strand::test]
/// #[should_panic(expected = "boom")]
/// async fn panics() {
///     panic!("boom");
/// }
/// ```
///
/// # Options
/// - `start_paused = true`: the runtime's clock starts paused, so timers complete as soon as
///   every task is idle, without waiting in real time:
///
///   ```text
///   #[strand::test(start_paused = true)]
///   async fn an_hour_passes_at_once() {
///       let start = strand::time::Instant::now();
///       strand::time::sleep(std::time::Duration::from_secs(3600)).await;
///       assert!(start.elapsed() >= std::time::Duration::from_secs(3600));
///   }
///   ```
/// - `crate = "path"`: where the `strand` facade is, when it is not `::strand`.
///
/// # Errors at compile time
/// A function that is not `async`, that takes arguments or has generic parameters, a second
/// test attribute (`#[test]` is added for you), and any unknown, repeated or ill-typed option
/// are compile errors pointing at the offending tokens.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args, item)
}

/// Which attribute is being expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as users write it.
    fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "strand::main",
            Kind::Test => "strand::test",
        }
    }

    /// The end of an "unknown option" message.
    fn accepted_options(self) -> &'static str {
        match self {
            Kind::Main => "`#[strand::main]` accepts `crate = \"...\"`",
            Kind::Test => {
                "`#[strand::test]` accepts `start_paused = true|false` and `crate = \"...\"`"
            }
        }
    }
}
