/* indicators.c — see indicators.h. (Being written.) */
#include "core/indicators.h"
