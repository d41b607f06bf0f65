/* sample_data.h — the shared ETF sample data as a core market, for tests and benchmarks that
 * run real strategies over real history (files are read here, never in src/core). */
#ifndef LEVER_TESTS_SAMPLE_DATA_H
#define LEVER_TESTS_SAMPLE_DATA_H

#include <stddef.h>

#include "core/market.h"

/* Reads a whole file into a new NUL-terminated buffer (the caller frees it); *len receives
 * its size. NULL when the file cannot be read. */
char *sample_read_file(const char *path, size_t *len);

/* Every SYMBOL.csv of the shared data's etf/ directory (see csv_shared_path), as a market
 * the caller frees with lv_market_free. NULL, after a message on stderr, on any failure. */
struct lv_market *sample_etf_market(void);

#endif
