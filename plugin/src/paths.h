/*
 * paths.h -- the directories of the shipped data: the AI catalog
 * (rules/data), the test GeoIP databases and the rules: under
 * $EGRET_DATADIR when it is set, else where CMake installed them.
 */
#ifndef EGRET_PATHS_H
#define EGRET_PATHS_H

const char *paths_data_dir(void);
const char *paths_geo_dir(void);
const char *paths_rules_dir(void);

#endif /* EGRET_PATHS_H */
