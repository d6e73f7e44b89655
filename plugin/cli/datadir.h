/*
 * datadir.h -- where the egret command finds the shipped rules, their data
 * and the test GeoIP databases.
 */
#ifndef EGRET_CLI_DATADIR_H
#define EGRET_CLI_DATADIR_H

#include <stdbool.h>

/* Unless EGRET_DATADIR is set already (the user's choice wins), sets it to
 * the data that belongs with this executable, for libegret's defaults:
 *   - installed: BINDIR/EGRET_BIN_TO_DATADIR (e.g. bin/../share/egret), so
 *     an install moved to another prefix still finds its own data;
 *   - a build tree: the directory of the executable, which CMake lays out
 *     like the installed one (rules -> the source tree's rules/, geo/).
 * Neither found: left unset, libegret uses the configured install path.
 * Call before the first engine is made (libegret reads it once). */
void datadir_init(void);

/* After datadir_init: true unless this egret runs from its build tree or
 * EGRET_DATADIR was set by the user.  An installed egret reads
 * SYSCONFDIR/egret/ and does not fall back to the test GeoIP databases. */
bool datadir_installed(void);

#endif
