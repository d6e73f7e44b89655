"""tests/cli/pipefeed.py -- what the service and reload tests' drivers share:
a classic pcap fed to `egret -r -` through a pipe in parts, and waiting for
egret to say something on stderr.  (The drivers import it through
PYTHONPATH, set by their shell scripts.)"""
import fcntl
import struct
import sys
import termios
import time

T0 = 1740823200  # 2025-03-01T10:00:00Z
MAC = dict(src="02:00:00:00:01:0a", dst="02:00:00:00:00:01")
HDR = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)


def rec(pkt, t):
    """One pcap record of a scapy packet at time t (seconds)."""
    b = bytes(pkt)
    return struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)), len(b), len(b)) + b


def send(p, data):
    """Writes data to egret's stdin and returns once egret has read all
    of it from the pipe (and had half a second to feed it)."""
    p.stdin.write(data)
    p.stdin.flush()
    deadline = time.time() + 10
    buf = bytearray(4)
    while time.time() < deadline:
        fcntl.ioctl(p.stdin.fileno(), termios.FIONREAD, buf)
        if struct.unpack("i", buf)[0] == 0:
            break
        time.sleep(0.02)
    time.sleep(0.5)


def wait_text(path, text, n=1):
    """Waits (10 s at most) until the file at path holds text n times;
    exits the driver with a message otherwise."""
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(path) as f:
            if f.read().count(text) >= n:
                return
        time.sleep(0.05)
    sys.exit("driver: timed out waiting for %r on stderr" % text)
