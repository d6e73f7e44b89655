/* placeholder until the CLI lands (replaced in the CLI branch) */
#include "egret.h"
#include <stdio.h>
int main(void)
{
    printf("%s\n", egret_version());
    return 0;
}
