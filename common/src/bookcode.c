/* Booking codes with a check character (qms/bookcode.h). */
#include "qms/bookcode.h"

#include <string.h>

static const char alphabet[] = QMS_BOOKCODE_ALPHABET;
enum { NCHARS = sizeof alphabet - 1 };
_Static_assert(NCHARS == 23, "the check needs a prime-sized alphabet");

int qms_bookcode_value(char c)
{
    if (c == '\0')
        return -1;
    const char *p = strchr(alphabet, c);
    return p ? (int)(p - alphabet) : -1;
}

static char check_char(const char code[7])
{
    int sum = 0;
    for (int i = 0; i < 7; i++)
        sum += (i + 1) * qms_bookcode_value(code[i]);
    return alphabet[sum % NCHARS];
}

bool qms_bookcode_parse(const char *in, char out[9])
{
    char buf[9];
    size_t n = 0;
    int dashes = 0;
    if (out)
        out[0] = '\0';
    if (!in)
        return false;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == ' ')
            continue;
        if (c == '-') {
            if (++dashes > 1)
                return false;
            continue;
        }
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (qms_bookcode_value(c) < 0 || n >= QMS_BOOKCODE_LEN)
            return false;
        buf[n++] = c;
    }
    if (n != QMS_BOOKCODE_LEN || check_char(buf) != buf[7])
        return false;
    buf[8] = '\0';
    if (out)
        memcpy(out, buf, sizeof buf);
    return true;
}

void qms_bookcode_make(uint64_t random_bits, char out[9])
{
    for (int i = 0; i < 7; i++) {
        out[i] = alphabet[random_bits % NCHARS];
        random_bits /= NCHARS;
    }
    out[7] = check_char(out);
    out[8] = '\0';
}

void qms_bookcode_format(const char code[9], char out[10])
{
    memcpy(out, code, 4);
    out[4] = '-';
    memcpy(out + 5, code + 4, 4);
    out[9] = '\0';
}
