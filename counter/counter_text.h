/* What qms-counter says to a clerk, in Vietnamese (default) or English.
 * Names of services and counters come from the center's configuration when
 * it is known (cfg may be NULL: then codes and numbers are shown). */
#ifndef QMS_COUNTER_TEXT_H
#define QMS_COUNTER_TEXT_H

#include "counter_msg.h"
#include "qms/config.h"

#include <stddef.h>

/* "đang mở" / "open" for a counter state name; the name itself if unknown. */
const char *counter_cstate_text(const char *state, int en);
/* "đang phục vụ" / "being served" for a ticket state name. */
const char *counter_tstate_text(const char *tstate, int en);
/* The service's name in the language, or the code when unknown. */
const char *counter_service_name(const qms_config *cfg, const char *code, int en);
/* The counter's name ("Quầy 5"), written into buf when not in cfg. */
const char *counter_counter_name(const qms_config *cfg, int counter, int en, char *buf, size_t cap);

/* The sentence telling what an accepted request did, e.g. "Mời số A023 đến
 * Quầy 5 (Tư pháp - Hộ tịch). Còn 7 khách chờ." Written into out. */
void counter_describe(const counter_req *r, const counter_info *rep, const qms_config *cfg,
                      int counter, int en, char *out, size_t cap);

/* Number of terminal columns text takes: one per code point (Vietnamese in
 * NFC is all single width), control bytes none. */
size_t counter_text_width(const char *s);
/* Copy s into out for a terminal: control characters dropped, broken UTF-8
 * shown as '?', cut to at most cols columns on a code point boundary. */
void counter_text_fit(const char *s, size_t cols, char *out, size_t cap);

/* The service that issued a label, by its number prefix or range ("E003" ->
 * "DT"); NULL if cfg is NULL or nothing matches. */
const char *counter_service_of_label(const qms_config *cfg, const char *label);

/* What the clerk typed as a ticket number, as printed: ASCII letters upper
 * case ("a23" -> "A23"; number prefixes are upper-case letters). In place. */
void counter_ticket_upcase(char *s);
/* The configuration's spelling of a service code typed in any case ("kd" ->
 * "KD"), or typed itself when cfg is NULL or has no such code. */
const char *counter_service_code(const qms_config *cfg, const char *typed);

/* Why the broker cannot be reached, for the clerk: failure is a
 * qms_mqtt_failure, broker "host:port", has_cert whether a client
 * certificate was given. Writes one sentence (no newline) into out. */
void counter_link_text(int failure, const char *broker, int has_cert, int en, char *out,
                       size_t cap);

/* Copy src into dst (cap bytes), cut on a UTF-8 code point boundary. */
void counter_copy(char *dst, size_t cap, const char *src);

#endif
