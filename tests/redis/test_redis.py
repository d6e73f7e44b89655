#!/usr/bin/env python3
"""test_redis.py -- EVE to Redis (--eve-redis) against a real redis-server.

Starts Debian's redis-server on a unix socket in a temporary directory
(appendonly, so that a restart keeps the data) and checks:
  - stream, list and channel modes: Redis gets exactly the records -o writes
    (same count, same content, same order), each with the host field;
  - Redis down for a whole run: records go to the spool, a later run sends
    them first (in order), and the spool disappears; sending that spool a
    second time stores nothing twice (the stream's per-sensor sequence);
  - Redis stopped in the middle of a run and started again: every record
    arrives once, in order, the spool drains and is removed, the counters
    say so.
No timed assertions: waits have generous guards that only stop a hung test.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


class Resp:
    """A minimal RESP client (no redis module needed)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile('rb')

    def send(self, *args):
        out = [b'*%d\r\n' % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b'$%d\r\n%s\r\n' % (len(a), a))
        self.s.sendall(b''.join(out))

    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError('connection closed')
        t, rest = line[:1], line[1:-2]
        if t == b'+':
            return rest.decode()
        if t == b'-':
            raise RuntimeError(rest.decode())
        if t == b':':
            return int(rest)
        if t == b'$':
            n = int(rest)
            if n < 0:
                return None
            d = self.f.read(n + 2)
            return d[:-2]
        if t == b'*':
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError('bad reply %r' % line)

    def cmd(self, *args):
        self.send(*args)
        return self.read()

    def close(self):
        self.s.close()


class Server:
    def __init__(self, tmp):
        self.dir = os.path.join(tmp, 'redis')
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, 'redis.sock')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ['redis-server', '--port', '0', '--unixsocket', self.sock, '--dir', self.dir,
             '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--logfile',
             os.path.join(self.dir, 'log')],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):  # guard only: the server is up when it answers
            try:
                c = Resp(self.sock)
                if c.cmd('PING') == 'PONG':
                    c.close()
                    return
            except (OSError, EOFError, RuntimeError):
                pass
            time.sleep(0.05)
        raise SystemExit('redis-server did not start')

    def stop(self):
        if self.proc:
            try:
                c = Resp(self.sock)
                c.send('SHUTDOWN')  # appendonly: the data is on disk
                c.close()
            except OSError:
                self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def client(self):
        return Resp(self.sock)


def lines(path):
    with open(path, 'rb') as f:
        return [l.rstrip(b'\n') for l in f if l.strip()]


def stream(c, key):
    return [dict(zip(e[1][0::2], e[1][1::2]))[b'eve'] for e in c.cmd('XRANGE', key, '-', '+')]


def run(egret, args, stdin=None, check_rc=True):
    p = subprocess.run([egret] + args, stdin=stdin, capture_output=True)
    if check_rc and p.returncode != 0:
        print(p.stderr.decode())
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--egret', required=True)
    ap.add_argument('--pcaps', required=True)
    a = ap.parse_args()
    if not shutil.which('redis-server'):
        print('FAIL: redis-server not installed (Debian: apt-get install redis-server)')
        return 1
    tmp = tempfile.mkdtemp(prefix='egret-redis-')
    srv = Server(tmp)
    eg = a.egret
    pc = a.pcaps
    inputs = []
    for f in sorted(os.listdir(pc)):
        if f.endswith('.pcap'):
            inputs += ['-r', os.path.join(pc, f)]
    allt = ['--eve', 'alert,flow,stats,dns,tls,http', '--stats-interval', '2']
    try:
        srv.start()
        url = 'unix://' + srv.sock
        c = srv.client()

        # ---- stream, list, channel: Redis holds what -o wrote ----
        for mode in ('stream', 'list', 'channel'):
            out = os.path.join(tmp, mode + '.json')
            key = 'eve:' + mode
            sub = None
            if mode == 'channel':
                sub = srv.client()
                check(sub.cmd('SUBSCRIBE', key)[0] == b'subscribe', 'channel: subscribed')
            p = run(eg, inputs + allt + ['-o', out, '--eve-redis', url, '--redis-key', key,
                                             '--redis-mode', mode, '--sensor-name', 'sensor-a'])
            check(p.returncode == 0, '%s: egret exit 0' % mode)
            want = lines(out)
            if mode == 'stream':
                got = stream(c, key)
            elif mode == 'list':
                got = c.cmd('LRANGE', key, 0, -1)
            else:
                got = []
                sub.s.settimeout(60)  # guard: a lost message would hang here
                while len(got) < len(want):
                    m = sub.read()
                    got.append(m[2])
                sub.close()
            check(len(want) > 100, '%s: -o wrote %d records' % (mode, len(want)))
            check(got == want, '%s: Redis has the same %d records in the same order (got %d)'
                  % (mode, len(want), len(got)))
            check(all(b'"host":"sensor-a"' in l for l in want), '%s: every record has host' % mode)
            check(b'"eve_redis":{' in b''.join(l for l in want if b'"event_type":"stats"' in l),
                  '%s: stats records carry the sink counters' % mode)
            check(b'%d sent' % len(want) in p.stderr, '%s: summary counts %d sent' % (mode, len(want)))

        # ---- Redis down for a whole run: spool, then a later run sends it ----
        spool = os.path.join(tmp, 'spool')
        os.makedirs(spool)
        sfile = os.path.join(spool, 'egret-sensor-b.spool')
        common = ['--eve-redis', url, '--redis-key', 'eve:spool', '--redis-spool', spool,
                  '--sensor-name', 'sensor-b']
        c.close()
        srv.stop()
        out1 = os.path.join(tmp, 'down.json')
        p = run(eg, ['-r', os.path.join(pc, 'ai-upload.pcap')] + allt + ['-o', out1] + common)
        n1 = len(lines(out1))
        check(p.returncode == 0, 'down: egret exit 0 with Redis away')
        check(os.path.exists(sfile), 'down: the spool file is left for the next run')
        check(b'%d spooled (%d still in the spool)' % (n1, n1) in p.stderr,
              'down: summary says %d spooled, %d still spooled' % (n1, n1))
        saved = os.path.join(tmp, 'spool-copy')
        shutil.copy(sfile, saved)
        srv.start()
        c = srv.client()
        out2 = os.path.join(tmp, 'after.json')
        p = run(eg, ['-r', os.path.join(pc, 'http-host.pcap')] + allt + ['-o', out2] + common)
        check(p.returncode == 0, 'resume: egret exit 0')
        want = lines(out1) + lines(out2)
        check(stream(c, 'eve:spool') == want,
              'resume: the earlier run\'s %d records, then this run\'s %d, once and in order'
              % (n1, len(lines(out2))))
        check(not os.path.exists(sfile) and not os.path.exists(sfile + '.pos'),
              'resume: the drained spool is removed')
        # the same spool once more: the server skips every record it has
        shutil.copy(saved, sfile)
        out3 = os.path.join(tmp, 'again.json')
        p = run(eg, ['-r', os.path.join(pc, 'http-host.pcap')] + allt + ['-o', out3] + common)
        want += lines(out3)
        check(stream(c, 'eve:spool') == want, 'resend: nothing stored twice (exactly once)')
        check(b'%d duplicates skipped' % n1 in p.stderr, 'resend: %d duplicates counted' % n1)

        # ---- Redis stopped in the middle of a run and started again ----
        drip = open(os.path.join(pc, 'testnet-drip.pcap'), 'rb').read()
        import struct
        off, cuts = 24, []
        while off + 16 <= len(drip):
            cuts.append(off)
            off += 16 + struct.unpack('<I', drip[off + 8:off + 12])[0]
        half = cuts[len(cuts) // 2]
        out4 = os.path.join(tmp, 'mid.json')
        common = ['--eve-redis', url, '--redis-key', 'eve:mid', '--redis-spool', spool,
                  '--sensor-name', 'sensor-c', '--stats-interval', '1']
        sfile = os.path.join(spool, 'egret-sensor-c.spool')
        proc = subprocess.Popen([eg, '-r', '-', '--eve', 'alert,flow,stats,dns,tls,http', '-o',
                                 out4] + common, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdin.write(drip[:half])
        proc.stdin.flush()
        c.close()
        srv.stop()
        # the second half's stats records meet a stopped Redis: wait (guarded)
        # until the sink has spooled, feeding a packet at a time
        fed = half
        for i in range(len(cuts) // 2, len(cuts)):
            end = cuts[i + 1] if i + 1 < len(cuts) else len(drip)
            proc.stdin.write(drip[fed:end])
            proc.stdin.flush()
            fed = end
            if os.path.exists(sfile):
                break
            time.sleep(0.01)
        check(os.path.exists(sfile), 'mid-run: records spooled while Redis is stopped')
        srv.start()
        proc.stdin.write(drip[fed:])
        proc.stdin.close()
        err = proc.stderr.read()
        rc = proc.wait(timeout=120)
        c = srv.client()
        check(rc == 0, 'mid-run: egret exit 0')
        want = lines(out4)
        got = stream(c, 'eve:mid')
        check(got == want, 'mid-run: all %d records once and in order (got %d)'
              % (len(want), len(got)))
        check(not os.path.exists(sfile), 'mid-run: the spool drained and was removed')
        check(b'(0 still in the spool), 0 dropped' in err, 'mid-run: nothing dropped or left')
        check(b' 0 reconnects' not in err, 'mid-run: reconnects counted')
        rl = [l for l in err.decode().splitlines() if l.strip().startswith('redis ')]
        print('mid-run summary:', rl)
        check(rl and ' 0 spooled' not in rl[0], 'mid-run: spooled records counted')
        c.close()
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILS:
        print('%d check(s) failed' % len(FAILS))
        return 1
    print('all redis checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
