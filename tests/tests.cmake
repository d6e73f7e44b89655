# tests/tests.cmake -- integration tests registered with ctest (included
# from the top-level CMakeLists.txt).  Unit tests are globbed there.
set(EGRET_PY /usr/bin/python3)
set(EGRET_SHARED_PCAPS ${CMAKE_SOURCE_DIR}/../shared/pcaps)

if(EXISTS ${CMAKE_SOURCE_DIR}/tests/cli/test_cli.sh)
  add_test(NAME cli COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_cli.sh
    $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-cli)
  set_tests_properties(cli PROPERTIES LABELS integration TIMEOUT 300)
endif()

if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/run.py)
  add_test(NAME integration COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/integration/run.py
    --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR})
  set_tests_properties(integration PROPERTIES LABELS integration TIMEOUT 600)
endif()

# Agreement with ndpiReader 4.2 on the nDPI project's captures: only when
# ../shared/pcaps exists (it is not copied into this repository).
if(EXISTS ${EGRET_SHARED_PCAPS} AND EXISTS ${CMAKE_SOURCE_DIR}/tests/ndpi_agreement.py)
  add_test(NAME ndpi_agreement COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/ndpi_agreement.py
    --egret $<TARGET_FILE:egret> --min 99.0 ${EGRET_SHARED_PCAPS})
  set_tests_properties(ndpi_agreement PROPERTIES LABELS shared TIMEOUT 600)
else()
  message(STATUS "egret: ../shared/pcaps not found; the ndpiReader agreement suite is not registered")
endif()

# --evidence DIR: per-alert files (alert JSON, pcap slice, redacted sample),
# nothing without the option, unusable paths are exit 2.
add_test(NAME evidence COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_evidence.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-evidence ${CMAKE_SOURCE_DIR})
set_tests_properties(evidence PROPERTIES LABELS integration TIMEOUT 120)

# Clear-text HTTP inspection on the nDPI project's HTTP captures (ipp,
# http_auth, WebattackRCE): only when ../shared/pcaps exists.
if(EXISTS ${EGRET_SHARED_PCAPS}/WebattackRCE.pcap AND
   EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/test_shared_http.py)
  add_test(NAME shared_http COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/integration/test_shared_http.py
    --egret $<TARGET_FILE:egret> ${EGRET_SHARED_PCAPS})
  set_tests_properties(shared_http PROPERTIES LABELS shared TIMEOUT 300)
endif()

add_test(NAME install COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/test_install.sh
  ${CMAKE_BINARY_DIR} ${CMAKE_BINARY_DIR}/tests-install ${CMAKE_SOURCE_DIR})
set_tests_properties(install PROPERTIES LABELS integration TIMEOUT 120)

# The rule-author test kit over every shipped rule, through the CLI.
add_test(NAME rules_kit COMMAND $<TARGET_FILE:egret> test ${CMAKE_SOURCE_DIR}/tests/rules)
set_tests_properties(rules_kit PROPERTIES LABELS integration TIMEOUT 300)
add_test(NAME rules_check COMMAND $<TARGET_FILE:egret> --check-rules)
set_tests_properties(rules_check PROPERTIES LABELS integration TIMEOUT 60)

# Flow-table memory bound under a SYN flood (counters and peak RSS, no timings).
# Not under ASan: its shadow memory makes the peak-RSS bound meaningless
# (the counters are the same in both builds; the release build checks them).
if(NOT EGRET_SANITIZE)
  add_test(NAME synflood COMMAND bash ${CMAKE_SOURCE_DIR}/tests/perf/test_synflood.sh
    $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-perf)
  set_tests_properties(synflood PROPERTIES LABELS integration TIMEOUT 120)
endif()

# SIGHUP rule reload (atomic; a broken set keeps the old one), --check-rules
# and failing capture tests of `egret test`, through the CLI.
add_test(NAME config_file COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_config.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-config)
set_tests_properties(config_file PROPERTIES LABELS integration TIMEOUT 120)

add_test(NAME rules_reload COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_reload.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-reload)
set_tests_properties(rules_reload PROPERTIES LABELS integration TIMEOUT 120)

# Every committed capture (pcaps/: the test network's recordings and the
# synthetic ones) against its expectation file pcaps/NAME.expect.json
# (tests/testnet/README.md), exactly; and one live run on a
# namespace network (needs root; EGRET_SKIP_LIVE=1 turns "cannot run" from a
# failure into a skip).
add_test(NAME testnet_captures COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/testnet/check_captures.py
  --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR})
set_tests_properties(testnet_captures PROPERTIES LABELS integration TIMEOUT 120)
# Evasion captures (scripts/mkevasion): each attributed, inspected, marked (docs/EVASION.md)
add_test(NAME evasion COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/evasion/check.py
         --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR})
set_tests_properties(evasion PROPERTIES LABELS integration TIMEOUT 120)
# The server-first hold's engine-wide bound (4,096 flows), and a capped flow still inspected
add_test(NAME evasion_server_first_flows COMMAND ${EGRET_PY}
  ${CMAKE_SOURCE_DIR}/tests/evasion/test_server_first_flows.py --egret $<TARGET_FILE:egret>
  --root ${CMAKE_SOURCE_DIR})
set_tests_properties(evasion_server_first_flows PROPERTIES LABELS integration TIMEOUT 120)
# No alert at severity <= 2 on any of the nDPI project's captures.
if(EXISTS ${EGRET_SHARED_PCAPS})
  add_test(NAME shared_alerts COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/testnet/check_captures.py
    --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR} --shared ${EGRET_SHARED_PCAPS})
  set_tests_properties(shared_alerts PROPERTIES LABELS shared TIMEOUT 300)
else()
  message(WARNING "egret: ../shared/pcaps not found; the shared captures' alert check is NOT registered")
endif()
add_test(NAME testnet_live COMMAND bash ${CMAKE_SOURCE_DIR}/tests/testnet/live_test.sh
  $<TARGET_FILE:egret> ${CMAKE_SOURCE_DIR})
set_tests_properties(testnet_live PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77)

# --workers N gives the same records as one engine (issue: throughput).
add_test(NAME workers_determinism COMMAND bash ${CMAKE_SOURCE_DIR}/tests/perf/test_workers.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-workers)
set_tests_properties(workers_determinism PROPERTIES LABELS integration TIMEOUT 300)

# Live capture (-i) with one engine and with workers, on the loopback of a
# namespace the test makes: no drops, capture ticks, SIGHUP, SIGINT.
add_test(NAME live_loopback COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_live.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-live)
set_tests_properties(live_loopback PROPERTIES LABELS integration TIMEOUT 120 RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77)

# Detection on captures reshaped by tcprewrite/editcap/mergecap (port reuse,
# capture loss, time going backwards): issue 13's mechanisms on shapes the
# project's generators did not make.
add_test(NAME messy_captures COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_messy.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-messy ${CMAKE_SOURCE_DIR})
set_tests_properties(messy_captures PROPERTIES LABELS integration TIMEOUT 300)

# egret's savefile readers on captures written by other tools (editcap,
# tshark, mergecap): every pcaps/ capture as pcapng and nanosecond pcap
# gives the same flows; link types mixed in one pcapng; and ../shared/pcaps
# packet counts as capinfos counts them (a missing directory is reported).
add_test(NAME pcapng_tools COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_pcapng.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-pcapng ${CMAKE_SOURCE_DIR} ${EGRET_SHARED_PCAPS})
set_tests_properties(pcapng_tools PROPERTIES LABELS integration TIMEOUT 300)

# No new #include cycle between the modules of plugin/src, plugin/cli and
# plugin/include (today's known ones: scripts/include-graph.allow).
add_test(NAME include_graph COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/scripts/include-graph
  --root ${CMAKE_SOURCE_DIR} --quiet)
set_tests_properties(include_graph PROPERTIES LABELS integration TIMEOUT 60)

# TLS decryption (tlsdec) against tshark's on pcaps/tls/ (issue 15): the same
# decrypted HTTP requests, methods, URIs and bodies.
add_test(NAME tls_tshark COMMAND bash ${CMAKE_SOURCE_DIR}/tests/tls/test_tshark.sh
  $<TARGET_FILE:test_tlsdec> ${CMAKE_SOURCE_DIR})
set_tests_properties(tls_tshark PROPERTIES LABELS integration TIMEOUT 300)

# The engine's decrypted requests (TLS 1.2/1.3, HTTP/1.1 and HTTP/2) against
# tshark's on every pcaps/tls capture; secrets blocks; wrong and no keys.
add_test(NAME tls_decrypt COMMAND bash ${CMAKE_SOURCE_DIR}/tests/tls/test_egret_decrypt.sh
  $<TARGET_FILE:egret> ${CMAKE_SOURCE_DIR})
set_tests_properties(tls_decrypt PROPERTIES LABELS integration TIMEOUT 300)

# scripts/mkh2ctwin's clear-text (h2c) twin of the encrypted-chat capture,
# which scripts/bench's "cost of decryption" runs on, is the same traffic:
# the same http records, content summary and 9000007 alert as decrypted.
add_test(NAME tls_h2c_twin COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/tls/test_h2c_twin.py
  --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR})
set_tests_properties(tls_h2c_twin PROPERTIES LABELS integration TIMEOUT 120)

# Service behaviour (issue 18): append/truncate, a cut last line ended,
# SIGHUP reopening the outputs without loss, --pidfile, SIGTERM, alert log.
add_test(NAME service COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_service.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-service)
set_tests_properties(service PROPERTIES LABELS integration TIMEOUT 120)

# egret report (issue 18): the HTML page from EVE and from captures,
# rendered by headless Chromium (charts, alert table, a silent console),
# and 200,000 EVE records in bounded memory.
add_test(NAME report COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_report.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-report ${CMAKE_SOURCE_DIR})
set_tests_properties(report PROPERTIES LABELS integration TIMEOUT 300)

# Capture loss reported (issue 18): a small ring filled while egret is
# stopped; the summary's percentage and hint, the stats record's counts.
add_test(NAME capture_drops COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_drops.sh
  $<TARGET_FILE:egret> ${CMAKE_BINARY_DIR}/tests-drops ${CMAKE_SOURCE_DIR})
set_tests_properties(capture_drops PROPERTIES LABELS integration TIMEOUT 120 RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77)
# EVE to Redis (--eve-redis): a real redis-server on a unix socket in a
# temporary directory; stream/list/channel equal -o, spool, restart, resend.
add_test(NAME redis COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/redis/test_redis.py
  --egret $<TARGET_FILE:egret> --pcaps ${CMAKE_SOURCE_DIR}/pcaps)
set_tests_properties(redis PROPERTIES LABELS integration TIMEOUT 300)

# Live capture with a key log written while egret runs (issue 15): keys
# arriving after a session's first records, appended, in a rotated file and
# in a truncated one, egret started with the file empty; on a veth pair in
# a namespace the test makes (root; EGRET_SKIP_LIVE=1 skips without).
add_test(NAME tls_live_latekey COMMAND bash ${CMAKE_SOURCE_DIR}/tests/tls/test_live_latekey.sh
  $<TARGET_FILE:egret> ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/tests-tls-live)
set_tests_properties(tls_live_latekey PROPERTIES LABELS integration TIMEOUT 120 RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77)
# Hostile rules and bad input (issue 16): a stalling pattern is stopped,
# records are written at end of input and after SIGTERM.
add_test(NAME hostile COMMAND bash ${CMAKE_SOURCE_DIR}/tests/cli/test_hostile.sh
  $<TARGET_FILE:egret> ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/tests-hostile)
set_tests_properties(hostile PROPERTIES LABELS integration TIMEOUT 120)
# Every EVE record of every capture and integration case against Suricata's
# EVE schema (../shared/suricata/eve-schema.json, not copied here) combined
# with egret's additions (docs/eve-schema.json).  Exit 77 (skip, said
# loudly) when ../shared is absent.
add_test(NAME eve_schema COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/eve_schema.py
  --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR})
set_tests_properties(eve_schema PROPERTIES LABELS integration TIMEOUT 300 SKIP_RETURN_CODE 77)

# Suricata's own output checks: the 58 suricata-verify tests in
# ../shared/suricata/verify (flow, dns, tls, http records); reports how
# many checks pass and fails below 70 %.  Exit 77 (skip) without ../shared.
add_test(NAME suricata_verify COMMAND ${EGRET_PY} ${CMAKE_SOURCE_DIR}/tests/suricata_verify.py
  --egret $<TARGET_FILE:egret> --root ${CMAKE_SOURCE_DIR} --min 70)
set_tests_properties(suricata_verify PROPERTIES LABELS shared TIMEOUT 300 SKIP_RETURN_CODE 77)
