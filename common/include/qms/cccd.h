/* The QR code on a Vietnamese citizen identity card (CCCD): text fields
 * separated by '|' -- the 12-digit number, the old 9-digit number or empty,
 * full name, birth date ddmmyyyy, sex, address, issue date ddmmyyyy.
 * QMS needs only the 12-digit number (to find the holder's booking); the
 * parser checks the whole line strictly and hands back nothing else. The
 * caller must not log or keep the line. */
#ifndef QMS_CCCD_H
#define QMS_CCCD_H

#include <stdbool.h>
#include <stddef.h>

/* Does the line (len bytes, a trailing CR/LF allowed) look like a CCCD QR?
 * On true, out holds the 12-digit number and a NUL. Checks: exactly 7
 * fields; number 12 digits whose century/year digits (4th, 5th-6th) agree
 * with the birth date; old number empty or 9 digits; name, sex and address
 * not empty, valid UTF-8 without control characters; dates real ddmmyyyy,
 * birth before issue. */
bool qms_cccd_parse(const char *line, size_t len, char out[13]);

/* Is s exactly 12 ASCII digits? */
bool qms_cccd_number_valid(const char *s);

#endif
