/* CRC-16/MODBUS: polynomial 0x8005 reflected (0xA001), initial 0xFFFF. */
#ifndef QMS_FW_CRC16_H
#define QMS_FW_CRC16_H
#include <stddef.h>
#include <stdint.h>

/* The CRC of n bytes; on the wire the low byte goes first. */
uint16_t mb_crc16(const uint8_t *p, size_t n);
/* The CRC so far (start with 0xFFFF) with one more byte. */
uint16_t mb_crc16_add(uint16_t crc, uint8_t b);

#endif
