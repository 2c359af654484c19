//! Name resolution runs on the blocking pool and never stalls the runtime thread; IP literals
//! skip the pool.

mod util;

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use strand::net::lookup_host;
use util::within;

#[test]
fn lookup_host_keeps_the_runtime_responsive_and_literals_skip_the_pool() {
    // One blocking thread, which we occupy: a host-name lookup must queue behind it.
    let rt = strand::Runtime::builder()
        .max_blocking_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let blocker = strand::spawn_blocking(move || release_rx.recv().unwrap());

        let lookup = strand::spawn(async {
            lookup_host("localhost:8080")
                .await
                .map(|addrs| addrs.collect::<Vec<SocketAddr>>())
        });

        // While the lookup waits for the pool, the runtime thread keeps running timers and
        // tasks.
        let ticks = Rc::new(Cell::new(0));
        for _ in 0..20 {
            strand::time::sleep(Duration::from_millis(1)).await;
            ticks.set(ticks.get() + 1);
        }
        assert_eq!(ticks.get(), 20);
        assert!(
            !lookup.is_finished(),
            "a host name was resolved without the blocking pool"
        );

        // Literals resolve in place, even with the pool busy.
        let lit: Vec<_> = within(
            Duration::from_secs(5),
            "literal",
            lookup_host("127.0.0.1:80"),
        )
        .await
        .unwrap()
        .collect();
        assert_eq!(lit, vec!["127.0.0.1:80".parse::<SocketAddr>().unwrap()]);
        let lit6: Vec<_> = lookup_host(("::1", 443)).await.unwrap().collect();
        assert_eq!(lit6, vec!["[::1]:443".parse::<SocketAddr>().unwrap()]);

        release_tx.send(()).unwrap();
        blocker.await.unwrap();
        let addrs = within(Duration::from_secs(20), "lookup", lookup)
            .await
            .unwrap()
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080),
            "{addrs:?}"
        );
    });
}

#[test]
fn lookup_errors_are_reported() {
    strand::block_on(async {
        let err = lookup_host("localhost").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let err = lookup_host("127.0.0.1:notaport").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
}
