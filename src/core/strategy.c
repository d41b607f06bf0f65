/* strategy.c — see strategy.h. (Being written.) */
#include "core/strategy.h"
