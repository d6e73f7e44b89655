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
    say so;
  - fleet-wide windows (--window-store): two sensors replaying the halves
    of a capture split by egress raise exactly one 9000002 alert where
    neither half does alone (and none with local windows), naming the
    crossing sensor and both sensors' parts; 9000005 is raised once for
    both; Redis lost before and during a sensor's run: the fallback to
    local windows is taken and reported, the run ends, and the shared
    windows come back when Redis does.
No timed assertions: waits have generous guards that only stop a hung test.
"""
import argparse
import os
import re
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


def alerts(path, sid):
    import json
    out = []
    for l in open(path):
        r = json.loads(l)
        if r['event_type'] == 'alert' and r['alert']['signature_id'] == sid:
            out.append(r)
    return out


def last_fleet(path):
    import json
    st = [json.loads(l) for l in open(path) if '"event_type":"stats"' in l]
    return st[-1]['stats']['detect']['rules'].get('fleet') if st else None


def fleet_checks(eg, pc, tmp, srv, url):
    split = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'split_pcap.py')
    a, b = os.path.join(tmp, 'egress-a.pcap'), os.path.join(tmp, 'egress-b.pcap')
    subprocess.run([sys.executable, split, os.path.join(pc, 'testnet-drip.pcap'), a, b], check=True)
    # 10.1.2.10 uploads ~1.9 MB to Mistral in 18 flows over ~8 min: the
    # threshold lies between one half and the whole
    th = ['--set', 'aggregate_upload.min_bytes=1500000', '--eve', 'alert,stats']
    whole = os.path.join(tmp, 'f-whole.json')
    run(eg, ['-q', '-r', os.path.join(pc, 'testnet-drip.pcap'), '-o', whole] + th)
    check(len(alerts(whole, 9000002)) == 1, 'fleet: the whole capture crosses the threshold')
    outs = {}
    for n, cap in (('a', a), ('b', b)):
        outs[n] = os.path.join(tmp, 'f-local-%s.json' % n)
        run(eg, ['-q', '-r', cap, '-o', outs[n]] + th)
    check(sum(len(alerts(o, 9000002)) for o in outs.values()) == 0,
          'fleet: local windows, neither half alerts')
    check(sum(len(alerts(o, 9000005)) for o in outs.values()) == 2,
          'fleet: local suppression, 9000005 once per sensor (2)')

    c = srv.client()
    c.cmd('FLUSHALL')
    c.close()
    for n, cap in (('a', a), ('b', b)):
        outs[n] = os.path.join(tmp, 'f-fleet-%s.json' % n)
        p = run(eg, ['-r', cap, '-o', outs[n], '--window-store', url, '--sensor-name',
                     'sensor-' + n] + th)
        check(p.returncode == 0, 'fleet: sensor-%s exit 0' % n)
        check(b'window store unreachable' not in p.stderr, 'fleet: sensor-%s shared windows' % n)
    al = [x for o in outs.values() for x in alerts(o, 9000002)]
    check(len(al) == 1, 'fleet: exactly one 9000002 alert for the two sensors (got %d)' % len(al))
    if al:
        why = al[0]['alert']['why']
        check(al[0].get('host') == 'sensor-b' and why.get('sensor') == 'sensor-b',
              'fleet: the alert names the sensor that crossed (sensor-b)')
        parts = why.get('sensor_bytes', {})
        check(set(parts) == {'sensor-a', 'sensor-b'} and all(v > 0 for v in parts.values()),
              'fleet: why has both sensors\' parts %r' % parts)
        check(why['upload_bytes_window'] >= 1500000 and
              abs(sum(parts.values()) - why['upload_bytes_window']) < 1,
              'fleet: the parts add up to the window total %r' % why['upload_bytes_window'])
    n5 = sum(len(alerts(o, 9000005)) for o in outs.values())
    check(n5 == 1, 'fleet: 9000005 raised once for both sensors (got %d)' % n5)
    fb = last_fleet(outs['b'])
    check(fb and fb['claims_lost'] >= 1 and fb['local'] is False and fb['failures'] == 0,
          'fleet: sensor-b counters %r' % fb)

    # Redis lost before a sensor runs: local windows, reported, no block
    srv.stop()
    o = os.path.join(tmp, 'f-down.json')
    p = subprocess.run([eg, '-r', b, '-o', o, '--window-store', url, '--sensor-name', 'sensor-b'] + th,
                       capture_output=True, timeout=120)
    check(p.returncode == 0, 'fleet down: exit 0')
    check(p.stderr.count(b'window store unreachable') == 1, 'fleet down: warned once')
    fd = last_fleet(o)
    check(fd and fd['local'] is True and fd['fallbacks'] >= 1 and fd['failures'] >= 1,
          'fleet down: the fallback is counted %r' % fd)
    check(len(alerts(o, 9000005)) == 1, 'fleet down: local suppression still raises 9000005')

    # Redis lost during a run, then back: fallback, then shared again.
    # The capture is fed through a pipe, packet by packet where the test
    # waits for egret to report a change (guarded, not timed).
    import struct
    import threading
    drip = open(b, 'rb').read()
    off, cuts = 24, []
    while off + 16 <= len(drip):
        cuts.append(off)
        off += 16 + struct.unpack('<I', drip[off + 8:off + 12])[0]
    cuts.append(len(drip))
    srv.start()
    o = os.path.join(tmp, 'f-mid.json')
    proc = subprocess.Popen([eg, '-v', '-r', '-', '-o', o, '--window-store', url, '--sensor-name',
                             'sensor-b'] + th, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    err = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    proc.stdin.write(drip[:cuts[len(cuts) // 3]])
    proc.stdin.flush()
    pos = len(cuts) // 3

    def feed_until(text):
        nonlocal pos
        while pos + 1 < len(cuts):
            if any(text in l for l in err):
                return True
            proc.stdin.write(drip[cuts[pos]:cuts[pos + 1]])
            proc.stdin.flush()
            pos += 1
            time.sleep(0.01)  # pacing only: the store retries once a second
        return any(text in l for l in err)

    srv.stop()
    lost = feed_until(b'window store unreachable')
    srv.start()
    back = feed_until(b'window store answers again')
    proc.stdin.write(drip[cuts[pos]:])
    proc.stdin.close()
    rc = proc.wait(timeout=120)
    reader.join(timeout=10)
    check(rc == 0, 'fleet lost mid-run: exit 0')
    check(lost and back, 'fleet lost mid-run: fallback reported, shared windows back')
    fm = last_fleet(o)
    check(fm and fm['local'] is False and fm['fallbacks'] == 1 and fm['failures'] >= 1,
          'fleet lost mid-run: counters %r' % fm)


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
    # bad settings: exit 2 with a clear message, before any input
    one = os.path.join(pc, 'http-host.pcap')
    for args, msg in ((['--eve-redis', 'http://x'], b'expected redis://'),
                      (['--eve-redis', 'redis://h:99999'], b'expected redis://'),
                      (['--window-store', 'rediss://h'], b'--window-store'),
                      (['--redis-mode', 'bogus'], b'expected stream, list or channel'),
                      (['--sensor-name', 'a"b'], b'--sensor-name'),
                      (['--sensor-name', 'a/b'], b'--sensor-name'),
                      (['--eve-redis', 'redis://h', '--redis-spool', os.path.join(tmp, 'none')],
                       b'not a writable directory')):
        p = run(eg, ['-r', one, '-o', os.devnull] + args, check_rc=False)
        check(p.returncode == 2 and msg in p.stderr, 'bad setting %s: exit 2' % ' '.join(args))
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
                # egret has exited: every message it published is ahead of
                # the PING's reply, so a surplus shows too (not only a loss)
                got = []
                sub.s.settimeout(60)  # guard only
                sub.send('PING')
                while True:
                    m = sub.read()
                    if m[0] == b'pong':
                        break
                    got.append(m[2])
                sub.close()
            check(len(want) > 100, '%s: -o wrote %d records' % (mode, len(want)))
            check(got == want, '%s: Redis has the same %d records in the same order (got %d)'
                  % (mode, len(want), len(got)))
            check(all(b'"host":"sensor-a"' in l for l in want), '%s: every record has host' % mode)
            check(b'"eve_redis":{' in b''.join(l for l in want if b'"event_type":"stats"' in l),
                  '%s: stats records carry the sink counters' % mode)
            check(re.search(rb'redis +%d sent,' % len(want), p.stderr) is not None,
                  '%s: summary counts %d sent' % (mode, len(want)))

        # ---- --redis-maxlen: the stream is trimmed (~: whole nodes) ----
        out = os.path.join(tmp, 'maxlen.json')
        p = run(eg, inputs + allt + ['-o', out, '--eve-redis', url, '--redis-key', 'eve:trim',
                                     '--redis-maxlen', '200'])
        want, got = lines(out), stream(c, 'eve:trim')
        check(p.returncode == 0 and len(want) > 1000, 'maxlen: egret exit 0, %d records' % len(want))
        check(200 <= len(got) < 400 and got == want[-len(got):],
              'maxlen: the stream keeps the newest %d (~200) records' % len(got))

        # ---- a stream key that holds something else: refused, said, counted ----
        c.cmd('SET', 'eve:wrong', 'x')
        wrong = os.path.join(tmp, 'wrong.json')
        p = run(eg, inputs + allt + ['-o', wrong, '--eve-redis', url, '--redis-key', 'eve:wrong'])
        check(p.returncode == 0 and b'key eve:wrong holds a string, not a stream' in p.stderr,
              'wrong type: egret says the key is not a stream')
        check(c.cmd('GET', 'eve:wrong') == b'x' and c.cmd('KEYS', 'eve:wrong:seq:*') == [],
              'wrong type: the key is left alone, no sequence stored')
        # the whole number: '0 sent' alone would also match '10 sent'
        m = re.search(rb'redis +(\d+) sent, .* (\d+) dropped', p.stderr)
        nw = len(lines(wrong))
        check(m and int(m.group(1)) == 0 and int(m.group(2)) == nw > 0,
              'wrong type: nothing sent, the %d records counted as dropped (%r)'
              % (nw, m and m.group(0)))

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
        # whole numbers (', 5 spooled' is also in ', 15 spooled'), and some
        check(n1 > 0 and b', %d spooled (%d still in the spool)' % (n1, n1) in p.stderr,
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
        check(b', %d duplicates skipped' % n1 in p.stderr, 'resend: %d duplicates counted' % n1)
        # a spool that overlaps what is stored: a stored prefix, new records
        # of the same run, a jump in seq (records the spool dropped), an old
        # seq again and another run; the script skips exactly the stored ones
        old = open(saved, 'rb').read().splitlines()
        run_id = old[0].split(b' ', 1)[0]
        rec = lambda i: b'{"event_type":"test","n":%d}' % i
        fresh = [(run_id, n1 + 1, rec(1)), (run_id, n1 + 2, rec(2)), (run_id, n1 + 9, rec(3)),
                 (run_id, 2, rec(4)), (b'1', 1, rec(5)), (b'1', 2, rec(6))]
        with open(sfile, 'wb') as f:
            f.write(b''.join(l + b'\n' for l in old[-3:]))
            f.write(b''.join(b'%s %d %s\n' % x for x in fresh))
        out4 = os.path.join(tmp, 'overlap.json')
        p = run(eg, ['-r', os.path.join(pc, 'http-host.pcap')] + allt + ['-o', out4] + common)
        want += [rec(1), rec(2), rec(3), rec(5), rec(6)] + lines(out4)
        check(stream(c, 'eve:spool') == want,
              'overlap: only the records not yet stored are appended, in order')
        check(b', 4 duplicates skipped' in p.stderr, 'overlap: 4 duplicates counted')

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
        for _ in range(3000):  # guard only: until the first records are in Redis
            if c.cmd('XLEN', 'eve:mid') > 0:
                break
            time.sleep(0.01)
        check(c.cmd('XLEN', 'eve:mid') > 0, 'mid-run: records sent before Redis stops')
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
        fleet_checks(eg, pc, tmp, srv, url)
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
