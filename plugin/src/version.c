/*
 * version.c -- version query and error strings (public ABI).
 */
#include "egret.h"

const char *egret_version(void)
{
#define EGRET_STR2(x) #x
#define EGRET_STR(x)  EGRET_STR2(x)
    return EGRET_STR(EGRET_VERSION_MAJOR) "." EGRET_STR(EGRET_VERSION_MINOR) "." EGRET_STR(
        EGRET_VERSION_PATCH);
}

int egret_version_num(void)
{
    return EGRET_VERSION_NUM;
}

const char *egret_strerror(int err)
{
    switch (err) {
    case EGRET_OK:
        return "success";
#define EGRET_XX(name, val, msg)                                                                   \
    case EGRET_##name:                                                                             \
        return msg;
        EGRET_ERRNO_MAP(EGRET_XX)
#undef EGRET_XX
    }
    return "unknown error";
}
