/* A center provisioned by the real qms-provision and its broker started with
 * the files it wrote; clients that connect with those files (libmosquitto,
 * MQTT v5: an outside client, not libqms). */
#ifndef QMS_PROV_FIXTURE_H
#define QMS_PROV_FIXTURE_H

#include "support.h"

typedef struct prov_env {
    char dir[256];     /* the scratch folder */
    char out[320];     /* qms-provision's --out */
    char center[320];  /* the center's config */
    int tls_port;      /* the provisioned TLS listener */
    int local_port;    /* the provisioned loopback listener */
    int ws_port;       /* with a web broker (prov_start_web): its websockets */
    int web_port;      /* ... and its plain loopback listener */
    qms_test_broker broker;
    qms_test_broker web; /* the web broker, from mosquitto-web.conf */
} prov_env;

/* Provision (extra: more qms-provision arguments, NULL-terminated) and start
 * the broker. 0 = ok. */
int prov_start(prov_env *e, const char *const *extra);
/* The same with --ws-port (and --web-local-port), then the web broker
 * started from the mosquitto-web.conf it wrote, its bridge connected. */
int prov_start_web(prov_env *e, const char *const *extra);
/* Start a mosquitto from DIR/<name> as written, with "user root", and with
 * each line starting with subst[2k] replaced by subst[2k+1] (NULL-terminated
 * pairs; NULL: none); wait for port. */
int prov_start_conf(prov_env *e, qms_test_broker *b, const char *name,
                    const char *const *subst, int port);
void prov_stop(prov_env *e);
/* Run qms-provision again with the same arguments; 0 = it exited 0. */
int prov_rerun(prov_env *e, const char *const *extra);
/* clients/<name>.json */
const char *prov_client(const prov_env *e, const char *name);

typedef struct pcli pcli;
/* Connect as the device whose client file is clients/<name>.json, over TLS
 * (tls=1) or the loopback listener (tls=0). *reason: the CONNACK reason (0
 * accepted), or -1 when the link broke before any CONNACK (TLS refused).
 * user/pass override the file's when not NULL; name NULL: no file at all. */
pcli *pcli_open(prov_env *e, const char *name, int tls, const char *user, const char *pass,
                int *reason);
/* The same on any plain listener (the web broker's loopback one). */
pcli *pcli_open_port(prov_env *e, const char *name, int port, const char *user,
                     const char *pass, int *reason);
void pcli_close(pcli *c);
/* How many messages with this payload arrived (after running the loop ms). */
int pcli_count(pcli *c, const char *payload, int ms);
/* Publish QoS 1 and wait for the PUBACK: its reason code (0 or 16 = accepted,
 * 135 = not authorized), -1 on no answer. */
int pcli_pub(pcli *c, const char *topic, const char *payload);
/* The same, MQTT v5 request: with a response topic and correlation data. */
int pcli_pub_req(pcli *c, const char *topic, const char *payload, const char *response_topic,
                 const char *corr);
/* The response topic and correlation data of the message with this payload
 * ("" when it had none); 0 = such a message arrived (waiting up to ms). */
int pcli_props(pcli *c, const char *payload, int ms, char *rt, size_t rtlen, char *corr,
               size_t corrlen);
/* Subscribe QoS 1 and wait for the SUBACK (mosquitto 2.0 grants what the ACL
 * denies, and then delivers nothing: what counts is delivery). */
int pcli_sub(pcli *c, const char *filter);
/* Did a message with this payload arrive (waiting up to ms)? */
int pcli_got(pcli *c, const char *payload, int ms);
/* Did a message on topic containing needle arrive (waiting up to ms)? */
int pcli_got_like(pcli *c, const char *topic, const char *needle, int ms);
/* Run both clients' loops for ms. */
void pcli_pump(pcli *a, pcli *b, int ms);

#endif
