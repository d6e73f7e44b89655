/*
 * fuzz_keys.h -- the fixed TLS key log of the TLS targets: the secrets of
 * pcaps/tls/tls12-aes128gcm and tls13-aes128gcm (test captures the project
 * made; no real session), so that the seeds taken from those captures
 * decrypt and the fuzzer mutates past the handshake.
 */
#ifndef EGRET_FUZZ_KEYS_H
#define EGRET_FUZZ_KEYS_H

static const char fz_keylog[] =
    "CLIENT_RANDOM 10e20eff741a0ca3ffb868a0d98942451c01ec879e79352a4d5932564b494a54 "
    "84ed1d314f5780562a4ae96f231bbd0e2db19147d451555177529bd768c48e4c9cadffc140076ed351fd6d3191d1b4"
    "be\n"
    "SERVER_HANDSHAKE_TRAFFIC_SECRET "
    "48952be409254a78f799f39d7d7e2ea65160fee6551433be21f388ea8166ade5 "
    "ae34e54f933ddf2c86856be6a2f227f2ca9295f6dbb25261d69d4b2689a31667\n"
    "EXPORTER_SECRET 48952be409254a78f799f39d7d7e2ea65160fee6551433be21f388ea8166ade5 "
    "ded279d9c45fa32fcd823c227af1ae5875847c68073324b6cf2ec48703e6d1b7\n"
    "SERVER_TRAFFIC_SECRET_0 48952be409254a78f799f39d7d7e2ea65160fee6551433be21f388ea8166ade5 "
    "b1705d03087b2f2fab743fc6d24f599c215dabe7f02bdf0dc2874ad62b95af84\n"
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET "
    "48952be409254a78f799f39d7d7e2ea65160fee6551433be21f388ea8166ade5 "
    "6b562af1c0efb5b8620875279ee7c1feb4dd9dd521087f097a61ee127907ebe5\n"
    "CLIENT_TRAFFIC_SECRET_0 48952be409254a78f799f39d7d7e2ea65160fee6551433be21f388ea8166ade5 "
    "aea65b91c9e71234e18afcc10d79df794d02a5ef429692d21990a8c76be506e9\n";

#endif /* EGRET_FUZZ_KEYS_H */
