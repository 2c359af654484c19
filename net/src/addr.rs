//! Address resolution: the [`ToSocketAddrs`] trait the socket constructors take, and
//! [`lookup_host`].
//!
//! IP literals (`"127.0.0.1:8080"`, `"[::1]:80"`, `(Ipv4Addr, u16)`, `SocketAddr`, ...) resolve
//! in place, without a thread hop. Host names go through the system resolver
//! (`getaddrinfo`), which blocks, so they run on the runtime's blocking pool
//! ([`strand_executor::task::spawn_blocking`]) and never on the runtime thread.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::vec;

/// Types that resolve to one or more socket addresses; what `bind`, `connect` and
/// [`lookup_host`] take.
///
/// Implemented for the same types as [`std::net::ToSocketAddrs`]: [`SocketAddr`] and its V4/V6
/// forms, `(IpAddr, u16)` (and the V4/V6 forms), `(&str, u16)`, `(String, u16)`, `&str` and
/// `String` in `"host:port"` form, `&[SocketAddr]`, and references to any of these. It is sealed:
/// strand needs to know which values are literals to skip the blocking pool.
///
/// ```
/// use strand_net::ToSocketAddrs;
/// fn takes(_: impl ToSocketAddrs) {}
/// takes("127.0.0.1:8080");
/// takes(("localhost", 80));
/// takes(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::Resolve;

    /// The hidden half of [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait ToSocketAddrsPriv {
        /// Resolves literals in place; names become a lookup to run on the blocking pool.
        fn to_resolve(&self) -> Resolve;
    }
}

/// What a [`ToSocketAddrs`] value turns into before any blocking lookup.
#[doc(hidden)]
#[derive(Debug)]
pub enum Resolve {
    /// Already resolved (a literal), or an error found without a lookup.
    Done(io::Result<SocketAddrs>),
    /// A `(host, port)` pair for the resolver.
    Pair(String, u16),
    /// A `"host:port"` string for the resolver.
    Str(String),
}

/// The addresses a [`ToSocketAddrs`] value resolved to, in resolver order; what
/// [`lookup_host`] returns.
#[derive(Debug, Clone)]
pub struct SocketAddrs {
    inner: AddrsInner,
}

#[derive(Debug, Clone)]
enum AddrsInner {
    One(Option<SocketAddr>),
    Many(vec::IntoIter<SocketAddr>),
}

impl SocketAddrs {
    fn one(addr: SocketAddr) -> Self {
        SocketAddrs {
            inner: AddrsInner::One(Some(addr)),
        }
    }

    fn many(addrs: Vec<SocketAddr>) -> Self {
        SocketAddrs {
            inner: AddrsInner::Many(addrs.into_iter()),
        }
    }
}

impl Iterator for SocketAddrs {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match &mut self.inner {
            AddrsInner::One(a) => a.take(),
            AddrsInner::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            AddrsInner::One(a) => {
                let n = usize::from(a.is_some());
                (n, Some(n))
            }
            AddrsInner::Many(it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for SocketAddrs {}

/// Resolves `host` to socket addresses.
///
/// IP literals resolve at once on the calling thread; host names are looked up with the system
/// resolver on the runtime's blocking pool, so the runtime thread keeps running other tasks
/// while `getaddrinfo` blocks. The host must carry a port, as with
/// [`std::net::ToSocketAddrs`]: `"example.com:80"` or `("example.com", 80)`.
///
/// Cancel safety: cancelling drops the result; a lookup already running on the blocking pool
/// finishes there and its result is discarded.
///
/// # Errors
/// What the resolver reports (for example an unknown host), or `InvalidInput` for a string
/// without a port.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// for addr in strand_net::lookup_host(("localhost", 8080)).await? {
///     println!("{addr}");
/// }
/// # Ok(()) }
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(host: A) -> io::Result<SocketAddrs> {
    to_socket_addrs(&host).await
}

/// Resolves `addr`, on the blocking pool only when it is not a literal.
pub(crate) async fn to_socket_addrs<A: ToSocketAddrs + ?Sized>(
    addr: &A,
) -> io::Result<SocketAddrs> {
    match addr.to_resolve() {
        Resolve::Done(res) => res,
        Resolve::Pair(host, port) => {
            blocking_lookup(move || {
                std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            })
            .await
        }
        Resolve::Str(s) => {
            blocking_lookup(move || std::net::ToSocketAddrs::to_socket_addrs(s.as_str())).await
        }
    }
}

async fn blocking_lookup<I>(
    f: impl FnOnce() -> io::Result<I> + Send + 'static,
) -> io::Result<SocketAddrs>
where
    I: Iterator<Item = SocketAddr>,
{
    let handle =
        strand_executor::task::spawn_blocking(move || f().map(|it| it.collect::<Vec<_>>()));
    match handle.await {
        Ok(res) => res.map(SocketAddrs::many),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Resolves to the first address or to the error of the last attempt, like std's helpers.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any addresses",
    )
}

macro_rules! literal_impl {
    ($($t:ty),* $(,)?) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::ToSocketAddrsPriv for $t {
            fn to_resolve(&self) -> Resolve {
                Resolve::Done(Ok(SocketAddrs::one(SocketAddr::from(*self))))
            }
        }
    )*};
}

literal_impl!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16),
    ([u8; 4], u16),
    ([u8; 16], u16),
    ([u16; 8], u16),
);

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::ToSocketAddrsPriv for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(Ok(SocketAddrs::many(self.to_vec())))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl sealed::ToSocketAddrsPriv for Vec<SocketAddr> {
    fn to_resolve(&self) -> Resolve {
        self.as_slice().to_resolve()
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::ToSocketAddrsPriv for [SocketAddr; N] {
    fn to_resolve(&self) -> Resolve {
        self.as_slice().to_resolve()
    }
}

impl ToSocketAddrs for str {}
impl sealed::ToSocketAddrsPriv for str {
    fn to_resolve(&self) -> Resolve {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Resolve::Done(Ok(SocketAddrs::one(addr)));
        }
        Resolve::Str(self.to_owned())
    }
}

impl ToSocketAddrs for String {}
impl sealed::ToSocketAddrsPriv for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Resolve::Done(Ok(SocketAddrs::one(SocketAddr::new(ip, port))));
        }
        Resolve::Pair(host.to_owned(), port)
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

impl fmt::Display for SocketAddrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for a in self.clone() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::ToSocketAddrsPriv;
    use super::*;

    fn done(r: Resolve) -> Vec<SocketAddr> {
        match r {
            Resolve::Done(Ok(a)) => a.collect(),
            other => panic!("expected a literal, got {other:?}"),
        }
    }

    #[test]
    fn literals_resolve_without_a_lookup() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(done("127.0.0.1:80".to_resolve()), vec![v4]);
        assert_eq!(done("[::1]:443".to_resolve()), vec![v6]);
        assert_eq!(done(("127.0.0.1", 80).to_resolve()), vec![v4]);
        assert_eq!(done(("::1", 443).to_resolve()), vec![v6]);
        assert_eq!(done((Ipv4Addr::LOCALHOST, 80).to_resolve()), vec![v4]);
        assert_eq!(done(v4.to_resolve()), vec![v4]);
        assert_eq!(
            done(<&SocketAddr as ToSocketAddrsPriv>::to_resolve(&&v4)),
            vec![v4]
        );
        assert_eq!(done([v4, v6].to_resolve()), vec![v4, v6]);
        assert_eq!(done(String::from("127.0.0.1:80").to_resolve()), vec![v4]);
    }

    #[test]
    fn names_go_to_the_resolver() {
        assert!(matches!("localhost:80".to_resolve(), Resolve::Str(s) if s == "localhost:80"));
        assert!(matches!(("localhost", 80).to_resolve(), Resolve::Pair(h, 80) if h == "localhost"));
    }

    #[test]
    fn socket_addrs_iterates_in_order() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let it = SocketAddrs::many(vec![a, b]);
        assert_eq!(it.len(), 2);
        assert_eq!(it.to_string(), "127.0.0.1:1, 127.0.0.1:2");
        assert_eq!(it.collect::<Vec<_>>(), vec![a, b]);
    }
}
