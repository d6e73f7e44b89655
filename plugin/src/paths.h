/*
 * paths.h -- the directories of the shipped data: the AI catalog
 * (rules/data), the test GeoIP databases and the rules.  The source
 * tree's copies when running from a build tree, else the installed ones.
 */
#ifndef EGRET_PATHS_H
#define EGRET_PATHS_H

const char *paths_data_dir(void);
const char *paths_geo_dir(void);
const char *paths_rules_dir(void);

#endif /* EGRET_PATHS_H */
