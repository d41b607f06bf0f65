/* json_number.h — the one way Lever turns a double into JSON: jansson cannot hold NaN or
 * ±Infinity (json_real returns NULL for them), and an undefined number must read as null. */
#ifndef LEVER_CORE_JSON_NUMBER_H
#define LEVER_CORE_JSON_NUMBER_H

#include <jansson.h>

/* A JSON real for `value`, or JSON null when it is NaN or ±Infinity. New reference. */
json_t *lv_json_number(double value);

#endif
