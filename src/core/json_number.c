/* json_number.c — doubles as JSON, with null for values that are not finite. */
#include "core/json_number.h"

#include <math.h>

json_t *lv_json_number(double value)
{
    return isfinite(value) ? json_real(value) : json_null();
}
