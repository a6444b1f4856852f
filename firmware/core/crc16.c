#include "crc16.h"

#define MB_CRC_POLY 0xA001u /* 0x8005 bit-reversed */

uint16_t mb_crc16_add(uint16_t crc, uint8_t byte)
{
    crc ^= byte;
    for (int b = 0; b < 8; b++) {
        if (crc & 1u)
            crc = (uint16_t)((crc >> 1) ^ MB_CRC_POLY);
        else
            crc = (uint16_t)(crc >> 1);
    }
    return crc;
}

uint16_t mb_crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = mb_crc16_add(crc, p[i]);
    return crc;
}
