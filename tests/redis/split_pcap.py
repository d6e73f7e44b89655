#!/usr/bin/env python3
"""split_pcap.py IN OUT_A OUT_B -- splits a capture "by egress": TCP and
UDP flows (by 5-tuple, in order of first packet) go alternately to A and B;
DNS (port 53) and non-IP packets go to both, so both halves know the same
names.  The same internal hosts appear in both.  Ethernet/IPv4 only."""
import struct
import sys


def main():
    src, out_a, out_b = sys.argv[1:4]
    d = open(src, 'rb').read()
    hdr, off = d[:24], 24
    fa, fb = open(out_a, 'wb'), open(out_b, 'wb')
    fa.write(hdr)
    fb.write(hdr)
    side = {}
    while off + 16 <= len(d):
        incl = struct.unpack('<I', d[off + 8:off + 12])[0]
        rec = d[off:off + 16 + incl]
        pkt = rec[16:]
        off += 16 + incl
        dest = (fa, fb)
        if len(pkt) >= 34 and pkt[12:14] == b'\x08\x00' and pkt[23] in (6, 17):
            ihl = (pkt[14] & 15) * 4
            sp, dp = struct.unpack('>HH', pkt[14 + ihl:18 + ihl])
            if 53 not in (sp, dp):
                a = (pkt[26:30], sp)
                b = (pkt[30:34], dp)
                key = (pkt[23],) + tuple(sorted([a, b]))
                if key not in side:
                    side[key] = len(side) % 2
                dest = (fa,) if side[key] == 0 else (fb,)
        for f in dest:
            f.write(rec)
    fa.close()
    fb.close()


if __name__ == '__main__':
    main()
