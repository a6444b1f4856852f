/* Booking codes: 8 characters a citizen can read off a screen and type on a
 * touchscreen. The alphabet has 23 characters (a prime) and none of the
 * look-alikes 0/O 1/I/L 2/Z 5/S 8/B 6/G. Seven characters carry the code, the
 * eighth is a check character: value(c7) = sum over i=0..6 of (i+1)*value(c_i)
 * mod 23. Because 23 is prime and the weights 1..7 are non-zero mod 23, every
 * single substitution and every swap of two adjacent characters (the check
 * character included) changes the check, so a mistyped code is refused
 * before anything is looked up. docs/protocol.md, "Booking codes". */
#ifndef QMS_BOOKCODE_H
#define QMS_BOOKCODE_H

#include <stdbool.h>
#include <stdint.h>

#define QMS_BOOKCODE_ALPHABET "ACDEFHJKMNPQRTUVWXY3479"
#define QMS_BOOKCODE_LEN 8

/* Value 0..22 of an (upper-case) alphabet character, or -1. */
int qms_bookcode_value(char c);
/* Parse what a citizen typed or a scanner read: upper or lower case, spaces
 * anywhere and at most one '-' are ignored, nothing else is mapped (an 'O'
 * is not read as a '0'). True only for 8 alphabet characters whose check
 * character is right; then out holds the normalized upper-case code + NUL.
 * On false out holds "" (when out is not NULL). */
bool qms_bookcode_parse(const char *in, char out[9]);
/* A new code from random bits: 7 characters from the alphabet + the check. */
void qms_bookcode_make(uint64_t random_bits, char out[9]);
/* "XXXX-XXXX" for display and print. */
void qms_bookcode_format(const char code[9], char out[10]);

#endif
