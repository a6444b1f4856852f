/* The QMS bus contract: the Modbus RTU register map every unit serves.
 *
 * One map for every device kind (counter unit, counter LED board, rating
 * keys, hall board); registers a kind has no use for read as 0 and may be
 * written harmlessly. docs/firmware.md explains every register; this header
 * is the same contract as C constants, shared by the firmware and the
 * gateway (gateway/ includes it).
 *
 * Line: Modbus RTU, 19200 baud 8E1 by default (115200 allowed), unit
 * addresses 1..247, address 0 = broadcast (writes only, never answered).
 * Registers are 16-bit, big-endian on the wire as Modbus says. Text is
 * UTF-8, two bytes per register (high byte first), NUL-padded.
 *
 * Key presses are never lost nor done twice: each press becomes an entry in
 * a FIFO with a sequence number; entries stay until the gateway acknowledges
 * the last sequence it acted on (QMS_HR_ACK_SEQ). A lost poll reply is
 * harmless (the entry is read again), and so is a gateway restart (the
 * gateway derives its MQTT request id from (unit, session, sequence), so the
 * controller answers a press it already did from its store).
 */
#ifndef QMS_FW_REGS_H
#define QMS_FW_REGS_H

/* ---- line defaults ---------------------------------------------------- */
#define QMS_BUS_BAUD_DEFAULT 19200u /* 8 data bits, even parity, 1 stop */
#define QMS_BUS_ADDR_MIN 1u
#define QMS_BUS_ADDR_MAX 247u
#define QMS_BUS_ADDR_BROADCAST 0u

/* ---- function codes served -------------------------------------------- */
#define QMS_FC_READ_HOLDING 0x03u   /* read holding registers */
#define QMS_FC_READ_INPUT 0x04u     /* read input registers */
#define QMS_FC_WRITE_SINGLE 0x06u   /* write one holding register */
#define QMS_FC_WRITE_MULTIPLE 0x10u /* write holding registers (16) */

/* ---- exception codes replied ------------------------------------------- */
#define QMS_EX_ILLEGAL_FUNCTION 0x01u /* function code not served */
#define QMS_EX_ILLEGAL_ADDRESS 0x02u  /* register range outside the map */
#define QMS_EX_ILLEGAL_VALUE 0x03u    /* bad count / byte count / value (e.g. a stale ack) */

/* ---- device kinds (input register 0) ------------------------------------ */
#define QMS_KIND_COUNTER 1u  /* counter keypad with a 2-line display */
#define QMS_KIND_LEDBOARD 2u /* 4-digit LED board above the counter */
#define QMS_KIND_RATING 3u   /* rating keys (3..5 levels) */
#define QMS_KIND_HALL 4u     /* hall LED board, 192x16 dots per line, 4 lines */

/* ---- firmware version (input register 1) = major * 256 + minor ---------- */
#define QMS_FW_VERSION_MAJOR 1u
#define QMS_FW_VERSION_MINOR 0u
#define QMS_FW_VERSION ((QMS_FW_VERSION_MAJOR << 8) | QMS_FW_VERSION_MINOR)

/* ---- input registers (function 04), read-only ---------------------------- */
#define QMS_IR_KIND 0u          /* QMS_KIND_* */
#define QMS_IR_FW_VERSION 1u    /* major * 256 + minor */
#define QMS_IR_UPTIME_HI 2u     /* seconds since start, high word */
#define QMS_IR_UPTIME_LO 3u     /* seconds since start, low word */
#define QMS_IR_ERR_CRC 4u       /* frames dropped for a bad CRC (saturates at 65535) */
#define QMS_IR_ERR_FRAMING 5u   /* bytes with a framing or parity error */
#define QMS_IR_ERR_OVERRUN 6u   /* receiver overruns + frames longer than 256 bytes */
#define QMS_IR_WDT_RESETS 7u    /* watchdog resets since power-on */
#define QMS_IR_SESSION_HI 8u    /* copy of QMS_HR_SESSION_HI (0 after every start) */
#define QMS_IR_SESSION_LO 9u    /* copy of QMS_HR_SESSION_LO */
#define QMS_IR_FIFO_COUNT 10u   /* key events waiting for an ack (0..QMS_FIFO_DEPTH) */
#define QMS_IR_LAST_ACK 11u     /* last sequence acknowledged (0 = none since start) */
#define QMS_IR_KEYS_DROPPED 12u /* presses refused because the FIFO was full */
#define QMS_IR_LAST_SEQ 13u     /* sequence of the newest event ever queued (0 = none) */
#define QMS_IR_RESERVED_14 14u  /* reads 0 */
#define QMS_IR_RESERVED_15 15u  /* reads 0 */
#define QMS_IR_FIFO 16u         /* first FIFO entry (the oldest) */
#define QMS_FIFO_DEPTH 8u       /* entries */
#define QMS_FIFO_ENTRY_REGS 4u  /* registers per entry: */
#define QMS_FIFO_SEQ 0u         /*   +0 sequence 1..65535 (wraps to 1, never 0) */
#define QMS_FIFO_KEY 1u         /*   +1 QMS_KEY_* */
#define QMS_FIFO_ARG 2u         /*   +2 typed number / rating level / 0xFFFF = none */
#define QMS_FIFO_TAG 3u         /*   +3 QMS_HR_RATING_TOKEN at the press (rating) or 0 */
#define QMS_IR_COUNT (QMS_IR_FIFO + QMS_FIFO_DEPTH * QMS_FIFO_ENTRY_REGS) /* 48 */

/* Key codes queued in the FIFO. Digits 0..9 and `clear` are not queued: the
 * unit edits the typed number on its display, and the next queued key
 * carries it in ARG (QMS_ARG_NONE when nothing was typed). */
#define QMS_KEY_NEXT 1u
#define QMS_KEY_RECALL 2u
#define QMS_KEY_SKIP 3u
#define QMS_KEY_START 4u
#define QMS_KEY_DONE 5u
#define QMS_KEY_TRANSFER 6u /* ARG = typed target counter, or NONE */
#define QMS_KEY_PAUSE 7u
#define QMS_KEY_RESUME 8u
#define QMS_KEY_OK 9u    /* ARG = typed ticket number to call (0..9999) */
#define QMS_KEY_RATE 10u /* ARG = level 1..L (L = very satisfied), TAG = token */
#define QMS_ARG_NONE 0xFFFFu

/* ---- holding registers (functions 03, 06, 16), written by the gateway ---- */
#define QMS_HR_SESSION_HI 0u    /* gateway's session id, high word; 0 after start */
#define QMS_HR_SESSION_LO 1u    /* low word. Acks are refused while the session is 0 */
#define QMS_HR_ACK_SEQ 2u       /* write the sequence of the last event acted on */
#define QMS_HR_BLINK 3u         /* seconds to blink the shown text (0 = steady) */
#define QMS_HR_RATING_TOKEN 4u  /* nonzero = a rating is asked (keys lit); 0 = off */
#define QMS_HR_RATING_LEVELS 5u /* 3, 4 or 5 (default 4) */
#define QMS_HR_RESERVED_6 6u    /* reads 0 */
#define QMS_HR_RESERVED_7 7u    /* reads 0 */
#define QMS_HR_LINE0 8u         /* text line 0 (16 registers = 32 bytes UTF-8) */
#define QMS_LINE_REGS 16u
#define QMS_LINE_BYTES (2u * QMS_LINE_REGS)
#define QMS_LINES 4u
#define QMS_HR_LINE(n) (QMS_HR_LINE0 + (n) * QMS_LINE_REGS) /* n = 0..3 */
#define QMS_HR_COUNT (QMS_HR_LINE0 + QMS_LINES * QMS_LINE_REGS) /* 72 */

/* What the lines mean per kind:
 *  counter unit:  line 0 = ticket served ("A023"), line 1 = status text
 *  LED board:     line 0 = ticket called to this counter (blinks QMS_HR_BLINK s)
 *  rating keys:   lines unused
 *  hall board:    lines 0..3 = the board's rows, e.g. "A023 → 5" */

#endif
