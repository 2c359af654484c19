//! `RuntimeMetrics`: the counters count what the program did.

use std::time::Duration;

use strand::io::{AsyncReadExt, AsyncWriteExt};
use strand::net::{TcpListener, TcpStream};
use strand::runtime::{poll_time_bucket_range, Handle, POLL_TIME_BUCKETS};

#[test]
fn metrics_count_tasks_polls_timers_io_and_blocking_jobs() {
    let rt = strand::Runtime::new().unwrap();
    let m0 = rt.metrics();
    assert_eq!(m0, strand::runtime::RuntimeMetrics::default());

    rt.block_on(async {
        // 10 tasks, each polled twice (one yield).
        let hs: Vec<_> = (0..10)
            .map(|_| strand::spawn(async { strand::task::yield_now().await }))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let m = Handle::current().metrics();
        assert_eq!(m.tasks_spawned, 10);
        assert_eq!(m.tasks_alive, 0);
        assert_eq!(m.polls, 20);

        // Three timers fire.
        for _ in 0..3 {
            strand::time::sleep(Duration::from_millis(1)).await;
        }
        // A blocking job.
        strand::spawn_blocking(|| 1).await.unwrap();
        // I/O: an echo over a socket pair.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let echo = strand::spawn(async move {
            let mut buf = [0u8; 4];
            server.read_exact(&mut buf).await.unwrap();
            server.write_all(&buf).await.unwrap();
        });
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        client.read_exact(&mut buf).await.unwrap();
        echo.await.unwrap();
        // The listener and the client (the server side went with the finished task).
        assert_eq!(Handle::current().metrics().io_registrations, 2);
        // A task that is alive while we look.
        let idle = strand::spawn(std::future::pending::<()>());
        strand::task::yield_now().await;
        assert_eq!(Handle::current().metrics().tasks_alive, 1);
        idle.abort();
        assert!(idle.await.unwrap_err().is_cancelled());
    });

    // A blocking job leaves the in-flight count just after its result is delivered.
    let mut m = rt.metrics();
    for _ in 0..1000 {
        if m.blocking_in_flight == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
        m = rt.metrics();
    }
    assert_eq!(m.tasks_spawned, 12);
    assert_eq!(m.tasks_alive, 0);
    assert!(m.polls >= 23, "{m:?}");
    assert!(m.timers_fired >= 3, "{m:?}");
    assert!(m.events >= 2, "{m:?}");
    assert!(m.reactor_turns >= 4, "{m:?}");
    assert!(m.local_schedules > 0, "{m:?}");
    assert!(m.ticks > 0);
    assert_eq!(m.io_registrations, 0, "every socket was dropped");
    assert_eq!(m.timers_armed, 0);
    assert_eq!(m.blocking_in_flight, 0);
    assert_eq!(m.blocking_queue_depth, 0);
    assert!(m.blocking_threads <= 1);
    assert_eq!(
        (m.slow_polls, m.deadlocks_detected, m.hangs_detected),
        (0, 0, 0)
    );
}

#[test]
fn remote_spawns_and_wakes_are_counted_as_remote() {
    let rt = strand::Runtime::new().unwrap();
    let handle = rt.handle();
    let spawned = std::thread::spawn(move || {
        (0..5)
            .map(|i| handle.spawn(async move { i }))
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    rt.block_on(async {
        for h in spawned {
            h.await.unwrap();
        }
    });
    let m = rt.metrics();
    assert_eq!(m.tasks_spawned, 5);
    assert!(m.remote_schedules >= 5, "{m:?}");
}

#[test]
fn a_busy_task_is_made_to_yield_by_its_budget() {
    let rt = strand::Runtime::new().unwrap();
    rt.block_on(async {
        strand::spawn(async {
            let (tx, mut rx) = strand::sync::mpsc::unbounded_channel();
            for i in 0..1000 {
                tx.send(i).unwrap();
            }
            for _ in 0..1000 {
                rx.recv().await.unwrap();
            }
        })
        .await
        .unwrap();
    });
    assert!(rt.metrics().budget_forced_yields >= 1);
}

#[test]
fn the_poll_time_histogram_counts_every_poll_when_on() {
    let rt = strand::Runtime::builder()
        .poll_time_histogram(true)
        .build()
        .unwrap();
    rt.block_on(async {
        strand::spawn(async {
            std::thread::sleep(Duration::from_millis(20));
        })
        .await
        .unwrap();
        for _ in 0..9 {
            strand::spawn(async {}).await.unwrap();
        }
    });
    let m = rt.metrics();
    let total: u64 = m.poll_time_histogram.iter().sum();
    // Ten task polls and the block_on future's polls.
    assert!(total >= 10, "{m:?}");
    // The 20 ms poll lands in the last bucket (16 ms and more).
    assert!(m.poll_time_histogram[POLL_TIME_BUCKETS - 1] >= 1, "{m:?}");
    assert!(poll_time_bucket_range(POLL_TIME_BUCKETS - 1).contains(&Duration::from_millis(20)));
}
