/* placeholder until the embedding host lands */
#include "egret.h"
#include <stdio.h>
int main(void)
{
    printf("%s\n", egret_version());
    return 0;
}
