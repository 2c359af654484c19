#!/usr/bin/env python3
"""User-space instructions per echo round trip of one load-harness server, under callgrind.

The load harness measures server CPU time, which on a shared VM moves by +-10 % between runs
and is ~90 % kernel (TCP over loopback). This counts what the runtime itself executes, exactly:
it starts `<load bench binary> --serve <runtime> --mode echo` under
`valgrind --tool=callgrind`, drives it from here with CONNS connections in lockstep (every
connection sends 64 B, then every connection reads its echo: one round), once for 50 rounds
and once for 250, and reports (Ir(250) - Ir(50)) / (200 * CONNS): start-up and connection
set-up cancel out.

    cargo bench --bench load --no-run      # prints the binary's path
    python3 benches/load/callgrind_rt.py <binary> strand [CONNS]
    callgrind_annotate target/callgrind/<binary>-strand.250.out | head -40

Outputs go to ./target/callgrind/ (or $CALLGRIND_OUT_DIR).
"""
import os
import socket
import subprocess
import sys


def run(binary, runtime, rounds, conns, out):
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
         binary, "--serve", runtime, "--mode", "echo"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while True:
        line = server.stdout.readline().decode()
        if line.startswith("addr "):
            break
        if not line:
            sys.exit("server exited before announcing its address")
    host, port = line.split()[1].rsplit(":", 1)
    socks = []
    for _ in range(conns):
        s = socket.create_connection((host, int(port)), timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(s)
    msg = b"x" * 64
    for _ in range(rounds):
        for s in socks:
            s.sendall(msg)
        for s in socks:
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    sys.exit("server closed a connection")
                got += chunk
            if got != msg:
                sys.exit("echo differs")
    for s in socks:
        s.close()
    server.stdin.close()  # the server exits when its stdin closes
    server.wait(timeout=120)
    with open(out) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    sys.exit("no instruction total in " + out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, runtime = sys.argv[1], sys.argv[2]
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    out_dir = os.environ.get("CALLGRIND_OUT_DIR", os.path.join("target", "callgrind"))
    os.makedirs(out_dir, exist_ok=True)
    tag = os.path.join(out_dir, "%s-%s" % (os.path.basename(binary), runtime))
    short = run(binary, runtime, 50, conns, tag + ".50.out")
    long = run(binary, runtime, 250, conns, tag + ".250.out")
    per_rt = (long - short) / (200.0 * conns)
    print("%s: %.0f user-space instructions per round trip (%d connections)"
          % (runtime, per_rt, conns))


if __name__ == "__main__":
    main()
