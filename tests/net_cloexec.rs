//! Every socket strand creates is close-on-exec: a child process inherits none of them.

mod util;

use std::process::Command;

use strand::net::{TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixStream};
use util::run;

#[test]
fn child_processes_inherit_no_strand_socket() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (u1, u2) = UnixStream::pair().unwrap();
        let (d1, d2) = UnixDatagram::pair().unwrap();
        let sock = TcpSocket::new_v4().unwrap();

        // The shell lists what its own descriptors point to; sockets show as "socket:[inode]".
        let out = Command::new("sh")
            .arg("-c")
            .arg("for f in /proc/$$/fd/*; do readlink \"$f\" || true; done")
            .output()
            .expect("run sh");
        assert!(out.status.success());
        let listing = String::from_utf8_lossy(&out.stdout);
        // The listing works: the child's stdout is the pipe `output()` reads.
        assert!(listing.contains("pipe:"), "unexpected listing:\n{listing}");
        assert!(
            !listing.contains("socket:"),
            "the child inherited sockets:\n{listing}"
        );
        drop((listener, client, accepted, udp, u1, u2, d1, d2, sock));
    });
}
