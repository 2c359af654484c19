//! The optional ecosystem trait impls: `cargo test -p strand-net --features tokio-io,hyper`.

#[cfg(feature = "tokio-io")]
#[test]
fn tokio_io_traits_drive_strand_streams() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    strand::block_on(async {
        let listener = strand_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = strand_net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let echo = strand::spawn(async move {
            let (mut r, mut w) = server.into_split();
            let n = tokio::io::copy(&mut r, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
            n
        });
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let (mut r, mut w) = client.split();
        let write = async {
            w.write_all(&data).await.unwrap();
            w.shutdown().await.unwrap();
        };
        let read = async {
            let mut back = Vec::new();
            r.read_to_end(&mut back).await.unwrap();
            back
        };
        let ((), back) = futures_lite::future::zip(write, read).await;
        assert!(back == data);
        assert_eq!(echo.await.unwrap(), data.len() as u64);
        // Unix streams too.
        let (mut a, mut b) = strand_net::UnixStream::pair().unwrap();
        a.write_all(b"tokio traits").await.unwrap();
        drop(a);
        let mut s = String::new();
        b.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "tokio traits");
        let _ = &mut client;
    });
}

#[cfg(feature = "hyper")]
#[test]
fn hyper_serves_and_requests_over_strand_streams() {
    use hyper::body::Incoming;
    use hyper::{Request, Response};
    use std::convert::Infallible;

    strand::block_on(async {
        let listener = strand_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        strand::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                Ok::<_, Infallible>(Response::new(format!("hello {}", req.uri().path())))
            });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(stream, service)
                .await
                .unwrap();
        });
        let stream = strand_net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(stream)
            .await
            .unwrap();
        strand::spawn(async move {
            let _ = conn.await;
        });
        for path in ["/a", "/b"] {
            let req = Request::builder()
                .uri(path)
                .header("host", "localhost")
                .body(String::new())
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), 200);
            let mut body = resp.into_body();
            let mut text = Vec::new();
            while let Some(frame) = std::future::poll_fn(|cx| {
                hyper::body::Body::poll_frame(std::pin::Pin::new(&mut body), cx)
            })
            .await
            {
                if let Ok(data) = frame.unwrap().into_data() {
                    text.extend_from_slice(&data);
                }
            }
            assert_eq!(text, format!("hello {path}").as_bytes());
        }
    });
}
