/* secretbox.h — encryption at rest for small secrets (Alpaca keys): XChaCha20-Poly1305 with
 * the 32-byte LEVER_SECRET_KEY, a fresh random nonce for every seal. */
#ifndef LEVER_API_SECRETBOX_H
#define LEVER_API_SECRETBOX_H

#include <stddef.h>

#include "core/error.h"

#define LV_SECRETBOX_KEY_BYTES 32
/* A sealed box is nonce (24 bytes) || ciphertext || tag (16 bytes): the plaintext + 40. */
#define LV_SECRETBOX_OVERHEAD 40

/*
 * `context` is authenticated but not encrypted ("additional data"): a box only opens with
 * the context it was sealed with. Callers pass where the box lives (e.g. "user:7:paper:secret"),
 * so a box copied into another row or column of the database fails to open instead of
 * silently yielding someone else's secret.
 */

/* Seals `len` bytes of `plaintext`. Returns a malloc'ed box of len + LV_SECRETBOX_OVERHEAD
 * bytes (the caller frees it) and its size in *box_len, or NULL on allocation failure. */
unsigned char *lv_secretbox_seal(const unsigned char key[LV_SECRETBOX_KEY_BYTES],
                                 const char *context, const void *plaintext, size_t len,
                                 size_t *box_len);

/* Opens a box made by lv_secretbox_seal. Returns a malloc'ed, NUL-terminated plaintext
 * (the caller wipes it with sodium_memzero and frees it) and its length in *len, or NULL
 * with err set when the box is truncated, was tampered with, or was sealed with another
 * key or context. */
char *lv_secretbox_open(const unsigned char key[LV_SECRETBOX_KEY_BYTES], const char *context,
                        const unsigned char *box, size_t box_len, size_t *len,
                        struct lv_error *err);

#endif
