/* secretbox.c — XChaCha20-Poly1305 (libsodium's IETF AEAD construction) around a random
 * nonce stored in front of each ciphertext. */
#include "api/secretbox.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                       crypto_aead_xchacha20poly1305_ietf_ABYTES ==
                   LV_SECRETBOX_OVERHEAD,
               "LV_SECRETBOX_OVERHEAD must match libsodium's nonce and tag sizes");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == LV_SECRETBOX_KEY_BYTES,
               "LV_SECRETBOX_KEY_BYTES must match libsodium's key size");

enum { NONCE_BYTES = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES };

unsigned char *lv_secretbox_seal(const unsigned char key[LV_SECRETBOX_KEY_BYTES],
                                 const char *context, const void *plaintext, size_t len,
                                 size_t *box_len)
{
    unsigned char *box = malloc(len + LV_SECRETBOX_OVERHEAD);
    if (box == NULL)
        return NULL;
    /* 192-bit random nonces never repeat in practice, so no counter has to be kept. */
    randombytes_buf(box, NONCE_BYTES);
    unsigned long long sealed_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE_BYTES, &sealed_len, plaintext, len,
                                               (const unsigned char *)context, strlen(context),
                                               NULL, box, key);
    *box_len = NONCE_BYTES + (size_t)sealed_len;
    return box;
}

char *lv_secretbox_open(const unsigned char key[LV_SECRETBOX_KEY_BYTES], const char *context,
                        const unsigned char *box, size_t box_len, size_t *len, struct lv_error *err)
{
    if (box_len < LV_SECRETBOX_OVERHEAD) {
        lv_fail(err, "sealed secret is truncated (%zu bytes)", box_len);
        return NULL;
    }
    size_t plain_cap = box_len - LV_SECRETBOX_OVERHEAD;
    char *plaintext = malloc(plain_cap + 1);
    if (plaintext == NULL) {
        lv_fail(err, "out of memory opening a sealed secret");
        return NULL;
    }
    unsigned long long plain_len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            (unsigned char *)plaintext, &plain_len, NULL, box + NONCE_BYTES, box_len - NONCE_BYTES,
            (const unsigned char *)context, strlen(context), box, key) != 0) {
        free(plaintext);
        lv_fail(err, "sealed secret does not open: wrong LEVER_SECRET_KEY, or the data was "
                     "altered");
        return NULL;
    }
    plaintext[plain_len] = '\0';
    *len = (size_t)plain_len;
    return plaintext;
}
